import { afterEach, describe, expect, test } from 'vitest';
import { isQueueStorageError, LocalStorageQueueStorage, OfflineQueue, type QueueItem } from '../../src/index.js';
import { closeAllTabs, deliveryLog, eventually, openTab } from './_tabs.js';

// Real Chromium localStorage (about 5 MB per origin, synchronous, shared by same-origin frames).
const keys = new Set<string>();
function uniqueKey(): string {
  const key = `closed-loop-test-${Math.random().toString(36).slice(2)}`;
  keys.add(key);
  return key;
}

afterEach(() => {
  closeAllTabs();
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const name = localStorage.key(i);
    if (name !== null && [...keys].some((key) => name.startsWith(key))) localStorage.removeItem(name);
  }
  keys.clear();
});

describe('LocalStorageQueueStorage in Chromium', () => {
  test('items survive a new storage object and queue on the same key, one localStorage entry each, and are delivered in order', async () => {
    const key = uniqueKey();
    const before = new OfflineQueue({ storage: new LocalStorageQueueStorage(key) });
    const a = await before.add({ sku: 'A', qty: 1 });
    const b = await before.add({ sku: 'B', qty: 2 }, { priority: 1, type: 'order' });
    const stored = Object.keys(localStorage).filter((name) => name.startsWith(`${key}:`)).sort();
    expect(stored).toEqual([`${key}:item:${a.id}`, `${key}:item:${b.id}`].sort());
    expect(JSON.parse(localStorage.getItem(`${key}:item:${a.id}`)!)).toMatchObject({ idempotencyKey: a.idempotencyKey, payload: { sku: 'A', qty: 1 } });

    const after = new OfflineQueue({ storage: new LocalStorageQueueStorage(key) });
    expect(await after.getItems()).toEqual([b, a]);
    const seen: QueueItem[] = [];
    expect(await after.process((item) => seen.push(item))).toMatchObject({ processed: 2 });
    expect(seen.map((i) => i.idempotencyKey)).toEqual([b.idempotencyKey, a.idempotencyKey]);
    expect(Object.keys(localStorage).filter((name) => name.startsWith(`${key}:`))).toEqual([]);
  });

  test('queues on different keys never see each other\'s items, even when one key extends the other', async () => {
    const key = uniqueKey();
    const short = new OfflineQueue({ storage: new LocalStorageQueueStorage(key) });
    const long = new OfflineQueue({ storage: new LocalStorageQueueStorage(`${key}:item:x`) });
    await short.add('short');
    await long.add('long');
    expect((await short.getItems()).map((i) => i.payload)).toEqual(['short']);
    expect((await long.getItems()).map((i) => i.payload)).toEqual(['long']);
    await short.clear();
    expect((await long.getItems()).map((i) => i.payload)).toEqual(['long']);
  });

  test('a corrupt entry (bad JSON) is dead-lettered as corrupt and kept; the other items are delivered', async () => {
    const key = uniqueKey();
    const queue = new OfflineQueue({ storage: new LocalStorageQueueStorage(key) });
    const good = await queue.add('good');
    localStorage.setItem(`${key}:item:broken`, '{"id":"broken","payload":');
    const dead: string[] = [];
    queue.on('deadLettered', (item, error) => {
      expect(isQueueStorageError(error)).toBe(true);
      dead.push(item.id);
    });
    const seen: string[] = [];
    expect(await queue.process((item) => seen.push(item.id))).toMatchObject({ processed: 1, deadLettered: 1 });
    expect(seen).toEqual([good.id]);
    expect(dead).toEqual(['broken']);
    expect(await queue.getDeadLetters()).toMatchObject([{ id: 'broken', reason: 'corrupt', payload: '{"id":"broken","payload":' }]);
    expect(localStorage.getItem(`${key}:item:broken`)).toBe('{"id":"broken","payload":');
  });

  test('a full localStorage: add rejects with QUEUE_QUOTA_EXCEEDED, nothing queued before is lost, and it works again once there is room', async () => {
    const key = uniqueKey();
    const queue = new OfflineQueue({ storage: new LocalStorageQueueStorage(key) });
    const kept = [await queue.add({ n: 1 }), await queue.add({ n: 2 })];
    const filler = `${key}-filler-`;
    const chunk = 'x'.repeat(256 * 1024);
    let i = 0;
    let full = false;
    try {
      for (; i < 200; i++) localStorage.setItem(`${filler}${i}`, chunk);
    } catch (error) {
      full = (error as DOMException).name === 'QuotaExceededError';
    }
    // Top up with small entries, so that not even a small item fits.
    try {
      for (let j = 0; j < 10_000; j++) localStorage.setItem(`${filler}small-${j}`, 'x'.repeat(256));
    } catch {
      // full
    }
    expect(full).toBe(true);

    const error = await queue.add({ n: 3, big: 'y'.repeat(1024) }).catch((e: unknown) => e);
    expect(isQueueStorageError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'QUEUE_QUOTA_EXCEEDED' });
    expect((error as Error).cause).toMatchObject({ name: 'QuotaExceededError' });
    expect(await queue.getItems()).toEqual(kept);

    for (let j = localStorage.length - 1; j >= 0; j--) {
      const name = localStorage.key(j);
      if (name?.startsWith(filler)) localStorage.removeItem(name);
    }
    await queue.add({ n: 3 });
    const seen: unknown[] = [];
    await queue.process((item) => seen.push(item.payload));
    expect(seen).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  test('another tab\'s writes reach this queue as changed events (the storage event)', async () => {
    const key = uniqueKey();
    const queue = new OfflineQueue({ storage: new LocalStorageQueueStorage(key) });
    let changes = 0;
    const off = queue.on('changed', () => changes++);
    const tab = await openTab();
    const other = new tab.lib.OfflineQueue({ storage: new tab.lib.LocalStorageQueueStorage(key) });
    await other.add('from the other tab');
    await eventually(() => expect(changes).toBe(1));
    off();
    await other.add('unheard');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(changes).toBe(1);
    expect((await queue.getItems()).map((i) => i.payload)).toEqual(['from the other tab', 'unheard']);
  });

  test('two tabs flushing one localStorage queue at once (Web Locks): 50 items, each delivered exactly once', async () => {
    const key = uniqueKey();
    const tabs = await Promise.all([openTab(), openTab()]);
    const log = deliveryLog();
    const queues = tabs.map((tab) => {
      const queue = new tab.lib.OfflineQueue({ storage: new tab.lib.LocalStorageQueueStorage(key) });
      queue.registerHandler('order', async (item) => {
        log.enter();
        log.record(item);
        await new Promise((resolve) => setTimeout(resolve, 1));
        log.leave();
      });
      return queue;
    });
    const added: QueueItem[] = [];
    for (let i = 0; i < 50; i++) added.push(await queues[i % 2]!.add({ n: i }, { type: 'order' }));
    await Promise.all(queues.flatMap((queue) => [queue.process(), queue.process()]));
    expect(log.byId.size).toBe(50);
    for (const item of added) expect(log.byId.get(item.id)).toEqual([item.idempotencyKey]);
    expect(log.mostAtOnce).toBe(1);
  });
});
