import { describe, expect, test, vi } from 'vitest';
import { HttpError, ManualClock, type RetryContext, retryWithBackoff } from '../../src/index.js';
import { alwaysFailing, flush, observe } from './helpers.js';

function recorder(clock: ManualClock, behaviour: (ctx: RetryContext) => Promise<unknown>) {
  const calls: Array<{ attempt: number; at: number; ctx: RetryContext }> = [];
  const fn = (ctx: RetryContext) => {
    calls.push({ attempt: ctx.attempt, at: clock.now(), ctx });
    return behaviour(ctx);
  };
  return { fn, calls };
}

const never = () => new Promise<never>(() => {});

describe('signal: an already-aborted signal', () => {
  test('fn never runs and the call rejects with signal.reason', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const reason = new Error('cancelled before start');
    controller.abort(reason);
    const fn = vi.fn(() => 'never');
    await expect(retryWithBackoff(fn, { clock, signal: controller.signal })).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
  });

  test('with the default reason (an AbortError DOMException)', async () => {
    const controller = new AbortController();
    controller.abort();
    const fn = vi.fn(() => 'never');
    await expect(retryWithBackoff(fn, { clock: new ManualClock(), signal: controller.signal })).rejects.toBe(
      controller.signal.reason,
    );
    expect((controller.signal.reason as DOMException).name).toBe('AbortError');
    expect(fn).not.toHaveBeenCalled();
  });

  test('AbortSignal.abort(reason) with a non-Error reason rejects with that very value', async () => {
    const fn = vi.fn(() => 'never');
    await expect(retryWithBackoff(fn, { clock: new ManualClock(), signal: AbortSignal.abort('why') })).rejects.toBe('why');
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('signal: abort during an attempt', () => {
  test('rejects promptly with signal.reason even though fn ignores the signal, and no further attempt starts', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const { fn, calls } = recorder(clock, never);
    const result = observe(retryWithBackoff(fn, { clock, signal: controller.signal, initialDelayMs: 0 }));
    await clock.advance(1_000);
    expect(result.settled).toBe(false);
    const reason = new Error('stop');
    controller.abort(reason);
    await flush(clock);
    expect(result.rejected).toBe(true);
    expect(result.error).toBe(reason);
    expect(clock.now()).toBe(1_000);
    await clock.runAll();
    expect(calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  test('also with timeoutMs: 0 (no deadline to fall back on)', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const { fn, calls } = recorder(clock, never);
    const result = observe(retryWithBackoff(fn, { clock, signal: controller.signal, timeoutMs: 0 }));
    controller.abort('bye');
    await flush(clock);
    expect(result.error).toBe('bye');
    await clock.runAll();
    expect(calls).toHaveLength(1);
  });

  test("the attempt's signal is aborted with the caller's reason", async () => {
    for (const timeoutMs of [0, 30_000]) {
      const clock = new ManualClock();
      const controller = new AbortController();
      const seen: unknown[] = [];
      const { fn, calls } = recorder(clock, (ctx) => {
        ctx.signal.addEventListener('abort', () => seen.push(ctx.signal.reason));
        return never();
      });
      const result = observe(retryWithBackoff(fn, { clock, signal: controller.signal, timeoutMs }));
      const reason = { why: 'caller' };
      controller.abort(reason);
      await flush(clock);
      expect(calls[0]!.ctx.signal.aborted).toBe(true);
      expect(calls[0]!.ctx.signal.reason).toBe(reason);
      expect(seen).toEqual([reason]);
      expect(result.error).toBe(reason);
    }
  });

  test('an attempt that rejects because of the abort (as fetch does) still rejects the call with signal.reason', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const { fn, calls } = recorder(
      clock,
      (ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => reject(new DOMException('The operation was aborted.', 'AbortError')));
        }),
    );
    const result = observe(retryWithBackoff(fn, { clock, signal: controller.signal, shouldRetry: () => true }));
    const reason = new Error('mine');
    controller.abort(reason);
    await flush(clock);
    expect(result.error).toBe(reason);
    await clock.runAll();
    expect(calls).toHaveLength(1);
  });

  test.each([1, 2])(
    'an abort raised synchronously inside attempt %i rejects promptly and aborts the signal fn already holds',
    async (abortIn) => {
      for (const timeoutMs of [0, 30_000]) {
        const clock = new ManualClock();
        const controller = new AbortController();
        const held: AbortSignal[] = [];
        const { fn, calls } = recorder(clock, (ctx) => {
          held.push(ctx.signal);
          if (ctx.attempt === abortIn) {
            controller.abort('sync abort');
            return never();
          }
          return Promise.reject(new Error('retry me'));
        });
        const result = observe(retryWithBackoff(fn, { clock, signal: controller.signal, timeoutMs, initialDelayMs: 0 }));
        await flush(clock);
        expect(result.error).toBe('sync abort');
        expect(held[abortIn - 1]!.aborted).toBe(true);
        expect(held[abortIn - 1]!.reason).toBe('sync abort');
        await clock.runAll();
        expect(calls).toHaveLength(abortIn);
      }
    },
  );

  test('a success arriving after the abort does not resolve the call', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    let resolve!: (v: string) => void;
    const result = observe(
      retryWithBackoff(() => new Promise<string>((r) => (resolve = r)), { clock, signal: controller.signal }),
    );
    controller.abort('gone');
    resolve('late');
    await flush(clock);
    expect(result.error).toBe('gone');
  });
});

