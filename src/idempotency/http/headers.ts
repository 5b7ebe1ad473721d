import type { StoredHttpResponse } from './stored-response.js';

/**
 * The response header that marks a replayed answer: `Idempotent-Replayed: true`.
 *
 * @category Idempotency
 */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/**
 * The response header that marks a replay whose body was too large to store:
 * `Idempotent-Body-Omitted: true`.
 *
 * @category Idempotency
 */
export const BODY_OMITTED_HEADER = 'Idempotent-Body-Omitted';

/**
 * Response headers every replay carries when the first response had them (lower case):
 * `content-type`, `location`, `content-location`, `etag`, `last-modified`.
 *
 * @category Idempotency
 */
// Marked pure, so that a bundle which does not use it can drop it (see realClock in src/clock/clock.ts).
export const ALWAYS_REPLAYED_HEADERS: readonly string[] = /* @__PURE__ */ Object.freeze(['content-type', 'location', 'content-location', 'etag', 'last-modified']);

// Per-response values (cookies, dates, request ids), framing the replay computes again, and the
// markers a replay sets itself.
const NEVER = new Set([
  'set-cookie',
  'date',
  'x-request-id',
  'request-id',
  'x-correlation-id',
  'content-length',
  'transfer-encoding',
  'content-encoding',
  'connection',
  'keep-alive',
  'idempotent-replayed',
  'idempotent-body-omitted',
]);

/**
 * Whether a response header is never stored or replayed, whatever `replayHeaders` says: cookies,
 * `Date`, request ids (`X-Request-ID`, `Request-ID`, `X-Correlation-ID`), framing
 * (`Content-Length`, `Transfer-Encoding`, `Content-Encoding`, `Connection`, `Keep-Alive`) and the
 * replay markers.
 *
 * @param name - a header name, any case
 * @category Idempotency
 */
export function isNeverReplayed(name: string): boolean {
  return NEVER.has(name.toLowerCase());
}

/**
 * The lower-case names of the headers a replay carries: {@link ALWAYS_REPLAYED_HEADERS} plus
 * `extra` (the `replayHeaders` option), less those that are never replayed.
 *
 * @param extra - more header names, any case
 * @category Idempotency
 */
export function replayedHeaderNames(extra: readonly string[] = []): readonly string[] {
  const names = new Set(ALWAYS_REPLAYED_HEADERS);
  for (const name of extra) {
    const lower = name.toLowerCase();
    if (!NEVER.has(lower)) names.add(lower);
  }
  return [...names];
}

/**
 * The headers to store, read from a response by `read(name)` for each of `names` (from
 * {@link replayedHeaderNames}). Absent headers (`undefined` or `null`) are left out; numbers become
 * strings.
 *
 * @param names - lower-case header names
 * @param read - the response's value of a header
 * @category Idempotency
 */
export function pickReplayedHeaders(names: readonly string[], read: (name: string) => unknown): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name of names) putStoredHeader(headers, name, read(name));
  return headers;
}

/**
 * Sets a header on a stored response's headers, unless it is absent.
 *
 * @internal
 */
export function putStoredHeader(headers: Record<string, string | string[]>, name: string, value: unknown): void {
  if (value === undefined || value === null) return;
  headers[name] = typeof value === 'string' ? value : Array.isArray(value) ? value.map(String) : String(value);
}

/**
 * Headers given for an explicit result (`storeIdempotentResult`), as they are stored: names in
 * lower case, numbers as strings, those never replayed dropped.
 *
 * @param given - the headers, any case
 * @category Idempotency
 */
export function storableHeaders(given: Record<string, string | number | readonly string[]> | undefined): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(given ?? {})) {
    const lower = name.toLowerCase();
    if (!NEVER.has(lower)) putStoredHeader(headers, lower, value);
  }
  return headers;
}

/**
 * The headers a replay of `stored` sends: the stored ones (less any that are never replayed, for
 * records written elsewhere), `Idempotent-Replayed: true`, and `Idempotent-Body-Omitted: true`
 * when the body was too large to store.
 *
 * @param stored - the stored response
 * @category Idempotency
 */
export function replayHeaders(stored: StoredHttpResponse): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name in stored.headers) if (!NEVER.has(name.toLowerCase())) headers[name] = stored.headers[name]!;
  headers[REPLAYED_HEADER] = 'true';
  if (stored.bodyOmitted) headers[BODY_OMITTED_HEADER] = 'true';
  return headers;
}
