import { cappedExponential, equalJitter } from '../retry/backoff.js';

/**
 * How long SseTransport waits before its next attempt: `baseMs` after the first drop; after further
 * failures in a row, `baseMs` doubled per failure, capped at `maxMs`, with equal jitter (between half
 * and all of it), as `computeBackoffDelay` computes it; never less than a server's `Retry-After`
 * (`retryAfterMs`), but still capped at `maxMs`.
 *
 * @param failures - attempts that failed in a row before this one (0 after a good stream)
 */
export function reconnectDelay(baseMs: number, failures: number, maxMs: number, retryAfterMs: number | undefined): number {
  // Whole milliseconds: fractional delays gain nothing and make clock arithmetic inexact.
  let delay = failures > 0 ? Math.round(equalJitter(cappedExponential(baseMs, 2, failures + 1, maxMs), Math.random)) : baseMs;
  if (retryAfterMs !== undefined) delay = Math.min(maxMs, Math.max(delay, retryAfterMs));
  return delay;
}
