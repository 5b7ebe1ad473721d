/**
 * Parses a `Retry-After` value: delay-seconds (`"120"`) or an HTTP-date. Returns milliseconds from
 * `now`, never negative, or `undefined` when the value is missing or unreadable.
 *
 * @param value - the header value
 * @param now - the current time in epoch ms, for HTTP-dates
 * @category Retry
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) ? ms : undefined;
  }
  // Only the HTTP-date forms: `Date.parse` alone reads "-5" or "2030" as dates, and reads an
  // asctime date (which has no zone but is GMT) in the local time zone.
  let at = Number.NaN;
  if (IMF_OR_RFC850_DATE.test(text)) at = Date.parse(text);
  else if (ASCTIME_DATE.test(text)) at = Date.parse(`${text} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

// `Sun, 06 Nov 1994 08:49:37 GMT` and the obsolete `Sunday, 06-Nov-94 08:49:37 GMT`.
const IMF_OR_RFC850_DATE = /^[a-z]{3,9},? +\d{1,2}[ -][a-z]{3}[ -]\d{2,4} +\d{1,2}:\d{2}:\d{2} +(?:GMT|UTC)$/i;
// The obsolete asctime form `Sun Nov  6 08:49:37 1994`.
const ASCTIME_DATE = /^[a-z]{3} +[a-z]{3} +\d{1,2} +\d{1,2}:\d{2}:\d{2} +\d{4}$/i;
