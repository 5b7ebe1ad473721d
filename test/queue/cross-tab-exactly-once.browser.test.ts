import { afterEach, describe, expect, test } from 'vitest';
import { IndexedDBQueueStorage, OfflineQueue, type QueueItem } from '../../src/index.js';
import { closeAllTabs, deleteDatabases, deliveryLog, eventually, openTab, type Tab, uniqueDbName } from './_tabs.js';

// Two "tabs" flushing one IndexedDB queue at the same time must deliver each item exactly once:
// one flush at a time across tabs (Web Locks, or a lease where Web Locks are missing), and an item
// leaves storage only after its delivery.
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  closeAllTabs();
  await deleteDatabases();
});

const ITEMS = 100;

/** A handler that takes a little real time per item, so two flushes would overlap if they could. */
function slowHandler(log: ReturnType<typeof deliveryLog>) {
  return async (item: QueueItem) => {
    log.enter();
    log.record(item);
    await new Promise((resolve) => setTimeout(resolve, 1));
    log.leave();
    return 'stored';
  };
}

function expectEachOnce(log: ReturnType<typeof deliveryLog>, added: ReadonlyArray<{ id: string; idempotencyKey: string }>) {
  expect(log.byId.size).toBe(added.length);
  for (const item of added) expect(log.byId.get(item.id), item.id).toEqual([item.idempotencyKey]);
  expect(log.calls).toBe(added.length);
  expect(log.mostAtOnce).toBe(1);
}

async function fillQueue(queues: Array<{ add: OfflineQueue['add'] }>): Promise<Array<{ id: string; idempotencyKey: string }>> {
  const added: Array<{ id: string; idempotencyKey: string }> = [];
  for (let i = 0; i < ITEMS; i++) added.push(await queues[i % queues.length]!.add({ n: i }, { type: 'order', priority: i % 3 }));
  return added;
}

describe('two tabs, one IndexedDB queue', () => {
  test('two OfflineQueues in one page on one database, sharing navigator.locks: 100 items, each delivered exactly once', async () => {
    const dbName = uniqueDbName();
    const storageA = new IndexedDBQueueStorage(dbName);
    const storageB = new IndexedDBQueueStorage(dbName);
    cleanups.push(() => storageA.close(), () => storageB.close());
    const log = deliveryLog();
    const a = new OfflineQueue({ storage: storageA, handlers: { order: slowHandler(log) } });
    const b = new OfflineQueue({ storage: storageB, handlers: { order: slowHandler(log) } });
    const added = await fillQueue([a, b]);
    const stopA = a.startAutoSync({ intervalMs: 5 });
    const stopB = b.startAutoSync({ intervalMs: 5 });
    await Promise.all([a.process(), b.process(), a.process(), b.process()]);
    await eventually(async () => expect(await a.getItems()).toEqual([]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    stopA();
    stopB();
    // Let a tick that already started finish before the storages close.
    await Promise.all([a.process(), b.process()]);
    expectEachOnce(log, added);
  });

  test('two same-origin iframes (two realms, two copies of the library) flushing at once: 100 items, each delivered exactly once', async () => {
    const dbName = uniqueDbName();
    const tabs = await Promise.all([openTab(), openTab()]);
    const log = deliveryLog();
    const queues = tabs.map((tab) => {
      const queue = new tab.lib.OfflineQueue({ storage: new tab.lib.IndexedDBQueueStorage(dbName) });
      queue.registerHandler('order', slowHandler(log));
      return queue;
    });
    expect(queues[0]).not.toBeInstanceOf(OfflineQueue); // really another copy of the library
    const added = await fillQueue(queues);
    const stops = queues.map((queue) => queue.startAutoSync({ intervalMs: 5 }));
    cleanups.push(...stops);
    await Promise.all(queues.flatMap((queue) => [queue.process(), queue.process()]));
    await eventually(async () => expect(await queues[0]!.getItems()).toEqual([]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expectEachOnce(log, added);
  });

  test('without Web Locks (deleted in both tabs), the default IndexedDB lease keeps flushes apart: 100 items, each exactly once', async () => {
    const dbName = uniqueDbName();
    const tabs = await Promise.all([openTab(), openTab()]);
    for (const tab of tabs) withoutWebLocks(tab);
    const log = deliveryLog();
    const queues = tabs.map((tab) => {
      const queue = new tab.lib.OfflineQueue({ storage: new tab.lib.IndexedDBQueueStorage(dbName) });
      queue.registerHandler('order', slowHandler(log));
      return queue;
    });
    const added = await fillQueue(queues);
    await Promise.all(queues.flatMap((queue) => [queue.process(), queue.process(), queue.process()]));
    await eventually(async () => expect(await queues[0]!.getItems()).toEqual([]));
    expectEachOnce(log, added);
  });

  test('a tab that dies mid-flush: the other tab takes over, resending only the interrupted item, with its key', async () => {
    const dbName = uniqueDbName();
    const [dying, survivor] = await Promise.all([openTab(), openTab()]);
    const log = deliveryLog();
    const doomed = new dying.lib.OfflineQueue({ storage: new dying.lib.IndexedDBQueueStorage(dbName) });
    const added = await fillQueue([doomed]);
    let hung!: () => void;
    const hangs = new Promise<void>((resolve) => {
      hung = resolve;
    });
    doomed.registerHandler('order', (item) => {
      log.record(item);
      if (log.calls === 10) {
        hung();
        return new Promise(() => {});
      }
      return 'stored';
    });
    void doomed.process();
    await hangs;
    const queue = new survivor.lib.OfflineQueue({ storage: new survivor.lib.IndexedDBQueueStorage(dbName) });
    queue.registerHandler('order', slowHandler(log));
    // While the dying tab holds the lock, the survivor cannot flush.
    expect(await queue.process(undefined, { ifAvailable: true })).toMatchObject({ skipped: true, remaining: ITEMS - 9 });
    dying.close();
    await eventually(async () => expect(await queue.process()).toMatchObject({ remaining: 0 }));
    expect(log.byId.size).toBe(ITEMS);
    const twice = [...log.byId].filter(([, keys]) => keys.length > 1);
    expect(twice).toHaveLength(1);
    const [id, keys] = twice[0]!;
    expect(keys).toEqual([added.find((a) => a.id === id)!.idempotencyKey, added.find((a) => a.id === id)!.idempotencyKey]);
  });
});

function withoutWebLocks(tab: Tab): void {
  Object.defineProperty(tab.window.navigator, 'locks', { value: undefined, configurable: true });
}
