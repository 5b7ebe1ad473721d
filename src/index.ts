/**
 * closed-loop core: retry with backoff, circuit breaker, errors and the clock. Framework-free; runs
 * in Node >= 20.19, browsers and workers.
 *
 * @packageDocumentation
 */

export {
  CircuitBreakerError,
  ClosedLoopError,
  HttpError,
  IDEMPOTENCY_ERROR_STATUS,
  IdempotencyError,
  NetworkError,
  OfflineQueuedError,
  RetryExhaustedError,
  TimeoutError,
  isCircuitBreakerError,
  isClosedLoopError,
  isHttpError,
  isIdempotencyError,
  isNetworkError,
  isOfflineQueuedError,
  isRetryExhaustedError,
  isTimeoutError,
  parseRetryAfter,
} from './errors/errors.js';
export type {
  CircuitState,
  ClosedLoopErrorOptions,
  HttpErrorOptions,
  IdempotencyErrorCode,
} from './errors/errors.js';

export { ManualClock, realClock, unrefTimer } from './clock/clock.js';
export type { Clock, TimerHandle } from './clock/clock.js';

export { computeBackoffDelay } from './retry/backoff.js';
export { retryWithBackoff } from './retry/retry.js';
export { isRetryableError, isRetryableStatus } from './retry/should-retry.js';
export type { BackoffOptions, JitterMode, RetryContext, RetryOptions } from './retry/options.js';

export { CircuitBreaker } from './breaker/circuit-breaker.js';
export type {
  CircuitBreakerEvents,
  CircuitBreakerMetrics,
  CircuitBreakerOptions,
  CircuitBreakerSnapshot,
} from './breaker/options.js';
