import { describe, expect, test } from 'vitest';
import {
  isRetryExhaustedError,
  ManualClock,
  RetryExhaustedError,
  retryWithBackoff,
} from '../../src/index.js';
import { alwaysFailing, observe } from './helpers.js';

describe('maxAttempts', () => {
  test('defaults to 3 calls, the first included', async () => {
    const clock = new ManualClock();
    const { fn, calls, errors } = alwaysFailing(clock);
    const result = observe(retryWithBackoff(fn, { clock }));
    await clock.runAll();
    expect(result.rejected).toBe(true);
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(result.error).toBeInstanceOf(RetryExhaustedError);
    const error = result.error as RetryExhaustedError;
    expect(error.attempts).toBe(3);
    expect(error.cause).toBe(errors[2]);
  });

  test.each([1, 2, 5, 10])('maxAttempts: %i makes exactly that many calls', async (maxAttempts) => {
    const clock = new ManualClock();
    const { fn, calls, errors } = alwaysFailing(clock);
    const result = observe(retryWithBackoff(fn, { clock, maxAttempts, jitter: 'none', initialDelayMs: 10 }));
    await clock.runAll();
    expect(calls).toHaveLength(maxAttempts);
    expect(calls.map((c) => c.attempt)).toEqual(Array.from({ length: maxAttempts }, (_, i) => i + 1));
    expect(isRetryExhaustedError(result.error)).toBe(true);
    expect((result.error as RetryExhaustedError).attempts).toBe(maxAttempts);
    expect((result.error as RetryExhaustedError).cause).toBe(errors[maxAttempts - 1]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('maxAttempts: 1 makes one call and rejects with RetryExhaustedError (attempts 1, cause the error), no wait', async () => {
    const clock = new ManualClock();
    const failure = new Error('only try');
    let calls = 0;
    const onRetry: unknown[] = [];
    const result = observe(
      retryWithBackoff(
        () => {
          calls++;
          throw failure;
        },
        { clock, maxAttempts: 1, onRetry: (...args) => onRetry.push(args) },
      ),
    );
    await clock.advance(0);
    expect(result.rejected).toBe(true);
    expect(calls).toBe(1);
    expect(result.error).toBeInstanceOf(RetryExhaustedError);
    expect((result.error as RetryExhaustedError).attempts).toBe(1);
    expect((result.error as RetryExhaustedError).cause).toBe(failure);
    expect((result.error as RetryExhaustedError).code).toBe('RETRY_EXHAUSTED');
    expect(onRetry).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('the RetryExhaustedError message names the attempts and the last error', async () => {
    const clock = new ManualClock();
    const result = observe(
      retryWithBackoff(
        ({ attempt }) => {
          throw new Error(`boom ${attempt}`);
        },
        { clock, maxAttempts: 2 },
      ),
    );
    await clock.runAll();
    expect((result.error as Error).message).toContain('2');
    expect((result.error as Error).message).toContain('boom 2');
  });

  test('an exhausted run reports the last attempt number even when shouldRetry is async', async () => {
    const clock = new ManualClock();
    const { fn, calls } = alwaysFailing(clock);
    const result = observe(
      retryWithBackoff(fn, { clock, maxAttempts: 4, initialDelayMs: 5, shouldRetry: async () => true }),
    );
    await clock.runAll();
    expect(calls).toHaveLength(4);
    expect((result.error as RetryExhaustedError).attempts).toBe(4);
  });

  test.each([
    ['0', 0],
    ['-1', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['1.5', 1.5],
    ['0.5', 0.5],
    ['a string', '3' as unknown as number],
  ])('maxAttempts %s is refused with a TypeError before any call', async (_label, maxAttempts) => {
    let calls = 0;
    const clock = new ManualClock();
    const promise = retryWithBackoff(
      () => {
        calls++;
        return 'never';
      },
      { clock, maxAttempts },
    );
    await expect(promise).rejects.toThrow(TypeError);
    await expect(promise).rejects.toThrow(/maxAttempts/);
    expect(calls).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  test('retryWithBackoff returns a rejected promise for bad options rather than throwing synchronously', () => {
    let thrown: unknown;
    let promise: Promise<unknown> | undefined;
    try {
      promise = retryWithBackoff(() => 1, { maxAttempts: 0 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeUndefined();
    expect(promise).toBeInstanceOf(Promise);
    return expect(promise).rejects.toThrow(TypeError);
  });

  test.each([
    ['initialDelayMs', { initialDelayMs: -1 }],
    ['initialDelayMs', { initialDelayMs: Number.NaN }],
    ['maxDelayMs', { maxDelayMs: -5 }],
    ['maxDelayMs', { maxDelayMs: Number.POSITIVE_INFINITY }],
    ['backoffMultiplier', { backoffMultiplier: Number.NaN }],
    ['backoffMultiplier', { backoffMultiplier: -2 }],
    ['jitter', { jitter: 'random' as 'full' }],
    ['timeoutMs', { timeoutMs: -1 }],
    ['timeoutMs', { timeoutMs: Number.NaN }],
    ['maxElapsedMs', { maxElapsedMs: -1 }],
    ['maxRetryAfterMs', { maxRetryAfterMs: Number.NaN }],
  ])('an invalid %s is refused with a TypeError before any call', async (name, options) => {
    let calls = 0;
    const promise = retryWithBackoff(
      () => {
        calls++;
        return 'never';
      },
      { clock: new ManualClock(), ...options },
    );
    await expect(promise).rejects.toThrow(TypeError);
    await expect(promise).rejects.toThrow(name);
    expect(calls).toBe(0);
  });
});
