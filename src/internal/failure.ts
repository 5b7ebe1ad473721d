// What a failed call's error says, read the same way by retry, the sync client, the circuit breaker
// and the offline queue. Each of them decides with these (retry's `isRetryableError` in
// retry/should-retry.ts, the queue's verdict in queue/failure.ts). Not exported.
import {
  isCircuitBreakerError,
  isHttpError,
  isIdempotencyError,
  isNetworkError,
  isRetryExhaustedError,
} from '../errors/errors.js';

/**
 * The error a retried call ended with: the last attempt's error inside a {@link RetryExhaustedError}
 * (also inside several), else the error itself.
 *
 * @internal
 */
export function lastError(error: unknown): unknown {
  for (let depth = 0; depth < 8 && isRetryExhaustedError(error); depth++) error = error.cause;
  return error;
}

/**
 * An abort: the caller (or a deadline's signal) gave up. Never retried in a loop; for the queue, no answer.
 *
 * @internal
 */
export function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/**
 * The server is still running the first request with this idempotency key: an
 * {@link IdempotencyError} `KEY_IN_USE`, or a 409 whose problem+json body says `KEY_IN_USE`.
 *
 * @internal
 */
export function isKeyInUse(error: unknown): boolean {
  if (isIdempotencyError(error)) return error.code === 'KEY_IN_USE';
  return isHttpError(error) && error.status === 409 && isKeyInUseBody(error.body);
}

/**
 * Whether a (parsed) response body is the problem+json of `KEY_IN_USE`.
 *
 * @internal
 */
export function isKeyInUseBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { code?: unknown }).code === 'KEY_IN_USE';
}

/**
 * The request never reached a server: a network failure, or every server behind an open breaker
 * (also as the last error of a retried call).
 *
 * @internal
 */
export function isUnreached(error: unknown): boolean {
  const last = lastError(error);
  return isNetworkError(last) || isCircuitBreakerError(last);
}

/**
 * The default `isFailure` of a circuit breaker: every error but an {@link HttpError} with a 4xx
 * status (the server answered; the request was wrong).
 *
 * @internal
 */
export function countsAgainstServer(error: unknown): boolean {
  return !(isHttpError(error) && error.status >= 400 && error.status < 500);
}

/**
 * The wait an error asks for, in ms: its `retryAfterMs` (from `Retry-After`, or an open breaker's
 * wait) when that is a finite number >= 0.
 *
 * @internal
 */
export function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Whether the browser says it is offline (`navigator.onLine === false`); false where there is no
 * `navigator` (Node) or it does not say.
 *
 * @internal
 */
export function isOffline(): boolean {
  return (globalThis as { navigator?: { onLine?: unknown } }).navigator?.onLine === false;
}