describe('signal: abort during a backoff wait', () => {
  test('settles at once with signal.reason, clears the wait, and no attempt starts afterwards', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const { fn, calls } = alwaysFailing(clock);
    const result = observe(
      retryWithBackoff(fn, { clock, signal: controller.signal, jitter: 'none', initialDelayMs: 10_000, maxAttempts: 5 }),
    );
    await clock.advance(3_000);
    expect(calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(1);
    const reason = new Error('abort in backoff');
    controller.abort(reason);
    await flush(clock);
    expect(result.rejected).toBe(true);
    expect(result.error).toBe(reason);
    expect(clock.now()).toBe(3_000);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(1_000_000);
    expect(calls).toHaveLength(1);
  });

  test('also during a Retry-After wait', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const { fn, calls } = recorder(clock, () => Promise.reject(new HttpError(503, { retryAfterMs: 50_000 })));
    const result = observe(retryWithBackoff(fn, { clock, signal: controller.signal }));
    await clock.advance(100);
    controller.abort('enough');
    await flush(clock);
    expect(result.error).toBe('enough');
    await clock.runAll();
    expect(calls).toHaveLength(1);
  });

  test('an abort from inside onRetry stops the run before the wait', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const { fn, calls } = alwaysFailing(clock);
    const result = observe(
      retryWithBackoff(fn, {
        clock,
        signal: controller.signal,
        jitter: 'none',
        initialDelayMs: 10_000,
        onRetry: () => controller.abort('from onRetry'),
      }),
    );
    await flush(clock);
    expect(result.error).toBe('from onRetry');
    expect(clock.now()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    await clock.runAll();
    expect(calls).toHaveLength(1);
  });

  test('an abort while an async shouldRetry is pending settles promptly; no wait and no attempt follow', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const { fn, calls } = alwaysFailing(clock);
    let decide!: (retry: boolean) => void;
    const onRetry = vi.fn();
    const result = observe(
      retryWithBackoff(fn, {
        clock,
        signal: controller.signal,
        jitter: 'none',
        initialDelayMs: 10_000,
        onRetry,
        shouldRetry: () => new Promise<boolean>((resolve) => (decide = resolve)),
      }),
    );
    await flush(clock);
    controller.abort('while deciding');
    await flush(clock);
    expect(result.error).toBe('while deciding');
    decide(true);
    await flush(clock);
    expect(onRetry).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
    await clock.runAll();
    expect(calls).toHaveLength(1);
  });
});

describe('signal: housekeeping', () => {
  test('the listener on the caller signal is removed once the call settles (no leak across calls)', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const add = vi.spyOn(controller.signal, 'addEventListener');
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    for (let i = 0; i < 5; i++) {
      let n = 0;
      const result = observe(
        retryWithBackoff(
          () => {
            n++;
            if (n < 3) throw new Error('again');
            return 'ok';
          },
          { clock, signal: controller.signal, initialDelayMs: 10 },
        ),
      );
      await clock.runAll();
      expect(result.value).toBe('ok');
    }
    // One listener per call at most, whatever the number of attempts, and every one removed again.
    expect(add.mock.calls.length).toBeLessThanOrEqual(5);
    expect(remove.mock.calls.length).toBe(add.mock.calls.length);
    for (const [i, call] of add.mock.calls.entries()) expect(remove.mock.calls[i]![1]).toBe(call[1]);
  });

  test('aborting after the call has settled changes nothing', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const result = observe(retryWithBackoff(() => 'done', { clock, signal: controller.signal }));
    await flush(clock);
    controller.abort('late');
    await flush(clock);
    expect(result.value).toBe('done');
  });
});
