import { computeBackoffDelay } from '../retry/backoff.js';
import { DEFAULT_MAX_RETRY_AFTER_MS, type RetryOptions } from '../retry/options.js';

/**
 * The wait before the next attempt, after failed attempt number `attempt` (counting from 1), for
 * retry, the TanStack Query policy and the offline queue alike: the server's `retryAfterMs` (see
 * `retryAfterOf`), unjittered and capped by `maxRetryAfterMs`, unless `respectRetryAfter` is false;
 * otherwise the backoff of `options` (`computeBackoffDelay`; `previousDelayMs` is for
 * decorrelated jitter).
 *
 * @internal
 */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  options: RetryOptions,
  previousDelayMs?: number,
): number {
  if (retryAfterMs !== undefined && options.respectRetryAfter !== false) {
    return Math.min(retryAfterMs, options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS);
  }
  return computeBackoffDelay(attempt, options, options.random, previousDelayMs);
}
