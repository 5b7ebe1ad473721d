import { isHttpError, isIdempotencyError, isTimeoutError } from '../errors/errors.js';
import { isAbortError, isKeyInUse, isUnreached, lastError, retryAfterOf } from '../internal/failure.js';
import { isRetryableStatus } from '../retry/should-retry.js';

// What a failed delivery attempt costs, and how long the item waits before the next one.

export { retryDelay } from '../internal/retry-delay.js';

/** How a failed attempt counts. `unanswered`: no attempt spent. `retry`: one spent. `reject`: dead letter. */
export type Verdict = 'unanswered' | 'retry' | 'reject';

/**
 * The verdict on a handler's failure (before `shouldRetry`, which may overrule an answered one), and
 * the server's `Retry-After` in ms when the error carries one.
 */
export function classify(error: unknown): { verdict: Verdict; retryAfterMs: number | undefined } {
  // A handler that retried on its own reports the last error inside RetryExhaustedError.
  const e = lastError(error);
  return { verdict: verdictOn(e), retryAfterMs: retryAfterOf(e) ?? retryAfterOf(error) };
}

function verdictOn(e: unknown): Verdict {
  // No answer (the first delivery with this key still running counts as none): no attempt spent.
  if (isUnreached(e) || isTimeoutError(e) || isAbortError(e) || isKeyInUse(e)) return 'unanswered';
  const marked = typeof e === 'object' && e !== null ? (e as { retryable?: unknown }).retryable : undefined;
  // A mark of `true` wins over the status, as in isRetryableError.
  if (marked === true) return 'retry';
  if (isHttpError(e)) return e.status >= 400 && e.status < 500 && !isRetryableStatus(e.status) ? 'reject' : 'retry';
  if (isIdempotencyError(e)) return e.code === 'STORE_UNAVAILABLE' ? 'retry' : 'reject';
  return marked === false ? 'reject' : 'retry';
}
