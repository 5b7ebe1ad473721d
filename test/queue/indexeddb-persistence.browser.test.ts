import { openDB } from 'idb';
import { afterEach, describe, expect, test } from 'vitest';
import { IndexedDBQueueStorage, OfflineQueue, type QueueItem } from '../../src/index.js';
import { closeAllTabs, deleteDatabases, deliveryLog, eventually, openTab, uniqueDbName } from './_tabs.js';

// Real Chromium IndexedDB, through idb.
const storages: IndexedDBQueueStorage[] = [];
function storageOn(dbName: string): IndexedDBQueueStorage {
  const storage = new IndexedDBQueueStorage(dbName);
  storages.push(storage);
  return storage;
}

afterEach(async () => {
  closeAllTabs();
  await Promise.all(storages.splice(0).map((s) => s.close()));
  await deleteDatabases();
});

describe('IndexedDBQueueStorage in Chromium', () => {
  test('items survive closing the storage: a new storage and queue on the same database deliver them, same keys, in order', async () => {
    const dbName = uniqueDbName();
    const first = storageOn(dbName);
    const before = new OfflineQueue({ storage: first });
    const added: QueueItem[] = [];
    added.push(await before.add({ when: new Date(0), tags: new Set(['a']) }, { type: 'order' }));
    added.push(await before.add('urgent', { priority: 9 }));
    added.push(await before.add({ n: 3 }, { idempotencyKey: 'my-own-key' }));
    await first.close();

    const reopened = storageOn(dbName);
    const after = new OfflineQueue({ storage: reopened });
    const restored = await after.getItems();
    expect(restored.map((i) => [i.id, i.idempotencyKey, i.type])).toEqual([
      [added[1]!.id, added[1]!.idempotencyKey, undefined],
      [added[0]!.id, added[0]!.idempotencyKey, 'order'],
      [added[2]!.id, 'my-own-key', undefined],
    ]);
    // Structured clone, not JSON: a Date and a Set come back as themselves.
    expect(restored[1]!.payload).toEqual({ when: new Date(0), tags: new Set(['a']) });

    const seen: QueueItem[] = [];
    const result = await after.process((item) => {
      seen.push(item);
    });
    expect(result).toMatchObject({ processed: 3, remaining: 0 });
    expect(seen.map((i) => i.idempotencyKey)).toEqual([added[1]!.idempotencyKey, added[0]!.idempotencyKey, 'my-own-key']);
    expect(await reopened.load()).toEqual([]);
  });

  test('when add resolves, the item is committed: another connection to the database reads it at once', async () => {
    const dbName = uniqueDbName();
    const queue = new OfflineQueue({ storage: storageOn(dbName) });
    const item = await queue.add({ sku: 'A-1' });
    const other = await openDB(dbName);
    try {
      expect(await other.get('items', item.id)).toMatchObject({ id: item.id, idempotencyKey: item.idempotencyKey, state: 'pending' });
    } finally {
      other.close();
    }
  });

  test('a page reload mid-flush: the item in flight is sent again with the same key by the reloaded page; nothing is lost or sent twice otherwise', async () => {
    const dbName = uniqueDbName();
    const tab = await openTab();
    const log = deliveryLog();
    let firstCall!: () => void;
    const firstCallMade = new Promise<void>((resolve) => {
      firstCall = resolve;
    });
    {
      const { OfflineQueue: TabQueue, IndexedDBQueueStorage: TabStorage } = tab.lib;
      const queue = new TabQueue({ storage: new TabStorage(dbName) });
      for (let i = 0; i < 5; i++) await queue.add({ n: i }, { type: 'order' });
      queue.registerHandler('order', (item) => {
        log.record(item);
        firstCall();
        return new Promise(() => {}); // the page is reloaded while this request is out
      });
      void queue.process();
      await firstCallMade;
      await eventually(async () => expect((await queue.stats()).inFlight).toBe(1));
    }
    const [interrupted] = [...log.byId.keys()];

    // The reload kills the realm: its lock is released and its flush never resumes.
    const lib = await tab.reload();
    const queue = new lib.OfflineQueue({ storage: new lib.IndexedDBQueueStorage(dbName) });
    const restored = await queue.getItems();
    expect(restored).toHaveLength(5);
    expect(restored[0]).toMatchObject({ id: interrupted, state: 'inFlight' });
    queue.registerHandler('order', (item) => {
      log.record(item);
      return 'stored';
    });
    expect(await queue.process()).toMatchObject({ processed: 5, remaining: 0 });
    await (queue as unknown as { storage: IndexedDBQueueStorage }).storage.close();

    expect(log.byId.size).toBe(5);
    for (const [id, keys] of log.byId) {
      expect(keys.length, id).toBe(id === interrupted ? 2 : 1);
      expect(new Set(keys).size).toBe(1);
    }
  });

  test('an entry that is not a queue item (written by something else) is listed as a corrupt dead letter; the others are delivered', async () => {
    const dbName = uniqueDbName();
    const storage = storageOn(dbName);
    const queue = new OfflineQueue({ storage });
    const good = await queue.add('good');
    const raw = await openDB(dbName);
    await raw.put('items', { hello: 'world' }, 'stray');
    await raw.put('items', 'just a string', 'stray-2');
    raw.close();
    const dead: string[] = [];
    queue.on('deadLettered', (item) => dead.push(item.id));
    const seen: string[] = [];
    expect(await queue.process((item) => seen.push(item.id))).toMatchObject({ processed: 1, deadLettered: 2 });
    expect(seen).toEqual([good.id]);
    expect(dead.sort()).toEqual(['stray', 'stray-2']);
    const letters = await queue.getDeadLetters();
    expect(letters.map((l) => [l.id, l.reason, l.payload])).toEqual(
      expect.arrayContaining([
        ['stray', 'corrupt', { hello: 'world' }],
        ['stray-2', 'corrupt', 'just a string'],
      ]),
    );
    expect((await storage.load()).map((e) => e.id).sort()).toEqual(['stray', 'stray-2']);
  });

  test('an open storage lets go of its connection when another tab upgrades the database, and a failed open is not remembered', async () => {
    const dbName = uniqueDbName();
    const storage = storageOn(dbName);
    const queue = new OfflineQueue({ storage });
    const item = await queue.add('before the upgrade');
    // Version 2 opens only once every older connection has closed: the storage's must close itself.
    const upgraded = await openDB(dbName, 2);
    expect(await upgraded.get('items', item.id)).toMatchObject({ id: item.id });
    upgraded.close();
    // The storage (version 1) cannot open a version 2 database: its calls reject, each with the error.
    await expect(storage.load()).rejects.toMatchObject({ name: 'VersionError' });
    await expect(storage.load()).rejects.toMatchObject({ name: 'VersionError' });
  });

  test('the queue reports changes another tab makes to the database (changed event)', async () => {
    const dbName = uniqueDbName();
    const queue = new OfflineQueue({ storage: storageOn(dbName) });
    let changes = 0;
    queue.on('changed', () => changes++);
    await queue.add('mine');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(changes).toBe(1); // its own write, reported once (not echoed back by the channel)
    const tab = await openTab();
    const other = new tab.lib.OfflineQueue({ storage: new tab.lib.IndexedDBQueueStorage(dbName) });
    await other.add('from the other tab');
    await eventually(() => expect(changes).toBe(2));
    expect((await queue.getItems()).map((i) => i.payload)).toEqual(['mine', 'from the other tab']);
  });
});
