import { describe, expect, test } from 'vitest';
import {
  isTimeoutError,
  ManualClock,
  type RetryContext,
  RetryExhaustedError,
  retryWithBackoff,
  TimeoutError,
} from '../../src/index.js';
import { flush, observe } from './helpers.js';

/** A fn whose attempts never settle on their own; records each attempt's signal and start time. */
function hanging(clock: ManualClock, readSignal = true) {
  const calls: Array<{ attempt: number; at: number; signal?: AbortSignal; context: RetryContext }> = [];
  const fn = (context: RetryContext) => {
    calls.push({ attempt: context.attempt, at: clock.now(), context, ...(readSignal ? { signal: context.signal } : {}) });
    return new Promise<never>(() => {});
  };
  return { fn, calls };
}

describe('timeoutMs: the per-attempt deadline', () => {
  test('defaults to 30000 ms: an attempt is cut off at exactly 30 s, not before', async () => {
    const clock = new ManualClock();
    const { fn, calls } = hanging(clock);
    const result = observe(retryWithBackoff(fn, { clock, maxAttempts: 1 }));
    await clock.advance(29_999);
    expect(result.settled).toBe(false);
    expect(calls[0]!.signal!.aborted).toBe(false);
    await clock.advance(1);
    expect(result.rejected).toBe(true);
    expect(calls[0]!.signal!.aborted).toBe(true);
  });

  test("on expiry the attempt's signal aborts with a TimeoutError reason", async () => {
    const clock = new ManualClock();
    const { fn, calls } = hanging(clock);
    const aborts: unknown[] = [];
    const result = observe(
      retryWithBackoff(
        (ctx) => {
          ctx.signal.addEventListener('abort', () => aborts.push(ctx.signal.reason));
          return fn(ctx);
        },
        { clock, timeoutMs: 500, maxAttempts: 1 },
      ),
    );
    await clock.advance(500);
    const signal = calls[0]!.signal!;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(TimeoutError);
    expect(isTimeoutError(signal.reason)).toBe(true);
    expect((signal.reason as TimeoutError).timeoutMs).toBe(500);
    expect(aborts).toEqual([signal.reason]);
    expect(result.rejected).toBe(true);
  });

  test('a timed-out attempt fails with TimeoutError and is retried; exhausted → RetryExhaustedError with a TimeoutError cause', async () => {
    const clock = new ManualClock();
    const { fn, calls } = hanging(clock);
    const onRetry: Array<[number, unknown, number]> = [];
    const result = observe(
      retryWithBackoff(fn, {
        clock,
        timeoutMs: 1_000,
        jitter: 'none',
        initialDelayMs: 100,
        onRetry: (...args) => onRetry.push(args),
      }),
    );
    await clock.runAll();
    expect(calls.map((c) => c.at)).toEqual([0, 1_100, 2_300]);
    expect(onRetry.map(([a]) => a)).toEqual([1, 2]);
    expect(onRetry.every(([, e]) => e instanceof TimeoutError)).toBe(true);
    expect(result.error).toBeInstanceOf(RetryExhaustedError);
    const exhausted = result.error as RetryExhaustedError;
    expect(exhausted.attempts).toBe(3);
    expect(exhausted.cause).toBeInstanceOf(TimeoutError);
    expect((exhausted.cause as TimeoutError).timeoutMs).toBe(1_000);
    // The failing attempt's signal carries the very error the attempt failed with.
    expect(calls[2]!.signal!.reason).toBe(exhausted.cause);
    expect(clock.pendingTimers).toBe(0);
  });

  test('the attempt fails at its deadline even when fn ignores its signal', async () => {
    const clock = new ManualClock();
    const { fn, calls } = hanging(clock, false);
    const result = observe(retryWithBackoff(fn, { clock, timeoutMs: 200, maxAttempts: 2, initialDelayMs: 0 }));
    await clock.advance(199);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    await clock.advance(200);
    expect(result.rejected).toBe(true);
    expect((result.error as RetryExhaustedError).cause).toBeInstanceOf(TimeoutError);
  });

  test('a signal read after the deadline has passed is already aborted with the TimeoutError', async () => {
    const clock = new ManualClock();
    let context: RetryContext | undefined;
    const result = observe(
      retryWithBackoff(
        (ctx) => {
          context = ctx;
          return new Promise<never>(() => {});
        },
        { clock, timeoutMs: 100, maxAttempts: 1 },
      ),
    );
    await clock.advance(100);
    const late = context!.signal;
    expect(late.aborted).toBe(true);
    expect(late.reason).toBe((result.error as RetryExhaustedError).cause);
  });

  test('a late success after the deadline does not win: the attempt is already failed', async () => {
    const clock = new ManualClock();
    const resolvers: Array<(v: string) => void> = [];
    const result = observe(
      retryWithBackoff(() => new Promise<string>((resolve) => resolvers.push(resolve)), {
        clock,
        timeoutMs: 100,
        maxAttempts: 2,
        initialDelayMs: 1_000,
        jitter: 'none',
      }),
    );
    await clock.advance(100);
    resolvers[0]!('too late');
    await flush(clock);
    expect(result.settled).toBe(false);
    await clock.advance(1_000);
    expect(resolvers).toHaveLength(2);
    resolvers[1]!('second');
    await flush(clock);
    expect(result.value).toBe('second');
  });

  test('an attempt that settles before its deadline clears the deadline timer', async () => {
    const clock = new ManualClock();
    const result = observe(
      retryWithBackoff(
        () => new Promise<string>((resolve) => clock.setTimeout(() => resolve('done'), 400)),
        { clock, timeoutMs: 1_000 },
      ),
    );
    expect(clock.pendingTimers).toBe(2);
    await clock.advance(400);
    expect(result.value).toBe('done');
    expect(clock.pendingTimers).toBe(0);
  });

  test('an attempt that fails before its deadline clears the deadline timer; the next attempt gets a fresh deadline', async () => {
    const clock = new ManualClock();
    const starts: number[] = [];
    const result = observe(
      retryWithBackoff(
        ({ attempt }) => {
          starts.push(clock.now());
          if (attempt === 1) return Promise.reject(new Error('quick failure'));
          return new Promise<never>(() => {});
        },
        { clock, timeoutMs: 1_000, maxAttempts: 2, jitter: 'none', initialDelayMs: 100 },
      ),
    );
    await flush(clock);
    // Only the backoff timer is pending: the first attempt's deadline is gone.
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt()).toBe(100);
    await clock.advance(100);
    expect(starts).toEqual([0, 100]);
    await clock.advance(999);
    expect(result.settled).toBe(false);
    await clock.advance(1);
    expect((result.error as RetryExhaustedError).cause).toBeInstanceOf(TimeoutError);
  });

  test('timeoutMs: 0 disables the deadline: an attempt slower than 30 s is not cut off', async () => {
    const clock = new ManualClock();
    let signal: AbortSignal | undefined;
    const result = observe(
      retryWithBackoff(
        (ctx) => {
          signal = ctx.signal;
          return new Promise<string>((resolve) => clock.setTimeout(() => resolve('slow but fine'), 120_000));
        },
        { clock, timeoutMs: 0, maxAttempts: 1 },
      ),
    );
    // Only fn's own timer: no deadline timer.
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(119_999);
    expect(result.settled).toBe(false);
    expect(signal!.aborted).toBe(false);
    await clock.advance(1);
    expect(result.value).toBe('slow but fine');
  });

  test('timeoutMs: Infinity also means no deadline', async () => {
    const clock = new ManualClock();
    const result = observe(
      retryWithBackoff(() => new Promise<string>((resolve) => clock.setTimeout(() => resolve('ok'), 90_000)), {
        clock,
        timeoutMs: Number.POSITIVE_INFINITY,
        maxAttempts: 1,
      }),
    );
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(90_000);
    expect(result.value).toBe('ok');
  });

  test('a timeout counts as retryable for a custom shouldRetry that sees it as a TimeoutError', async () => {
    const clock = new ManualClock();
    const seen: unknown[] = [];
    const { fn } = hanging(clock, false);
    observe(retryWithBackoff(fn, { clock, timeoutMs: 50, maxAttempts: 2, shouldRetry: (e) => (seen.push(e), false) }));
    await clock.advance(50);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(TimeoutError);
  });
});

