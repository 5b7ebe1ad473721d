import {
  isCircuitBreakerError,
  isHttpError,
  isIdempotencyError,
  isNetworkError,
  isRetryExhaustedError,
  isTimeoutError,
} from '../errors/errors.js';
import { computeBackoffDelay } from '../retry/backoff.js';
import { DEFAULT_MAX_RETRY_AFTER_MS, type RetryOptions } from '../retry/options.js';
import { isRetryableStatus } from '../retry/should-retry.js';

// What a failed delivery attempt costs, and how long the item waits before the next one.

/** How a failed attempt counts. `unanswered`: no attempt spent. `retry`: one spent. `reject`: dead letter. */
export type Verdict = 'unanswered' | 'retry' | 'reject';

/**
 * The verdict on a handler's failure (before `shouldRetry`, which may overrule an answered one), and
 * the server's `Retry-After` in ms when the error carries one.
 */
export function classify(error: unknown): { verdict: Verdict; retryAfterMs: number | undefined } {
  let e = error;
  // A handler that retried on its own reports the last error inside RetryExhaustedError.
  for (let depth = 0; depth < 8 && isRetryExhaustedError(e); depth++) e = e.cause;
  const retryAfterMs = readRetryAfter(e) ?? readRetryAfter(error);
  if (isNetworkError(e) || isTimeoutError(e) || isCircuitBreakerError(e) || isAbort(e) || isKeyInUse(e)) {
    return { verdict: 'unanswered', retryAfterMs };
  }
  const marked = typeof e === 'object' && e !== null ? (e as { retryable?: unknown }).retryable : undefined;
  // An explicit mark wins over the status, as in isRetryableError.
  if (marked === true) return { verdict: 'retry', retryAfterMs };
  if (isHttpError(e)) {
    const rejected = e.status >= 400 && e.status < 500 && !isRetryableStatus(e.status);
    return { verdict: rejected ? 'reject' : 'retry', retryAfterMs };
  }
  if (isIdempotencyError(e)) return { verdict: e.code === 'STORE_UNAVAILABLE' ? 'retry' : 'reject', retryAfterMs };
  if (marked === false) return { verdict: 'reject', retryAfterMs };
  return { verdict: 'retry', retryAfterMs };
}

/**
 * The wait before an item's next attempt, after its `failures`-th failure: the server's `Retry-After`
 * (capped by `maxRetryAfterMs`) unless `respectRetryAfter` is false, else the backoff of `retry`.
 */
export function retryDelay(failures: number, retryAfterMs: number | undefined, retry: RetryOptions): number {
  if (retryAfterMs !== undefined && retry.respectRetryAfter !== false && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    return Math.min(retryAfterMs, retry.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS);
  }
  return computeBackoffDelay(failures, retry, retry.random ?? Math.random);
}

// The first delivery with this key is still running on the server (problem+json code KEY_IN_USE).
function isKeyInUse(error: unknown): boolean {
  if (isIdempotencyError(error)) return error.code === 'KEY_IN_USE';
  if (isHttpError(error) && error.status === 409) {
    const body = error.body as { code?: unknown } | null | undefined;
    return typeof body === 'object' && body !== null && body.code === 'KEY_IN_USE';
  }
  return false;
}

function isAbort(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

function readRetryAfter(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
