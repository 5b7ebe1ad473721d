/**
 * Error classes of closed-loop, one file each, with their guards (`isHttpError(e)` …). A guard
 * recognises instances by a brand (brand.ts) rather than `instanceof`, so it also works when an app
 * ends up with two copies of the package (one loaded by `import`, one by `require`).
 */

// In the order of the single file these came from: bundles lay the classes out in import order, and
// this one keeps them as small as before (alphabetical cost up to 40 B brotli).
export { ClosedLoopError, isClosedLoopError } from './closed-loop-error.js';
export type { ClosedLoopErrorOptions } from './closed-loop-error.js';
export { HttpError, isHttpError } from './http-error.js';
export type { HttpErrorOptions } from './http-error.js';
export { parseRetryAfter } from './retry-after.js';
export { isNetworkError, NetworkError } from './network-error.js';
export { isTimeoutError, TimeoutError } from './timeout-error.js';
export { isRetryExhaustedError, RetryExhaustedError } from './retry-exhausted-error.js';
export { CircuitBreakerError, isCircuitBreakerError } from './circuit-breaker-error.js';
export type { CircuitState } from './circuit-breaker-error.js';
export { IDEMPOTENCY_ERROR_STATUS, IdempotencyError, isIdempotencyError } from './idempotency-error.js';
export type { IdempotencyErrorCode, IdempotencyErrorOptions } from './idempotency-error.js';
export { isOfflineQueuedError, OfflineQueuedError } from './offline-queued-error.js';
