import { describe, expect, test, vi } from 'vitest';
import * as core from '../../src/index.js';
import {
  CircuitBreakerError,
  ClosedLoopError,
  HttpError,
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
} from '../../src/index.js';

type ErrorsModule = typeof import('../../src/errors/errors.js');

const delivery = Promise.resolve(undefined);
delivery.catch(() => undefined);

function instances(m: ErrorsModule): Record<string, unknown> {
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

const guards: Record<string, (value: unknown) => boolean> = {
  HttpError: isHttpError,
  NetworkError: isNetworkError,
  TimeoutError: isTimeoutError,
  RetryExhaustedError: isRetryExhaustedError,
  CircuitBreakerError: isCircuitBreakerError,
  IdempotencyError: isIdempotencyError,
  OfflineQueuedError: isOfflineQueuedError,
};

describe('each guard recognises its own class and no other', () => {
  const made = instances(core);
  for (const [guardName, guard] of Object.entries(guards)) {
    test(`is${guardName}`, () => {
      for (const [kind, error] of Object.entries(made)) expect(guard(error), `${guardName} on ${kind}`).toBe(kind === guardName);
      expect(guard(new ClosedLoopError('base', 'BASE'))).toBe(false);
    });
  }

  test('isClosedLoopError recognises every closed-loop error', () => {
    for (const error of Object.values(made)) expect(isClosedLoopError(error)).toBe(true);
    expect(isClosedLoopError(new ClosedLoopError('base', 'BASE'))).toBe(true);
  });

  test('every guard is exported from the package', () => {
    for (const name of ['isClosedLoopError', ...Object.keys(guards).map((k) => `is${k}`)]) {
      expect(typeof (core as Record<string, unknown>)[name]).toBe('function');
    }
  });
});

describe('guards recognise subclasses', () => {
  class NotFoundError extends HttpError {
    constructor() {
      super(404);
      this.name = 'NotFoundError';
    }
  }
  class AppTimeout extends TimeoutError {}
  class AppError extends ClosedLoopError {}

  test('a subclass passes its parent guards and nothing else', () => {
    const error = new NotFoundError();
    expect(isHttpError(error)).toBe(true);
    expect(isClosedLoopError(error)).toBe(true);
    expect(isNetworkError(error)).toBe(false);
    expect(isTimeoutError(new AppTimeout(5))).toBe(true);
    expect(isHttpError(new AppTimeout(5))).toBe(false);
    expect(isClosedLoopError(new AppError('a', 'APP'))).toBe(true);
    expect(isHttpError(new AppError('a', 'APP'))).toBe(false);
  });

  test('a subclass does not change its parent\'s brand', () => {
    class Sub extends NetworkError {}
    expect(isNetworkError(new Sub())).toBe(true);
    expect(isTimeoutError(new NetworkError())).toBe(false);
    expect(isNetworkError(new NetworkError())).toBe(true);
  });
});

describe('guards say no to everything else', () => {
  const others: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['null', null],
    ['a string', 'HttpError'],
    ['a number', 500],
    ['a boolean', true],
    ['a symbol', Symbol('x')],
    ['a function', () => undefined],
    ['a plain Error', new Error('x')],
    ['a TypeError', new TypeError('x')],
    ['an empty object', {}],
    ['a look-alike', { name: 'HttpError', status: 500, code: 'HTTP_ERROR', message: 'HTTP 500' }],
    ['an object with a string brand', { [Symbol.for('closed-loop.error')]: 'HttpError' }],
    ['a DOMException', new DOMException('aborted', 'AbortError')],
  ];
  test.each(others)('%s', (_label, value) => {
    expect(isClosedLoopError(value)).toBe(false);
    for (const guard of Object.values(guards)) expect(guard(value)).toBe(false);
  });
});

describe('guards work across copies of the package', () => {
  test('a second, separately loaded copy of the errors module has other classes, yet guards agree both ways', async () => {
    // With the module registry reset, the loader evaluates the errors module and every file behind it
    // again: a second copy, as when an app loads the package once by `import` and once by `require`.
    vi.resetModules();
    const copy = (await import('../../src/errors/errors.js'));
    expect(copy.HttpError).not.toBe(HttpError);
    expect(new copy.HttpError(500)).not.toBeInstanceOf(HttpError);

    const fromCopy = instances(copy);
    const fromCore = instances(core);
    for (const [kind, guard] of Object.entries(guards)) {
      const copyGuard = (copy as unknown as Record<string, (v: unknown) => boolean>)[`is${kind}`]!;
      for (const [otherKind, error] of Object.entries(fromCopy)) expect(guard(error), `${kind} on copy ${otherKind}`).toBe(kind === otherKind);
      for (const [otherKind, error] of Object.entries(fromCore)) expect(copyGuard(error), `copy ${kind} on ${otherKind}`).toBe(kind === otherKind);
    }
    for (const error of Object.values(fromCopy)) expect(isClosedLoopError(error)).toBe(true);
    expect(copy.isClosedLoopError(new CircuitBreakerError('OPEN', 1))).toBe(true);
    expect(copy.isIdempotencyError(new IdempotencyError('KEY_MISMATCH'))).toBe(true);
    expect(copy.isRetryExhaustedError(new RetryExhaustedError(1, null))).toBe(true);
    expect(copy.isOfflineQueuedError(new OfflineQueuedError('i', 'k', delivery))).toBe(true);
  });
});
