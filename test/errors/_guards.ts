// What both guard test files use: one instance of each error class of a module, and the guards.
import {
  isCircuitBreakerError,
  isHttpError,
  isIdempotencyError,
  isNetworkError,
  isOfflineQueuedError,
  isRetryExhaustedError,
  isTimeoutError,
} from '../../src/index.js';

export type ErrorsModule = typeof import('../../src/errors/errors.js');

const delivery = Promise.resolve(undefined);
delivery.catch(() => undefined);

/** One instance of each error class of `m`, by class name. */
export function instances(m: ErrorsModule): Record<string, unknown> {
  return {
    HttpError: new m.HttpError(500),
    NetworkError: new m.NetworkError(),
    TimeoutError: new m.TimeoutError(1),
    RetryExhaustedError: new m.RetryExhaustedError(1, new Error('x')),
    CircuitBreakerError: new m.CircuitBreakerError('OPEN', 1),
    IdempotencyError: new m.IdempotencyError('KEY_MISSING'),
    OfflineQueuedError: new m.OfflineQueuedError('i', 'k', delivery),
  };
}

/** The core's guards, by the class name each recognises. */
export const guards: Record<string, (value: unknown) => boolean> = {
  HttpError: isHttpError,
  NetworkError: isNetworkError,
  TimeoutError: isTimeoutError,
  RetryExhaustedError: isRetryExhaustedError,
  CircuitBreakerError: isCircuitBreakerError,
  IdempotencyError: isIdempotencyError,
  OfflineQueuedError: isOfflineQueuedError,
};

export { delivery };
