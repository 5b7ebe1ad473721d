import { describe, expect, test, vi } from 'vitest';
import {
  ClosedLoopError,
  HttpError,
  IdempotencyError,
  isRetryableError,
  isRetryableStatus,
  ManualClock,
  NetworkError,
  RetryExhaustedError,
  retryWithBackoff,
  TimeoutError,
} from '../../src/index.js';
import { observe, scripted } from './helpers.js';

/** Runs with the default shouldRetry: every attempt fails with `error`. */
async function runFailingWith(error: unknown, maxAttempts = 3) {
  const clock = new ManualClock();
  const { fn, calls } = scripted<string>(clock, [{ reject: error }]);
  const result = observe(retryWithBackoff(fn, { clock, maxAttempts, initialDelayMs: 10 }));
  await clock.runAll();
  expect(result.settled).toBe(true);
  return { calls, result };
}

class AppError extends Error {
  retryable = false;
}

const retryable: Array<[string, () => unknown]> = [
  ['NetworkError', () => new NetworkError('fetch failed', { cause: new TypeError('fetch failed') })],
  ['TimeoutError', () => new TimeoutError(500)],
  ['HttpError 408', () => new HttpError(408)],
  ['HttpError 425', () => new HttpError(425)],
  ['HttpError 429', () => new HttpError(429)],
  ['HttpError 500', () => new HttpError(500)],
  ['HttpError 502', () => new HttpError(502)],
  ['HttpError 503', () => new HttpError(503)],
  ['HttpError 504', () => new HttpError(504)],
  ['HttpError 599', () => new HttpError(599)],
  ['IdempotencyError KEY_IN_USE', () => new IdempotencyError('KEY_IN_USE')],
  ['a plain Error', () => new Error('x')],
  ['a TypeError', () => new TypeError('undefined is not a function')],
  ['a RangeError', () => new RangeError('r')],
  ['a DOMException that is not an abort', () => new DOMException('net', 'NetworkError')],
  ['a DOMException TimeoutError (as from AbortSignal.timeout)', () => new DOMException('slow', 'TimeoutError')],
  ['an error marked retryable: true', () => Object.assign(new Error('x'), { retryable: true })],
];

const notRetryable: Array<[string, () => unknown]> = [
  ['an AbortError DOMException', () => new DOMException('aborted', 'AbortError')],
  ['an Error named AbortError', () => Object.assign(new Error('aborted'), { name: 'AbortError' })],
  ['HttpError 400', () => new HttpError(400)],
  ['HttpError 401', () => new HttpError(401)],
  ['HttpError 403', () => new HttpError(403)],
  ['HttpError 404', () => new HttpError(404)],
  ['HttpError 409', () => new HttpError(409)],
  ['HttpError 422', () => new HttpError(422)],
  ['IdempotencyError KEY_MISSING', () => new IdempotencyError('KEY_MISSING')],
  ['IdempotencyError KEY_INVALID', () => new IdempotencyError('KEY_INVALID')],
  ['IdempotencyError KEY_MISMATCH', () => new IdempotencyError('KEY_MISMATCH')],
  ['IdempotencyError STORE_UNAVAILABLE', () => new IdempotencyError('STORE_UNAVAILABLE')],
  ['an Error with retryable: false', () => new AppError('nope')],
  ['a ClosedLoopError with retryable: false', () => new ClosedLoopError('x', 'X', { retryable: false })],
  ['a NetworkError with retryable: false', () => new NetworkError('x', { retryable: false })],
  ['an HttpError 503 with retryable: false', () => new HttpError(503, { retryable: false })],
];

describe('the default shouldRetry', () => {
  test.each(retryable)('retries %s until attempts run out', async (_label, make) => {
    const error = make();
    expect(isRetryableError(error)).toBe(true);
    const { calls, result } = await runFailingWith(error);
    expect(calls).toHaveLength(3);
    expect(result.error).toBeInstanceOf(RetryExhaustedError);
    expect((result.error as RetryExhaustedError).attempts).toBe(3);
    expect((result.error as RetryExhaustedError).cause).toBe(error);
  });

  test.each(notRetryable)('never retries %s: rejects with the error itself after one call', async (_label, make) => {
    const error = make();
    expect(isRetryableError(error)).toBe(false);
    const { calls, result } = await runFailingWith(error);
    expect(calls).toHaveLength(1);
    expect(result.error).toBe(error);
  });

  test('a TypeError thrown synchronously by fn is retried and comes back as the cause', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const errors: TypeError[] = [];
    const result = observe(
      retryWithBackoff(
        () => {
          calls++;
          const e = new TypeError(`bad ${calls}`);
          errors.push(e);
          throw e;
        },
        { clock },
      ),
    );
    await clock.runAll();
    expect(calls).toBe(3);
    expect((result.error as RetryExhaustedError).cause).toBe(errors[2]);
  });

  test.each([
    ['a string', 'oops'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['a plain object', { reason: 'x' }],
  ])('a thrown non-Error value (%s) is retried and the original value comes back as cause', async (_label, value) => {
    const { calls, result } = await runFailingWith(value);
    expect(calls).toHaveLength(3);
    expect(result.error).toBeInstanceOf(RetryExhaustedError);
    expect((result.error as RetryExhaustedError).cause).toBe(value);
  });

  test('a non-retryable error on a later attempt rejects with that error, not RetryExhaustedError', async () => {
    const clock = new ManualClock();
    const fatal = new HttpError(404);
    const { fn, calls } = scripted<string>(clock, [{ reject: new HttpError(503) }, { reject: fatal }, { value: 'never' }]);
    const result = observe(retryWithBackoff(fn, { clock }));
    await clock.runAll();
    expect(calls).toHaveLength(2);
    expect(result.error).toBe(fatal);
  });

  test('a non-retryable error on the last attempt rejects with the error itself, unwrapped', async () => {
    const clock = new ManualClock();
    const fatal = new HttpError(422);
    const { fn, calls } = scripted<string>(clock, [{ reject: new Error('a') }, { reject: fatal }]);
    const result = observe(retryWithBackoff(fn, { clock, maxAttempts: 2 }));
    await clock.runAll();
    expect(calls).toHaveLength(2);
    expect(result.error).toBe(fatal);
  });

  test('a non-retryable error with maxAttempts: 1 rejects with the error itself', async () => {
    const { calls, result } = await runFailingWith(new HttpError(401), 1);
    expect(calls).toHaveLength(1);
    expect(result.error).toBeInstanceOf(HttpError);
    expect((result.error as HttpError).status).toBe(401);
  });

  test('isRetryableStatus: 408, 425, 429 and 5xx', () => {
    expect([408, 425, 429, 500, 503, 599].every(isRetryableStatus)).toBe(true);
    expect([200, 301, 400, 401, 403, 404, 409, 422].some(isRetryableStatus)).toBe(false);
  });
});