describe('a per-attempt deadline is told apart from the caller’s abort', () => {
  test('deadline: the attempt signal aborts with a TimeoutError, the caller signal stays untouched, and the call retries', async () => {
    const clock = new ManualClock();
    const caller = new AbortController();
    const { fn, calls } = hanging(clock);
    const result = observe(retryWithBackoff(fn, { clock, signal: caller.signal, timeoutMs: 100, initialDelayMs: 0 }));
    await clock.advance(100);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.signal!.reason).toBeInstanceOf(TimeoutError);
    expect(caller.signal.aborted).toBe(false);
    expect(calls[1]!.signal!.aborted).toBe(false);
    expect(result.settled).toBe(false);
    await clock.runAll();
    expect(result.error).toBeInstanceOf(RetryExhaustedError);
  });

  test("caller's abort: the attempt signal aborts with the caller's reason, no retry, rejects with that reason", async () => {
    const clock = new ManualClock();
    const caller = new AbortController();
    const { fn, calls } = hanging(clock);
    const result = observe(retryWithBackoff(fn, { clock, signal: caller.signal, timeoutMs: 100 }));
    await clock.advance(50);
    const reason = new Error('user navigated away');
    caller.abort(reason);
    await flush(clock);
    expect(calls[0]!.signal!.reason).toBe(reason);
    expect(isTimeoutError(calls[0]!.signal!.reason)).toBe(false);
    expect(result.error).toBe(reason);
    await clock.runAll();
    expect(calls).toHaveLength(1);
  });

  test('a caller abort whose reason is itself a TimeoutError is still an abort: not retried, rejected as is', async () => {
    const clock = new ManualClock();
    const caller = new AbortController();
    const { fn, calls } = hanging(clock);
    const result = observe(retryWithBackoff(fn, { clock, signal: caller.signal, timeoutMs: 10_000, initialDelayMs: 0 }));
    await clock.advance(10);
    const reason = new TimeoutError(10, 'the caller’s own budget ran out');
    caller.abort(reason);
    await flush(clock);
    expect(result.error).toBe(reason);
    await clock.runAll();
    expect(calls).toHaveLength(1);
  });

  test('the deadline firing after a caller abort changes nothing', async () => {
    const clock = new ManualClock();
    const caller = new AbortController();
    const { fn, calls } = hanging(clock);
    const result = observe(retryWithBackoff(fn, { clock, signal: caller.signal, timeoutMs: 100 }));
    caller.abort('stop');
    await clock.advance(1_000);
    expect(result.error).toBe('stop');
    expect(calls[0]!.signal!.reason).toBe('stop');
    expect(calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });
});
