/**
 * How long SseTransport waits before its next attempt: `baseMs` after the first drop; after further
 * failures in a row, `baseMs` doubled per failure, capped at `maxMs`, with jitter (between half and
 * all of it); never less than a server's `Retry-After` (`retryAfterMs`), but still capped at `maxMs`.
 *
 * @param failures - attempts that failed in a row before this one (0 after a good stream)
 */
export function reconnectDelay(baseMs: number, failures: number, maxMs: number, retryAfterMs: number | undefined): number {
  let delay = baseMs;
  if (failures > 0) {
    const capped = Math.min(maxMs, baseMs * 2 ** Math.min(failures, 30));
    // Whole milliseconds: fractional delays gain nothing and make clock arithmetic inexact.
    delay = Math.round(capped / 2 + Math.random() * (capped / 2));
  }
  if (retryAfterMs !== undefined) delay = Math.min(maxMs, Math.max(delay, retryAfterMs));
  return delay;
}
