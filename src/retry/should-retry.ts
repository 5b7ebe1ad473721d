import { isHttpError, isIdempotencyError } from '../errors/errors.js';
import { isAbortError } from '../internal/failure.js';

const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 425, 429]);

/**
 * The default `shouldRetry` of {@link retryWithBackoff}: retries network errors, timeouts, HTTP
 * 408/425/429/5xx and any unknown error; never an abort, another 4xx, an {@link IdempotencyError}
 * other than `KEY_IN_USE`, or an error marked `retryable: false`.
 *
 * @param error - the error an attempt failed with
 * @returns whether another attempt could succeed
 * @category Retry
 */
export function isRetryableError(error: unknown): boolean {
  if (typeof error === 'object' && error !== null) {
    // An explicit mark wins.
    const marked = (error as { retryable?: unknown }).retryable;
    if (typeof marked === 'boolean') return marked;
    if (isAbortError(error)) return false;
    if (isHttpError(error)) return error.status < 400 || isRetryableStatus(error.status);
    if (isIdempotencyError(error)) return error.code === 'KEY_IN_USE';
  }
  return true;
}

/**
 * Whether an HTTP status is worth retrying: 408, 425, 429 and every 5xx.
 *
 * @param status - an HTTP status code
 * @category Retry
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || RETRYABLE_4XX.has(status);
}
