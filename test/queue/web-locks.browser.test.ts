import { afterEach, describe, expect, test } from 'vitest';
import { IndexedDBQueueStorage, OfflineQueue } from '../../src/index.js';
import { deferred } from './_helpers.js';
import { closeAllTabs, deleteDatabases, eventually, openTab, uniqueDbName } from './_tabs.js';

const storages: IndexedDBQueueStorage[] = [];
afterEach(async () => {
  closeAllTabs();
  await Promise.all(storages.splice(0).map((s) => s.close()));
  await deleteDatabases();
});

function storageOn(dbName: string): IndexedDBQueueStorage {
  const storage = new IndexedDBQueueStorage(dbName);
  storages.push(storage);
  return storage;
}

describe('flush exclusion through navigator.locks (Chromium)', () => {
  test('a flush holds the Web Lock named after the storage; nothing else holds it when idle', async () => {
    const dbName = uniqueDbName();
    const queue = new OfflineQueue({ storage: storageOn(dbName) });
    await queue.add('x');
    const gate = deferred<void>();
    const done = queue.process(() => gate.promise);
    const name = `closed-loop:offline-queue:indexedDB:${dbName}`;
    await eventually(async () => expect((await navigator.locks.query()).held?.map((l) => l.name)).toContain(name));
    gate.resolve();
    await done;
    expect((await navigator.locks.query()).held?.map((l) => l.name) ?? []).not.toContain(name);
  });

  test('while another tab flushes: ifAvailable skips at once, a plain process() waits and then runs', async () => {
    const dbName = uniqueDbName();
    const tab = await openTab();
    const other = new tab.lib.OfflineQueue({ storage: new tab.lib.IndexedDBQueueStorage(dbName) });
    await other.add('slow');
    const gate = deferred<void>();
    const otherDone = other.process(() => gate.promise);
    const name = `closed-loop:offline-queue:indexedDB:${dbName}`;
    await eventually(async () => expect((await navigator.locks.query()).held?.map((l) => l.name)).toContain(name));

    const queue = new OfflineQueue({ storage: storageOn(dbName) });
    await queue.add('mine');
    const calls: unknown[] = [];
    expect(await queue.process((item) => calls.push(item.payload), { ifAvailable: true })).toMatchObject({ skipped: true, remaining: 2 });
    let finished = false;
    const waiting = queue.process((item) => calls.push(item.payload)).then((result) => {
      finished = true;
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(finished).toBe(false);
    expect(calls).toEqual([]);
    gate.resolve();
    await otherDone;
    // The other tab delivered everything due during its flush, its own item and ours.
    expect(await waiting).toMatchObject({ processed: 0, remaining: 0 });
    expect(calls).toEqual([]);
  });

  test('an opaque origin where navigator.locks refuses to work: the queue falls back to the in-process lock and still flushes', async () => {
    const queue = new OfflineQueue();
    const original = Object.getOwnPropertyDescriptor(Navigator.prototype, 'locks')!;
    Object.defineProperty(navigator, 'locks', {
      configurable: true,
      value: { request: () => Promise.reject(new DOMException('The request was denied.', 'SecurityError')) },
    });
    try {
      const refusing = new OfflineQueue();
      await refusing.add('x');
      expect(await refusing.process(() => 'ok')).toMatchObject({ processed: 1 });
    } finally {
      delete (navigator as { locks?: unknown }).locks;
      expect(Object.getOwnPropertyDescriptor(Navigator.prototype, 'locks')).toEqual(original);
    }
    await queue.add('y');
    expect(await queue.process(() => 'ok')).toMatchObject({ processed: 1 });
  });
});
