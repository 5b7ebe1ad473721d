import { describe, expect, test, vi } from 'vitest';
import { type Clock, ManualClock } from '../../src/index.js';

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

describe('ManualClock time', () => {
  test('starts at 0 or at the given epoch ms, and moves only when advanced', async () => {
    expect(new ManualClock().now()).toBe(0);
    const clock = new ManualClock(1_700_000_000_000);
    expect(clock.now()).toBe(1_700_000_000_000);
    await clock.advance(250);
    expect(clock.now()).toBe(1_700_000_000_250);
  });

  test('never moves backwards', async () => {
    const clock = new ManualClock(100);
    await clock.advance(-50);
    expect(clock.now()).toBe(100);
  });

  test('is a Clock', () => {
    const clock: Clock = new ManualClock();
    expect(typeof clock.now).toBe('function');
    expect(typeof clock.setTimeout).toBe('function');
    expect(typeof clock.clearTimeout).toBe('function');
  });
});

describe('ManualClock timers', () => {
  test('fire only when advanced to their due time, at that time', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 100);
    await clock.advance(99);
    expect(seen).toEqual([]);
    await clock.advance(1);
    expect(seen).toEqual([100]);
    await clock.advance(1_000);
    expect(seen).toEqual([100]);
  });

  test('fire in due-time order, and in scheduling order for equal times', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`c@${clock.now()}`), 300);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 100);
    clock.setTimeout(() => seen.push(`b1@${clock.now()}`), 200);
    clock.setTimeout(() => seen.push(`b2@${clock.now()}`), 200);
    await clock.advance(1_000);
    expect(seen).toEqual(['a@100', 'b1@200', 'b2@200', 'c@300']);
    expect(clock.now()).toBe(1_000);
  });

  test('a zero, negative or non-finite delay fires on the next advance, even advance(0)', async () => {
    const clock = new ManualClock(10);
    const fired = vi.fn();
    clock.setTimeout(fired, 0);
    clock.setTimeout(fired, -5);
    clock.setTimeout(fired, Number.NaN);
    expect(fired).not.toHaveBeenCalled();
    await clock.advance(0);
    expect(fired).toHaveBeenCalledTimes(3);
    expect(clock.now()).toBe(10);
  });

  test('clearTimeout cancels a timer; unknown handles are ignored', async () => {
    const clock = new ManualClock();
    const kept = vi.fn();
    const cancelled = vi.fn();
    clock.setTimeout(kept, 10);
    const handle = clock.setTimeout(cancelled, 10);
    expect(clock.pendingTimers).toBe(2);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    clock.clearTimeout(12345);
    clock.clearTimeout(undefined);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(10);
    expect(kept).toHaveBeenCalledTimes(1);
    expect(cancelled).not.toHaveBeenCalled();
  });

  test('a timer can cancel another that is due in the same advance', async () => {
    const clock = new ManualClock();
    const later = vi.fn();
    clock.setTimeout(() => clock.clearTimeout(handle), 10);
    const handle = clock.setTimeout(later, 20);
    await clock.advance(100);
    expect(later).not.toHaveBeenCalled();
  });

  test('pendingTimers and nextTimerAt report what is waiting', async () => {
    const clock = new ManualClock(1_000);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextTimerAt()).toBeUndefined();
    clock.setTimeout(() => undefined, 500);
    clock.setTimeout(() => undefined, 200);
    expect(clock.pendingTimers).toBe(2);
    expect(clock.nextTimerAt()).toBe(1_200);
    await clock.advance(200);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt()).toBe(1_500);
    await clock.advance(300);
    expect(clock.pendingTimers).toBe(0);
  });

  test('handles are distinct', () => {
    const clock = new ManualClock();
    const a = clock.setTimeout(() => undefined, 1);
    const b = clock.setTimeout(() => undefined, 1);
    expect(a).not.toBe(b);
  });
});

describe('ManualClock.advance lets promise chains run', () => {
  test('work a timer starts can schedule its own timers, which fire within the same advance', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(clock, 100);
        seen.push(clock.now());
      }
      return 'done';
    })();
    await clock.advance(250);
    expect(seen).toEqual([100, 200]);
    expect(clock.now()).toBe(250);
    await clock.advance(50);
    expect(seen).toEqual([100, 200, 300]);
    await expect(loop).resolves.toBe('done');
  });

  test('timers scheduled after several awaits and an async function boundary still fire in time', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const deep = async () => {
      await Promise.resolve();
      // eslint-disable-next-line @typescript-eslint/await-thenable -- awaiting a plain value is one of the shapes under test
      await null;
      await new Promise<void>((r) => queueMicrotask(r));
    };
    void (async () => {
      await sleep(clock, 10);
      await deep();
      await sleep(clock, 10);
      seen.push(clock.now());
    })();
    await clock.advance(20);
    expect(seen).toEqual([20]);
  });

  test('a timer scheduled before advance by a pending promise chain is seen', async () => {
    const clock = new ManualClock();
    const fired = vi.fn();
    void Promise.resolve().then(() => clock.setTimeout(fired, 5));
    await clock.advance(5);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  test('promise callbacks queued by a timer have run when advance resolves', async () => {
    const clock = new ManualClock();
    let settled = false;
    void sleep(clock, 10).then(() => {
      settled = true;
    });
    await clock.advance(10);
    expect(settled).toBe(true);
  });
});

describe('ManualClock.runAll', () => {
  test('fires every pending timer and those they start, ending at the last one', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    void (async () => {
      await sleep(clock, 1_000);
      seen.push(clock.now());
      await sleep(clock, 5_000);
      seen.push(clock.now());
    })();
    clock.setTimeout(() => seen.push(clock.now()), 300);
    await clock.runAll();
    expect(seen).toEqual([300, 1_000, 6_000]);
    expect(clock.now()).toBe(6_000);
    expect(clock.pendingTimers).toBe(0);
  });

  test('with nothing pending it returns at once and leaves time alone', async () => {
    const clock = new ManualClock(42);
    await clock.runAll();
    expect(clock.now()).toBe(42);
  });

  test('stops after maxTimers when a timer keeps rescheduling itself', async () => {
    const clock = new ManualClock();
    let fired = 0;
    const tick = () => {
      fired++;
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    await clock.runAll(10);
    expect(fired).toBe(10);
    expect(clock.now()).toBe(1_000);
    expect(clock.pendingTimers).toBe(1);
  });

  test('stops after maxTimers even when the timer reschedules itself with no delay', async () => {
    const clock = new ManualClock();
    let fired = 0;
    const tick = () => {
      fired++;
      clock.setTimeout(tick, 0);
    };
    clock.setTimeout(tick, 0);
    await clock.runAll(25);
    expect(fired).toBe(25);
    expect(clock.now()).toBe(0);
  });
});
