import { lastError, retryAfterOf } from '../internal/failure.js';
import { retryDelay } from '../internal/retry-delay.js';
import { checkFunction } from '../internal/validate.js';
import { checkAttemptsAndDelays, type RetryOptions } from './options.js';
import { isRetryableError } from './should-retry.js';

/** What {@link retryPolicyForQueries} returns: TanStack Query's `retry` and `retryDelay` options. @category Retry */
export interface QueryRetryPolicy {
  /**
   * TanStack Query's `retry`: whether to try again after `failureCount + 1` failed attempts.
   *
   * @param failureCount - failures before this one (0 after the first failure)
   * @param error - what the query function threw
   */
  retry(failureCount: number, error: unknown): boolean;
  /**
   * TanStack Query's `retryDelay`: how long to wait before the next attempt, in ms.
   *
   * @param attemptIndex - failures before this one (0 after the first failure)
   * @param error - what the query function threw
   */
  retryDelay(attemptIndex: number, error: unknown): number;
}

/**
 * Retry options for TanStack Query that behave like the sync client: the same classification (a 4xx
 * other than 408/425/429 is not retried; 5xx, 408, 425, 429, network errors and timeouts are), the
 * same backoff and jitter, and `Retry-After` honoured (an error's `retryAfterMs`, as on an {@link HttpError}). A
 * {@link RetryExhaustedError} (a call that already retried) is judged by its last error.
 *
 * Options are {@link RetryOptions}; the ones that apply here are `maxAttempts` (counting the first
 * call, as everywhere: default 3), `initialDelayMs`, `maxDelayMs`, `backoffMultiplier`, `jitter`,
 * `random`, `respectRetryAfter`, `maxRetryAfterMs` and a synchronous `shouldRetry`.
 *
 * @example
 * ```ts
 * const queryClient = new QueryClient({
 *   defaultOptions: { queries: retryPolicyForQueries({ maxAttempts: 4 }) },
 * })
 * ```
 *
 * @param options - retry options
 * @returns `{ retry, retryDelay }` with TanStack Query's signatures
 * @category Retry
 */
export function retryPolicyForQueries(options: RetryOptions = {}): QueryRetryPolicy {
  if (typeof options !== 'object' || options === null) throw new TypeError('closed-loop: retryPolicyForQueries(options): `options` must be an object');
  const maxAttempts = checkAttemptsAndDelays(options);
  const shouldRetry = options.shouldRetry;
  checkFunction('shouldRetry', shouldRetry, 'retryPolicyForQueries');
  return {
    retry(failureCount, error) {
      const attempt = failureCount + 1;
      if (attempt >= maxAttempts) return false;
      const cause = lastError(error);
      if (shouldRetry === undefined) return isRetryableError(cause);
      const verdict = shouldRetry(cause, attempt);
      if (typeof verdict !== 'boolean') {
        throw new TypeError('closed-loop: retryPolicyForQueries: `shouldRetry` must return a boolean (TanStack Query asks synchronously)');
      }
      return verdict;
    },
    retryDelay(attemptIndex, error) {
      return retryDelay(attemptIndex + 1, retryAfterOf(lastError(error)), options);
    },
  };
}
