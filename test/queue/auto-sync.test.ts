import { afterEach, describe, expect, test, vi } from 'vitest';
import { type Clock, ManualClock, NetworkError, OfflineQueue } from '../../src/index.js';
import { countingHandler, makeQueue } from './_helpers.js';

// Where the global scope has no events (Node), the test gives it an EventTarget for `online`.
function onlineTarget(): { fireOnline: () => void } {
  const g = globalThis as { addEventListener?: unknown; dispatchEvent?: (event: Event) => boolean };
  if (typeof g.addEventListener !== 'function') {
    const target = new EventTarget();
    vi.stubGlobal('addEventListener', target.addEventListener.bind(target));
    vi.stubGlobal('removeEventListener', target.removeEventListener.bind(target));
    return { fireOnline: () => target.dispatchEvent(new Event('online')) };
  }
  return { fireOnline: () => g.dispatchEvent!(new Event('online')) };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

describe('startAutoSync', () => {
  test('flushes at start, then every intervalMs on the clock, until stopped', async () => {
    const { handler, calls } = countingHandler();
    const { queue, clock } = makeQueue({ handler });
    await queue.add('restored');
    const stop = queue.startAutoSync({ intervalMs: 10_000 });
    await vi.waitFor(async () => expect(await queue.getItems()).toEqual([]));
    expect(calls.map((i) => i.payload)).toEqual(['restored']);
    await queue.add('later');
    await clock.advance(9_999);
    await settle();
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    await vi.waitFor(() => expect(calls.map((i) => i.payload)).toEqual(['restored', 'later']));
    stop();
    stop();
    await queue.add('after-stop');
    await clock.advance(60_000);
    await settle();
    expect(calls).toHaveLength(2);
    expect(clock.pendingTimers).toBe(0);
  });

  test('immediate: false waits for the first interval', async () => {
    const { handler, calls } = countingHandler();
    const { queue, clock } = makeQueue({ handler });
    await queue.add('x');
    const stop = queue.startAutoSync({ intervalMs: 1_000, immediate: false });
    await settle();
    expect(calls).toHaveLength(0);
    await clock.advance(1_000);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    stop();
  });

  test('the online event flushes at once, also items still backing off after network failures', async () => {
    const { fireOnline } = onlineTarget();
    const { handler, calls } = countingHandler((_item, call) => {
      if (call === 1) throw new NetworkError('offline');
      return 'ok';
    });
    const { queue } = makeQueue({ handler, retry: { initialDelayMs: 60_000 } });
    await queue.add('x');
    const stop = queue.startAutoSync({ intervalMs: 3_600_000 });
    await vi.waitFor(async () => expect((await queue.getItems())[0]).toMatchObject({ failures: 1, state: 'pending' }));
    expect(calls).toHaveLength(1);
    fireOnline();
    await vi.waitFor(async () => expect(await queue.getItems()).toEqual([]));
    expect(calls).toHaveLength(2);
    stop();
    await queue.add('y');
    fireOnline();
    await settle();
    expect(calls).toHaveLength(2);
  });

  test('the interval timer is unref\'d (it never holds a Node process open)', () => {
    const unref = vi.fn();
    const manual = new ManualClock();
    const clock: Clock = {
      now: () => manual.now(),
      setTimeout: (callback, ms) => {
        const id = manual.setTimeout(callback, ms);
        return { id, unref };
      },
      clearTimeout: (handle) => manual.clearTimeout((handle as { id: unknown }).id),
    };
    const queue = new OfflineQueue({ clock, handler: () => 'ok' });
    const stop = queue.startAutoSync({ intervalMs: 1_000, immediate: false });
    expect(unref).toHaveBeenCalledTimes(1);
    stop();
    expect(manual.pendingTimers).toBe(0);
  });

  test('flush failures go to the error event, and the interval keeps going', async () => {
    const { queue, clock } = makeQueue({ handler: () => 'ok' });
    const errors: unknown[] = [];
    queue.on('error', (error) => errors.push(error));
    let broken = true;
    const storage = (queue as unknown as { storage: { load: () => Promise<unknown> } }).storage;
    const load = storage.load.bind(storage);
    storage.load = () => (broken ? Promise.reject(new Error('storage down')) : load());
    const stop = queue.startAutoSync({ intervalMs: 1_000 });
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toMatchObject({ code: 'QUEUE_STORAGE_FAILED' });
    broken = false;
    await queue.add('x');
    await clock.advance(1_000);
    await vi.waitFor(async () => expect(await queue.getItems()).toEqual([]));
    stop();
  });

  test('refuses a bad intervalMs', () => {
    const queue = new OfflineQueue();
    for (const intervalMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5' as never]) {
      expect(() => queue.startAutoSync({ intervalMs })).toThrow(TypeError);
    }
  });
});
