import { describe, expect, test } from 'vitest';
import { isQueueStorageError, OfflineQueue, type QueueRecord } from '../../src/index.js';
import { countingHandler, ScriptedStorage } from './_helpers.js';

function goodRecord(id: string, payload: unknown, createdAt = Date.now()): QueueRecord {
  return { id, payload, priority: 0, idempotencyKey: `key-${id}`, attempts: 0, failures: 0, createdAt, state: 'pending' };
}

// A storage that returns garbage next to good entries: corrupt JSON (an `error`), values of the wrong
// shape, and entries with no id at all.
function garbageStorage() {
  const storage = new ScriptedStorage();
  storage.entries.set('good-1', { id: 'good-1', value: goodRecord('good-1', 'first', Date.now() - 2) });
  storage.entries.set('bad-json', { id: 'bad-json', value: '{"id":"bad-json",', error: new SyntaxError('Unexpected end of JSON input') });
  storage.entries.set('number', { id: 'number', value: 42 });
  storage.entries.set('null', { id: 'null', value: null });
  storage.entries.set('wrong-id', { id: 'wrong-id', value: goodRecord('other', 'x') });
  storage.entries.set('no-key', { id: 'no-key', value: { ...goodRecord('no-key', 'x'), idempotencyKey: '' } });
  storage.entries.set('bad-state', { id: 'bad-state', value: { ...goodRecord('bad-state', 'x'), state: 'sleeping' } });
  storage.entries.set('bad-attempts', { id: 'bad-attempts', value: { ...goodRecord('bad-attempts', 'x'), attempts: -1 } });
  storage.entries.set('good-2', { id: 'good-2', value: goodRecord('good-2', 'second', Date.now() - 1) });
  storage.extra = [null, 'garbage', { value: goodRecord('x', 'no id') }];
  return storage;
}

const CORRUPT = ['bad-attempts', 'bad-json', 'bad-state', 'no-key', 'null', 'number', 'wrong-id'];

describe('stored entries that cannot be read', () => {
  test('are dead-lettered as corrupt (once), reported, never delivered, and do not stop the good ones', async () => {
    const storage = garbageStorage();
    const queue = new OfflineQueue({ storage });
    const dead: Array<[string, unknown]> = [];
    const errors: unknown[] = [];
    queue.on('deadLettered', (item, error) => dead.push([item.id, error]));
    queue.on('error', (error) => errors.push(error));
    const { handler, calls } = countingHandler();

    const result = await queue.process(handler);
    expect(calls.map((i) => i.payload)).toEqual(['first', 'second']);
    expect(result).toMatchObject({ processed: 2, deadLettered: CORRUPT.length, remaining: 0 });
    expect(dead.map(([id]) => id).sort()).toEqual(CORRUPT);
    for (const [, error] of dead) {
      expect(isQueueStorageError(error)).toBe(true);
      expect((error as { code: string }).code).toBe('QUEUE_ENTRY_UNREADABLE');
    }
    // The three entries without an id cannot be dead-lettered: each is reported through `error`.
    expect(errors).toHaveLength(3);
    expect(errors.every((e) => isQueueStorageError(e) && e.code === 'QUEUE_ENTRY_UNREADABLE')).toBe(true);

    // A second flush does not report the same corrupt entries again.
    dead.length = 0;
    expect(await queue.process(handler)).toMatchObject({ deadLettered: 0 });
    expect(dead).toEqual([]);
  });

  test('they stay in storage untouched, listed as dead letters with their raw value and the reason', async () => {
    const storage = garbageStorage();
    const queue = new OfflineQueue({ storage });
    queue.on('error', () => {});
    await queue.process(() => 'ok');
    expect([...storage.entries.keys()].sort()).toEqual(CORRUPT);
    const letters = await queue.getDeadLetters();
    expect(letters.map((l) => l.id).sort()).toEqual(CORRUPT);
    const badJson = letters.find((l) => l.id === 'bad-json')!;
    expect(badJson).toMatchObject({ reason: 'corrupt', state: 'deadLettered', payload: '{"id":"bad-json",' });
    expect(badJson.lastError.message).toContain('bad-json');
    expect(letters.find((l) => l.id === 'bad-state')!.lastError.message).toContain('unknown state');
    expect((await queue.stats()).deadLettered).toBe(CORRUPT.length);
  });

  test('retryDeadLetter refuses a corrupt entry with a clear error; remove deletes it', async () => {
    const storage = garbageStorage();
    const queue = new OfflineQueue({ storage });
    await expect(queue.retryDeadLetter('number')).rejects.toSatisfy(
      (e: unknown) => isQueueStorageError(e) && e.code === 'QUEUE_ENTRY_UNREADABLE' && e.itemId === 'number',
    );
    expect(await queue.remove('number')).toBe(true);
    expect(storage.entries.has('number')).toBe(false);
  });

  test('a storage whose load() returns something that is not a list: process rejects with a clear error', async () => {
    const storage = new ScriptedStorage();
    storage.load = async () => 'nonsense' as never;
    const queue = new OfflineQueue({ storage });
    await expect(queue.process(() => 'ok')).rejects.toSatisfy((e: unknown) => isQueueStorageError(e) && e.code === 'QUEUE_STORAGE_FAILED');
  });

  test('a storage whose load() throws: process rejects with QUEUE_STORAGE_FAILED and the cause', async () => {
    const storage = new ScriptedStorage();
    const cause = new Error('disk on fire');
    storage.load = async () => {
      throw cause;
    };
    const queue = new OfflineQueue({ storage });
    const error = await queue.process(() => 'ok').catch((e: unknown) => e);
    expect(isQueueStorageError(error)).toBe(true);
    expect((error as Error).cause).toBe(cause);
    expect((error as Error).message).toContain('disk on fire');
  });
});
