import { describe, expect, test } from 'vitest';
import { IndexedDBQueueStorage, LocalStorageQueueStorage, MemoryQueueStorage, OfflineQueue } from '../../src/index.js';

describe('bad input gets a clear error', () => {
  test('constructor options', () => {
    const bad: unknown[] = [
      null,
      { storage: {} },
      { storage: { load() {}, get() {} } },
      { handler: 'x' },
      { handlers: { order: 1 } },
      { handlers: 'x' },
      { retry: { maxAttempts: 0 } },
      { retry: { maxAttempts: 1.5 } },
      { retry: { initialDelayMs: -1 } },
      { retry: { jitter: 'lots' } },
      { retry: { timeoutMs: Number.NaN } },
      { retry: { shouldRetry: true } },
      { maxRetentionMs: 0 },
      { maxRetentionMs: Number.POSITIVE_INFINITY },
      { maxRetentionMs: '1000' },
      { lock: {} },
      { lockName: '' },
    ];
    for (const options of bad) expect(() => new OfflineQueue(options as never), JSON.stringify(options)).toThrow(TypeError);
  });

  test('add options', async () => {
    const queue = new OfflineQueue();
    for (const options of [
      { priority: Number.NaN },
      { priority: '1' },
      { idempotencyKey: '' },
      { idempotencyKey: 'k'.repeat(256) },
      { idempotencyKey: 5 },
      { type: '' },
      { type: 3 },
    ]) {
      await expect(queue.add('x', options as never), JSON.stringify(options)).rejects.toThrow(TypeError);
    }
    await expect(queue.add('x', null as never)).rejects.toThrow(TypeError);
    expect(await queue.getItems()).toEqual([]);
  });

  test('registerHandler, process, remove and retryDeadLetter arguments', async () => {
    const queue = new OfflineQueue();
    expect(() => queue.registerHandler('', () => {})).toThrow(TypeError);
    expect(() => queue.registerHandler('t', 'x' as never)).toThrow(TypeError);
    await expect(queue.process('x' as never)).rejects.toThrow(TypeError);
    await expect(queue.remove(1 as never)).rejects.toThrow(TypeError);
    await expect(queue.retryDeadLetter(undefined as never)).rejects.toThrow(TypeError);
    expect(() => queue.subscribe('x' as never)).toThrow(TypeError);
  });

  test('storage constructors', () => {
    expect(() => new LocalStorageQueueStorage('')).toThrow(TypeError);
    expect(() => new LocalStorageQueueStorage(undefined as never)).toThrow(TypeError);
    expect(() => new IndexedDBQueueStorage('')).toThrow(TypeError);
    expect(new MemoryQueueStorage().name).not.toBe(new MemoryQueueStorage().name);
  });

  test('a storage that is not available here fails with a clear error on use, not at construction', async () => {
    const hasLocalStorage = typeof (globalThis as { localStorage?: unknown }).localStorage !== 'undefined';
    const hasIndexedDB = typeof (globalThis as { indexedDB?: unknown }).indexedDB !== 'undefined';
    if (!hasLocalStorage) {
      const queue = new OfflineQueue({ storage: new LocalStorageQueueStorage('q') });
      await expect(queue.add('x')).rejects.toThrow(/no localStorage here/);
    }
    if (!hasIndexedDB) {
      const queue = new OfflineQueue({ storage: new IndexedDBQueueStorage('q') });
      await expect(queue.add('x')).rejects.toThrow(/no indexedDB here/);
    }
  });
});
