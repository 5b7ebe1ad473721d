import { describe, expect, test } from 'vitest';
import { HttpError, ManualClock, RetryExhaustedError, retryWithBackoff, TimeoutError } from '../../src/index.js';
import { alwaysFailing, observe, scripted } from './helpers.js';

describe('maxElapsedMs', () => {
  test('no new attempt starts after that much time → RetryExhaustedError with the last error', async () => {
    const clock = new ManualClock(5_000);
    const { fn, calls, errors } = alwaysFailing(clock);
    const result = observe(
      retryWithBackoff(fn, { clock, jitter: 'none', initialDelayMs: 1_000, maxAttempts: 100, maxElapsedMs: 5_000 }),
    );
    await clock.runAll();
    // Attempts at +0, +1000, +3000; the next would start at +7000 > 5000.
    expect(calls.map((c) => c.at - 5_000)).toEqual([0, 1_000, 3_000]);
    for (const c of calls) expect(c.at - 5_000).toBeLessThanOrEqual(5_000);
    expect(result.error).toBeInstanceOf(RetryExhaustedError);
    expect((result.error as RetryExhaustedError).attempts).toBe(3);
    expect((result.error as RetryExhaustedError).cause).toBe(errors[2]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('an attempt may still start exactly at the limit', async () => {
    const clock = new ManualClock();
    const { fn, calls } = alwaysFailing(clock);
    observe(retryWithBackoff(fn, { clock, jitter: 'none', initialDelayMs: 1_000, maxAttempts: 100, maxElapsedMs: 3_000 }));
    await clock.runAll();
    expect(calls.map((c) => c.at)).toEqual([0, 1_000, 3_000]);
  });

  test('time spent inside slow attempts counts: no attempt starts after the budget', async () => {
    const clock = new ManualClock();
    const calls: number[] = [];
    const result = observe(
      retryWithBackoff(
        () => {
          calls.push(clock.now());
          return new Promise<never>(() => {});
        },
        { clock, timeoutMs: 4_000, initialDelayMs: 0, maxAttempts: 10, maxElapsedMs: 10_000 },
      ),
    );
    await clock.runAll();
    expect(calls).toEqual([0, 4_000, 8_000]);
    expect((result.error as RetryExhaustedError).attempts).toBe(3);
    expect((result.error as RetryExhaustedError).cause).toBeInstanceOf(TimeoutError);
    expect(clock.now()).toBeLessThanOrEqual(12_000);
  });

  test('a Retry-After that reaches past the budget ends the run instead of waiting', async () => {
    const clock = new ManualClock();
    const last = new HttpError(503, { retryAfterMs: 30_000 });
    const { fn, calls } = scripted<string>(clock, [{ reject: last }, { value: 'too late' }]);
    const result = observe(retryWithBackoff(fn, { clock, maxElapsedMs: 10_000 }));
    await clock.runAll();
    expect(calls).toHaveLength(1);
    expect(result.error).toBeInstanceOf(RetryExhaustedError);
    expect((result.error as RetryExhaustedError).cause).toBe(last);
  });

  test('a success within the budget resolves normally', async () => {
    const clock = new ManualClock();
    const { fn } = scripted<string>(clock, [{ throw: new Error('x') }, { value: 'ok' }]);
    const result = observe(retryWithBackoff(fn, { clock, jitter: 'none', maxElapsedMs: 1_000 }));
    await clock.runAll();
    expect(result.value).toBe('ok');
  });

  test('maxAttempts still applies within the budget', async () => {
    const clock = new ManualClock();
    const { fn, calls } = alwaysFailing(clock);
    const result = observe(retryWithBackoff(fn, { clock, maxAttempts: 2, maxElapsedMs: 1_000_000 }));
    await clock.runAll();
    expect(calls).toHaveLength(2);
    expect((result.error as RetryExhaustedError).attempts).toBe(2);
  });

  test('maxElapsedMs: 0 allows only the first attempt', async () => {
    const clock = new ManualClock();
    const { fn, calls } = alwaysFailing(clock);
    const result = observe(retryWithBackoff(fn, { clock, jitter: 'none', maxElapsedMs: 0 }));
    await clock.runAll();
    expect(calls).toHaveLength(1);
    expect((result.error as RetryExhaustedError).attempts).toBe(1);
  });
});
