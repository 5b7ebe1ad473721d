import { describe, expect, test, vi } from 'vitest';
import { InProcessLock, ManualClock, MemoryQueueStorage, NetworkError, OfflineQueue, type QueueItem } from '../../src/index.js';
import { countingHandler, deferred } from './_helpers.js';

// A crash is modelled by a handler that never settles: the flush that called it is as good as dead.
// A new OfflineQueue on the same storage with a lock of its own stands for the reloaded page (a dead
// tab's Web Lock is released by the browser).
describe('a crash or reload mid-flush', () => {
  test('the item being sent stays stored, marked in flight, and the next queue sends it again with the same key', async () => {
    const storage = new MemoryQueueStorage();
    const clock = new ManualClock(5_000);
    const before = new OfflineQueue({ storage, clock, lock: new InProcessLock() });
    const sent: QueueItem[] = [];
    const first = await before.add({ order: 1 });
    const second = await before.add({ order: 2 });
    void before.process((item) => {
      sent.push(item);
      return new Promise(() => {}); // the page dies here
    });
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(sent.map((i) => i.id)).toEqual([first.id]);
    expect(await before.stats()).toMatchObject({ pending: 1, inFlight: 1 });

    const after = new OfflineQueue({ storage, clock, lock: new InProcessLock() });
    expect((await after.getItems()).map((i) => [i.id, i.state])).toEqual([
      [first.id, 'inFlight'],
      [second.id, 'pending'],
    ]);
    const { handler, calls } = countingHandler();
    const result = await after.process(handler);
    expect(result).toMatchObject({ processed: 2, remaining: 0 });
    expect(calls.map((i) => [i.id, i.idempotencyKey])).toEqual([
      [first.id, first.idempotencyKey],
      [second.id, second.idempotencyKey],
    ]);
    // An interrupted send got no answer we know of: it costs no attempt.
    expect(calls[0]!.attempts).toBe(0);
    expect(await storage.load()).toEqual([]);
  });

  test('an in-flight mark is resent at once, even though the item\'s backoff has not run out', async () => {
    const storage = new MemoryQueueStorage();
    const clock = new ManualClock(0);
    const before = new OfflineQueue({ storage, clock, lock: new InProcessLock(), retry: { jitter: 'none', initialDelayMs: 30_000 } });
    const item = await before.add('x');
    await before.process(() => {
      throw new NetworkError('offline');
    });
    // Back online: sent before its backoff ran out, and the page dies mid-send.
    void before.process(() => new Promise(() => {}), { networkRestored: true });
    await vi.waitFor(async () => expect((await before.getItems())[0]).toMatchObject({ state: 'inFlight', nextAttemptAt: 30_000 }));
    const after = new OfflineQueue({ storage, clock, lock: new InProcessLock() });
    const { handler, calls } = countingHandler();
    await after.process(handler);
    expect(calls.map((i) => i.id)).toEqual([item.id]);
  });

  test('with the same lock, a second queue waits for the hung flush instead of sending twice', async () => {
    const storage = new MemoryQueueStorage();
    const lock = new InProcessLock();
    const a = new OfflineQueue({ storage, lock });
    const b = new OfflineQueue({ storage, lock });
    await a.add('x');
    const gate = deferred<void>();
    const { handler, calls } = countingHandler(() => gate.promise);
    const first = a.process(handler);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    let secondDone = false;
    const second = b.process(handler).then((r) => {
      secondDone = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(secondDone).toBe(false);
    expect(calls).toHaveLength(1);
    gate.resolve();
    await first;
    expect(await second).toMatchObject({ processed: 0, remaining: 0 });
    expect(calls).toHaveLength(1);
  });

  test('remove() while the item is being sent: it is not stored again after a failed attempt', async () => {
    const { queue, item, gate } = await hung();
    await queue.remove(item.id);
    gate.reject(new Error('500-ish'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await queue.getItems()).toEqual([]);
    expect(await queue.getDeadLetters()).toEqual([]);
  });

  test('retry.timeoutMs bounds a handler that never settles: the attempt fails as a timeout (no attempt spent) and the flush goes on', async () => {
    const clock = new ManualClock(0);
    const queue = new OfflineQueue({ clock, retry: { timeoutMs: 5_000, jitter: 'none' } });
    await queue.add('hangs');
    await queue.add('fine');
    const signals: Array<AbortSignal | undefined> = [];
    const done = queue.process((item, { signal }) => {
      signals.push(signal);
      return item.payload === 'hangs' ? new Promise(() => {}) : 'ok';
    });
    await vi.waitFor(() => expect(signals).toHaveLength(1));
    await clock.advance(5_000);
    expect(await done).toMatchObject({ processed: 1, failed: 1, remaining: 1 });
    expect(signals[0]!.aborted).toBe(true);
    expect((await queue.getItems())[0]).toMatchObject({ payload: 'hangs', attempts: 0, lastError: { name: 'TimeoutError' } });
  });
});

async function hung() {
  const queue = new OfflineQueue({ lock: new InProcessLock() });
  const item = await queue.add('x');
  const gate = deferred<void>();
  const started = deferred<void>();
  void queue.process(() => {
    started.resolve();
    return gate.promise;
  });
  await started.promise;
  return { queue, item, gate };
}
