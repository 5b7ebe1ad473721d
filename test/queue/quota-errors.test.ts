import { describe, expect, test } from 'vitest';
import { isQueueStorageError, MemoryQueueStorage, OfflineQueue, QueueStorageError } from '../../src/index.js';
import { countingHandler, quotaError, ScriptedStorage } from './_helpers.js';

describe('a full storage', () => {
  test('add rejects with QueueStorageError QUEUE_QUOTA_EXCEEDED; nothing already queued is lost', async () => {
    const storage = new ScriptedStorage();
    const queue = new OfflineQueue({ storage });
    const kept = [await queue.add('a'), await queue.add('b')];
    const enqueued: unknown[] = [];
    queue.on('enqueued', (item) => enqueued.push(item));
    const quota = quotaError();
    storage.onPut = () => {
      throw quota;
    };
    const error = await queue.add('c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueStorageError);
    expect(isQueueStorageError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'QUEUE_QUOTA_EXCEEDED', name: 'QueueStorageError' });
    expect((error as Error).cause).toBe(quota);
    expect((error as Error).message).toMatch(/full/);
    expect(enqueued).toEqual([]);
    expect(await queue.getItems()).toEqual(kept);

    // Once there is room again, the queue works on: the kept items are delivered.
    storage.onPut = () => {};
    const { handler, calls } = countingHandler();
    await queue.process(handler);
    expect(calls.map((i) => i.payload)).toEqual(['a', 'b']);
  });

  test('legacy quota errors (code 22, Firefox NS_ERROR_DOM_QUOTA_REACHED) are recognised too', async () => {
    for (const thrown of [Object.assign(new Error('full'), { code: 22 }), Object.assign(new Error('full'), { name: 'NS_ERROR_DOM_QUOTA_REACHED' })]) {
      const storage = new ScriptedStorage();
      storage.onPut = () => {
        throw thrown;
      };
      await expect(new OfflineQueue({ storage }).add('x')).rejects.toMatchObject({ code: 'QUEUE_QUOTA_EXCEEDED' });
    }
  });

  test('another storage failure on add rejects with QUEUE_STORAGE_FAILED and its cause', async () => {
    const storage = new ScriptedStorage();
    const cause = new Error('database closed');
    storage.onPut = () => {
      throw cause;
    };
    const error = await new OfflineQueue({ storage }).add('x').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'QUEUE_STORAGE_FAILED', cause });
  });

  test('a payload the storage cannot hold rejects with a TypeError and stores nothing', async () => {
    const storage = new MemoryQueueStorage();
    const queue = new OfflineQueue({ storage });
    await expect(queue.add({ callback: () => 1 })).rejects.toThrow(TypeError);
    await expect(queue.add({ callback: () => 1 })).rejects.toThrow(/structured-cloneable/);
    expect(await storage.load()).toEqual([]);
  });

  test('when the in-flight mark cannot be written, process rejects before sending and the item stays pending', async () => {
    const storage = new ScriptedStorage();
    const queue = new OfflineQueue({ storage });
    const item = await queue.add('x');
    storage.onPut = () => {
      throw quotaError();
    };
    const { handler, calls } = countingHandler();
    await expect(queue.process(handler)).rejects.toMatchObject({ code: 'QUEUE_QUOTA_EXCEEDED', itemId: item.id });
    expect(calls).toHaveLength(0);
    expect(await queue.getItems()).toEqual([item]);
  });

  test('when a failed attempt cannot be recorded, the item stays (in flight) and is sent again by the next flush', async () => {
    const storage = new ScriptedStorage();
    const queue = new OfflineQueue({ storage });
    const errors: unknown[] = [];
    queue.on('error', (e) => errors.push(e));
    const item = await queue.add('x');
    const { handler, calls } = countingHandler((_item, call) => {
      if (call === 1) {
        storage.onPut = () => {
          throw quotaError();
        };
        throw new Error('server error');
      }
      return 'ok';
    });
    await queue.process(handler);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'QUEUE_QUOTA_EXCEEDED', itemId: item.id });
    expect((await queue.getItems())[0]).toMatchObject({ id: item.id, state: 'inFlight' });
    storage.onPut = () => {};
    await queue.process(handler);
    expect(calls.map((i) => i.idempotencyKey)).toEqual([item.idempotencyKey, item.idempotencyKey]);
    expect(await queue.getItems()).toEqual([]);
  });

  test('when a delivered item cannot be deleted, it is reported and sent again later (same key; the server replays)', async () => {
    const storage = new ScriptedStorage();
    const queue = new OfflineQueue({ storage });
    const errors: unknown[] = [];
    queue.on('error', (e) => errors.push(e));
    const item = await queue.add('x');
    storage.onDelete = () => {
      throw new Error('locked');
    };
    const { handler, calls } = countingHandler();
    expect(await queue.process(handler)).toMatchObject({ processed: 1 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'QUEUE_STORAGE_FAILED', itemId: item.id });
    storage.onDelete = () => {};
    await queue.process(handler);
    expect(calls.map((i) => i.idempotencyKey)).toEqual([item.idempotencyKey, item.idempotencyKey]);
  });
});
