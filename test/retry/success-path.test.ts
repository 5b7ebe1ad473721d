import { afterEach, describe, expect, test, vi } from 'vitest';
import { ManualClock, type RetryContext, retryWithBackoff } from '../../src/index.js';
import { flush, observe } from './helpers.js';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** Replaces the global AbortController with a subclass that counts constructions. */
function countAbortControllers() {
  const Original = globalThis.AbortController;
  const counter = { created: 0 };
  class Counting extends Original {
    constructor() {
      super();
      counter.created++;
    }
  }
  vi.stubGlobal('AbortController', Counting);
  return counter;
}

describe('the success path', () => {
  test('fn receives { attempt: 1, signal } and the call resolves with its value', async () => {
    const clock = new ManualClock();
    const value = { id: 1 };
    let context: RetryContext | undefined;
    const onRetry = vi.fn();
    const shouldRetry = vi.fn(() => true);
    const result = await retryWithBackoff(
      (ctx) => {
        context = ctx;
        return Promise.resolve(value);
      },
      { clock, onRetry, shouldRetry },
    );
    expect(result).toBe(value);
    expect(context!.attempt).toBe(1);
    expect(context!.signal).toBeInstanceOf(AbortSignal);
    expect(context!.signal.aborted).toBe(false);
    expect(onRetry).not.toHaveBeenCalled();
    expect(shouldRetry).not.toHaveBeenCalled();
  });

  test('a sync fn and a thenable fn work too', async () => {
    const clock = new ManualClock();
    await expect(retryWithBackoff(() => 42, { clock })).resolves.toBe(42);
    await expect(retryWithBackoff(() => undefined, { clock })).resolves.toBeUndefined();
    const thenable: PromiseLike<string> = { then: (resolve) => Promise.resolve('via thenable').then(resolve) };
    await expect(retryWithBackoff(() => thenable, { clock })).resolves.toBe('via thenable');
  });

  test('a success after failures resolves with that value and attempts count up from 1', async () => {
    const clock = new ManualClock();
    const attempts: number[] = [];
    const result = observe(
      retryWithBackoff(
        ({ attempt }) => {
          attempts.push(attempt);
          if (attempt < 3) throw new Error(`fail ${attempt}`);
          return `ok on ${attempt}`;
        },
        { clock, maxAttempts: 5 },
      ),
    );
    await clock.runAll();
    expect(result.value).toBe('ok on 3');
    expect(attempts).toEqual([1, 2, 3]);
  });

  test('each attempt gets its own context', async () => {
    const clock = new ManualClock();
    const contexts: RetryContext[] = [];
    observe(
      retryWithBackoff(
        (ctx) => {
          contexts.push(ctx);
          expect(ctx.signal.aborted).toBe(false);
          if (ctx.attempt < 2) throw new Error('x');
          return 'ok';
        },
        { clock },
      ),
    );
    await clock.runAll();
    expect(contexts).toHaveLength(2);
    expect(contexts[0]).not.toBe(contexts[1]);
    expect(contexts[0]!.signal).not.toBe(contexts[1]!.signal);
  });

  test('with timeoutMs: 0 no timer is started on the clock, during or after the attempt', async () => {
    const clock = new ManualClock();
    const setTimeoutSpy = vi.spyOn(clock, 'setTimeout');
    let during = -1;
    const result = observe(
      retryWithBackoff(
        async ({ signal }) => {
          during = clock.pendingTimers;
          expect(signal.aborted).toBe(false);
          return 'fast';
        },
        { clock, timeoutMs: 0 },
      ),
    );
    await flush(clock);
    expect(result.value).toBe('fast');
    expect(during).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(setTimeoutSpy).not.toHaveBeenCalled();
  });

  test('with the default deadline one timer runs during the attempt and is cleared after success', async () => {
    const clock = new ManualClock();
    const clearSpy = vi.spyOn(clock, 'clearTimeout');
    let during = -1;
    let deadlineAt: number | undefined;
    const result = observe(
      retryWithBackoff(
        async () => {
          during = clock.pendingTimers;
          deadlineAt = clock.nextTimerAt();
          return 'ok';
        },
        { clock },
      ),
    );
    await flush(clock);
    expect(result.value).toBe('ok');
    expect(during).toBe(1);
    expect(deadlineAt).toBe(30_000);
    expect(clock.pendingTimers).toBe(0);
    expect(clearSpy).toHaveBeenCalledTimes(1);
  });

  test('a deadline cleared after success never fires later', async () => {
    const clock = new ManualClock();
    let context: RetryContext | undefined;
    const result = observe(
      retryWithBackoff(
        (ctx) => {
          context = ctx;
          return 'ok';
        },
        { clock, timeoutMs: 100 },
      ),
    );
    await clock.advance(1_000);
    expect(result.value).toBe('ok');
    expect(context!.signal.aborted).toBe(false);
  });

  test('an attempt that never reads its signal gets no AbortController', async () => {
    const counter = countAbortControllers();
    const clock = new ManualClock();
    for (const timeoutMs of [0, 30_000]) {
      const result = observe(retryWithBackoff(() => 'ok', { clock, timeoutMs }));
      await flush(clock);
      expect(result.value).toBe('ok');
    }
    // Also after failed attempts, and with a caller signal (created before counting starts).
    const caller = new globalThis.AbortController();
    const before = counter.created;
    let n = 0;
    const result = observe(
      retryWithBackoff(
        () => {
          if (++n < 3) throw new Error('again');
          return 'ok';
        },
        { clock, signal: caller.signal, initialDelayMs: 1 },
      ),
    );
    await clock.runAll();
    expect(result.value).toBe('ok');
    expect(counter.created - before).toBe(0);
    expect(counter.created).toBe(1); // the caller's own controller only
  });

  test('an attempt that reads its signal gets exactly one AbortController (so the check above can see them)', async () => {
    const counter = countAbortControllers();
    const clock = new ManualClock();
    const result = observe(
      retryWithBackoff(
        ({ signal }) => {
          expect(signal.aborted).toBe(false);
          return 'ok';
        },
        { clock },
      ),
    );
    await flush(clock);
    expect(result.value).toBe('ok');
    expect(counter.created).toBe(1);
  });

  test('the success path calls no AbortController abort(), even when fn reads its signal', async () => {
    const abortSpy = vi.spyOn(AbortController.prototype, 'abort');
    const clock = new ManualClock();
    for (const timeoutMs of [0, 30_000]) {
      let n = 0;
      const result = observe(
        retryWithBackoff(
          (ctx) => {
            expect(ctx.signal.aborted).toBe(false); // reading it makes the attempt's controller
            if (++n < 2) return Promise.reject(new Error('once'));
            return 'ok';
          },
          { clock, timeoutMs, initialDelayMs: 5 },
        ),
      );
      await clock.runAll();
      expect(result.value).toBe('ok');
    }
    expect(abortSpy).not.toHaveBeenCalled();
  });

  test('abort() is observable by the spy above: a deadline does call it', async () => {
    const abortSpy = vi.spyOn(AbortController.prototype, 'abort');
    const clock = new ManualClock();
    observe(
      retryWithBackoff(
        (ctx) => {
          expect(ctx.signal.aborted).toBe(false); // reading it makes the attempt's controller
          return new Promise<never>(() => {});
        },
        { clock, timeoutMs: 10, maxAttempts: 1 },
      ),
    );
    await clock.advance(10);
    expect(abortSpy).toHaveBeenCalledTimes(1);
  });

  test('the success path adds no abort listener anywhere when no caller signal is given', async () => {
    const addSpy = vi.spyOn(EventTarget.prototype, 'addEventListener');
    const clock = new ManualClock();
    for (const timeoutMs of [0, 30_000]) {
      const result = observe(
        retryWithBackoff(
          (ctx) => {
            expect(ctx.signal.aborted).toBe(false); // reading it makes the attempt's controller
            return Promise.resolve('ok');
          },
          { clock, timeoutMs },
        ),
      );
      await flush(clock);
      expect(result.value).toBe('ok');
    }
    const onSignals = addSpy.mock.contexts.filter((target) => target instanceof AbortSignal);
    expect(onSignals).toEqual([]);
  });

  test('works without an injected clock (the real one) when no wait is needed', async () => {
    let n = 0;
    const value = await retryWithBackoff(
      () => {
        if (++n < 3) throw new Error('again');
        return 'ok';
      },
      { initialDelayMs: 0 },
    );
    expect(value).toBe('ok');
    expect(n).toBe(3);
  });

  test('no real timer is started behind the clock for a deadline', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const clock = new ManualClock();
    const result = observe(retryWithBackoff(() => Promise.resolve('ok'), { clock, timeoutMs: 12_345 }));
    await flush(clock);
    expect(result.value).toBe('ok');
    expect(spy.mock.calls.filter((args) => args[1] === 12_345)).toEqual([]);
  });
});
