// Sending one call of a sync client: attempts with retry and backoff, the retry budget, failover
// across the servers' breakers, and the offline queue when the call cannot get through. Not exported.
import { isCircuitBreakerError, isRetryExhaustedError, NetworkError, RetryExhaustedError } from '../errors/errors.js';
import { isOffline, isUnreached } from '../internal/failure.js';
import { messageOf } from '../internal/message-of.js';
import { attemptTimeoutMs, type RetryContext, type RetryOptions } from '../retry/options.js';
import { retryWithBackoff } from '../retry/retry.js';
import { isRetryableError } from '../retry/should-retry.js';
import type { Call } from './call.js';
import type { ClientConfig } from './config.js';
import { attemptHeaders, sendToServer } from './exchange.js';
import type { SyncResponse } from './options.js';
import { CallerAbort } from './servers.js';

/** Puts a call in the offline queue and rejects with OfflineQueuedError (see queue-bridge.ts). */
export type Enqueue = (call: Call, cause: unknown) => Promise<never>;

/** Attempts with retries and failover, then the offline queue if the call cannot get through. */
export async function sendCall(config: ClientConfig, call: Call, enqueue: Enqueue): Promise<SyncResponse> {
  const queueable = call.queueable || call.held !== undefined;
  if (queueable && isOffline()) {
    return enqueue(call, new NetworkError('The browser is offline'));
  }
  const budget = config.retryBudget;
  budget?.deposit();
  call.cursor = config.pool.startIndex();
  let reached = 0;
  let lastServerError: unknown;
  let stop: 'budget' | 'offline' | undefined;
  const retry = call.retry;
  const base = retry === false ? undefined : (retry.shouldRetry ?? isRetryableError);
  let lastAttempt = false;
  const decide = (verdict: boolean): boolean => {
    // After the last attempt nothing follows: spend no retry on it, and let it end as exhausted.
    if (!verdict || lastAttempt) return verdict;
    if (queueable && isOffline()) {
      stop = 'offline';
      return false;
    }
    if (budget !== undefined && !budget.tryWithdraw()) {
      stop = 'budget';
      return false;
    }
    return true;
  };
  const shouldRetry = (error: unknown, attempt: number): boolean | PromiseLike<boolean> => {
    // Every breaker open: fail fast (that is what breakers are for) rather than wait for one.
    if (isCircuitBreakerError(error) || base === undefined) return false;
    lastAttempt = attempt >= call.maxAttempts;
    const verdict = base(error, attempt);
    return typeof verdict === 'boolean' ? decide(verdict) : Promise.resolve(verdict).then(decide);
  };
  const attempt = async (context: RetryContext): Promise<SyncResponse> => {
    call.onAttempt?.(context.attempt, call.maxAttempts);
    const fetchFn = config.fetch ?? globalThis.fetch;
    if (typeof fetchFn !== 'function') {
      // Not the server's fault and not worth a retry.
      throw Object.assign(new TypeError('closed-loop: no `fetch` here; pass one in the options'), { retryable: false });
    }
    const headers = await attemptHeaders(config, call);
    // Reading the context's signal makes an AbortController; only a deadline or a caller needs one.
    const signal = call.signal !== undefined || (call.retry !== false && attemptTimeoutMs(call.retry) > 0) ? context.signal : undefined;
    try {
      return await config.pool.run(
        call.cursor,
        (index) => {
          call.cursor = index + 1;
        },
        (server) => sendToServer(config, fetchFn, server, call, headers, signal),
      );
    } catch (error) {
      if (!isCircuitBreakerError(error)) {
        reached++;
        lastServerError = error;
      }
      throw error instanceof CallerAbort ? error.reason : error;
    }
  };
  const options: RetryOptions =
    retry === false
      ? { maxAttempts: 1, timeoutMs: 0, clock: config.clock, shouldRetry }
      : { ...retry, shouldRetry };
  if (call.signal !== undefined) options.signal = call.signal;
  try {
    return await retryWithBackoff(attempt, options);
  } catch (error) {
    if (call.signal?.aborted && error === call.signal.reason) throw error;
    let final = error;
    if (retry === false && isRetryExhaustedError(error)) final = error.cause;
    if (stop === 'budget') {
      final = new RetryExhaustedError(
        reached,
        error,
        `Retry budget exhausted: gave up after ${reached} attempt${reached === 1 ? '' : 's'}: ${messageOf(error)}`,
      );
    } else if (isCircuitBreakerError(error) && reached > 0) {
      final = new RetryExhaustedError(reached, lastServerError);
    }
    // A held (durable) call is already queued: it stays there unless the server said no for good.
    const queueIt =
      call.held !== undefined
        ? stop !== undefined || isRetryExhaustedError(final) || isUnreached(error)
        : call.queueable && (stop === 'offline' || isUnreached(error));
    if (queueIt) return enqueue(call, final);
    throw final;
  }
}