describe('a custom shouldRetry', () => {
  test('receives (error, attempt) for each failure, the last one included', async () => {
    const clock = new ManualClock();
    const errors = [new Error('1'), new Error('2'), new Error('3')];
    const { fn } = scripted<string>(clock, errors.map((e) => ({ reject: e })));
    const shouldRetry = vi.fn((_error: unknown, _attempt: number) => true);
    const result = observe(retryWithBackoff(fn, { clock, shouldRetry }));
    await clock.runAll();
    expect(shouldRetry.mock.calls.slice(0, 2)).toEqual([
      [errors[0], 1],
      [errors[1], 2],
    ]);
    expect(shouldRetry.mock.calls[0]![0]).toBe(errors[0]);
    for (const [error, attempt] of shouldRetry.mock.calls) expect(error).toBe(errors[attempt - 1]);
    expect((result.error as RetryExhaustedError).cause).toBe(errors[2]);
  });

  test('sync false stops at once and rejects with that error', async () => {
    const clock = new ManualClock();
    const error = new NetworkError('down');
    const { fn, calls } = scripted<string>(clock, [{ reject: error }]);
    const onRetry = vi.fn();
    const result = observe(retryWithBackoff(fn, { clock, shouldRetry: () => false, onRetry }));
    await clock.runAll();
    expect(calls).toHaveLength(1);
    expect(result.error).toBe(error);
    expect(onRetry).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
  });

  test('async false stops at once and rejects with that error', async () => {
    const clock = new ManualClock();
    const errors = [new Error('a'), new Error('b')];
    const { fn, calls } = scripted<string>(clock, errors.map((e) => ({ reject: e })));
    const result = observe(
      retryWithBackoff(fn, {
        clock,
        maxAttempts: 5,
        shouldRetry: async (_e, attempt) => {
          await Promise.resolve();
          return attempt < 2;
        },
      }),
    );
    await clock.runAll();
    expect(calls).toHaveLength(2);
    expect(result.error).toBe(errors[1]);
  });

  test('async true retries', async () => {
    const clock = new ManualClock();
    const { fn, calls } = scripted<string>(clock, [{ reject: new HttpError(400) }, { value: 'ok' }]);
    const result = observe(retryWithBackoff(fn, { clock, shouldRetry: async () => true }));
    await clock.runAll();
    expect(calls).toHaveLength(2);
    expect(result.value).toBe('ok');
  });

  test('a shouldRetry that waits on the clock is awaited before the backoff', async () => {
    const clock = new ManualClock();
    const { fn, calls } = scripted<string>(clock, [{ reject: new Error('x') }, { value: 'ok' }]);
    const result = observe(
      retryWithBackoff(fn, {
        clock,
        jitter: 'none',
        initialDelayMs: 100,
        shouldRetry: () => new Promise<boolean>((resolve) => clock.setTimeout(() => resolve(true), 50)),
      }),
    );
    await clock.advance(149);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    expect(result.value).toBe('ok');
  });

  test('a custom shouldRetry replaces the default: it can refuse a retryable error and allow a 4xx', async () => {
    const clock = new ManualClock();
    const error = new HttpError(503);
    const { fn, calls } = scripted<string>(clock, [{ reject: error }]);
    const result = observe(retryWithBackoff(fn, { clock, shouldRetry: (e) => !(e instanceof HttpError && e.status === 503) }));
    await clock.runAll();
    expect(calls).toHaveLength(1);
    expect(result.error).toBe(error);
  });

  test('a custom shouldRetry receives a thrown non-Error value as it was thrown', async () => {
    const clock = new ManualClock();
    const seen: unknown[] = [];
    observe(
      retryWithBackoff(
        () => {
          throw 'plain string';
        },
        { clock, maxAttempts: 2, shouldRetry: (e) => (seen.push(e), true) },
      ),
    );
    await clock.runAll();
    expect(seen[0]).toBe('plain string');
  });

  test('an error thrown by shouldRetry rejects the call with that error', async () => {
    const clock = new ManualClock();
    const thrown = new Error('shouldRetry broke');
    const { fn, calls } = scripted<string>(clock, [{ reject: new Error('x') }]);
    const result = observe(
      retryWithBackoff(fn, {
        clock,
        shouldRetry: () => {
          throw thrown;
        },
      }),
    );
    await clock.runAll();
    expect(calls).toHaveLength(1);
    expect(result.error).toBe(thrown);
  });
});
