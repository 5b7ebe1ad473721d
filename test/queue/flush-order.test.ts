import { describe, expect, test } from 'vitest';
import { createIdempotencyKey, MemoryQueueStorage, OfflineQueue, type QueueItem } from '../../src/index.js';
import { countingHandler, deferred, makeQueue } from './_helpers.js';

describe('add', () => {
  test('returns the stored item: id, payload, type, priority, a fresh UUID key, no attempts, createdAt from the clock', async () => {
    const { queue, clock } = makeQueue();
    const item = await queue.add({ order: 1 }, { type: 'order', priority: 2 });
    expect(item).toMatchObject({ payload: { order: 1 }, type: 'order', priority: 2, attempts: 0, failures: 0, state: 'pending' });
    expect(item.createdAt).toBe(clock.now());
    expect(item.idempotencyKey).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(item.id).not.toBe(item.idempotencyKey);
    const other = await queue.add({ order: 2 });
    expect(other.idempotencyKey).not.toBe(item.idempotencyKey);
    expect(other.priority).toBe(0);
    expect(other.type).toBeUndefined();
    expect(await queue.getItems()).toEqual([item, other]);
  });

  test('keeps a given idempotency key, and every attempt of the item carries it', async () => {
    const { queue, clock } = makeQueue();
    const key = createIdempotencyKey();
    await queue.add('x', { idempotencyKey: key });
    const seen: string[] = [];
    const handler = (item: QueueItem) => {
      seen.push(item.idempotencyKey);
      if (seen.length < 3) throw new Error('server hiccup');
    };
    await queue.process(handler);
    await clock.advance(60_000);
    await queue.process(handler);
    await clock.advance(60_000);
    await queue.process(handler);
    expect(seen).toEqual([key, key, key]);
    expect(await queue.getItems()).toEqual([]);
  });

  test('the stored payload is a copy: changing the object after add changes nothing queued', async () => {
    const { queue } = makeQueue();
    const payload = { qty: 1, lines: ['a'] };
    await queue.add(payload);
    payload.qty = 99;
    payload.lines.push('b');
    const { handler, calls } = countingHandler();
    await queue.process(handler);
    expect(calls[0]!.payload).toEqual({ qty: 1, lines: ['a'] });
  });
});

describe('process order', () => {
  test('higher priority first, FIFO within a priority (also for items added in the same millisecond)', async () => {
    const { queue, clock } = makeQueue();
    await queue.add('low-1', { priority: -1 });
    await queue.add('mid-1');
    await queue.add('high-1', { priority: 5 });
    await queue.add('mid-2');
    await clock.advance(10);
    await queue.add('high-2', { priority: 5 });
    await queue.add('low-2', { priority: -1 });
    await queue.add('mid-3');
    const { handler, calls } = countingHandler();
    const result = await queue.process(handler);
    expect(calls.map((item) => item.payload)).toEqual(['high-1', 'high-2', 'mid-1', 'mid-2', 'mid-3', 'low-1', 'low-2']);
    expect(result).toEqual({ processed: 7, failed: 0, deadLettered: 0, remaining: 0, skipped: false });
  });

  test('one item at a time: the next handler call starts only after the previous one settled', async () => {
    const { queue } = makeQueue();
    for (let i = 0; i < 5; i++) await queue.add(i);
    let running = 0;
    let most = 0;
    const gates = Array.from({ length: 5 }, () => deferred<void>());
    const done = queue.process(async (item) => {
      running++;
      most = Math.max(most, running);
      await gates[item.payload as number]!.promise;
      running--;
    });
    for (const gate of gates) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      gate.resolve();
    }
    expect((await done).processed).toBe(5);
    expect(most).toBe(1);
  });

  test('an item is removed from storage only after its handler succeeded, and is marked in flight meanwhile', async () => {
    const storage = new MemoryQueueStorage();
    const { queue } = makeQueue({ storage });
    const item = await queue.add('x');
    const gate = deferred<string>();
    const started = deferred<void>();
    const done = queue.process(() => {
      started.resolve();
      return gate.promise;
    });
    await started.promise;
    const during = await queue.getItems();
    expect(during).toHaveLength(1);
    expect(during[0]).toMatchObject({ id: item.id, state: 'inFlight', idempotencyKey: item.idempotencyKey });
    expect((await queue.stats()).inFlight).toBe(1);
    gate.resolve('stored');
    await done;
    expect(await storage.load()).toEqual([]);
  });

  test('items added while a flush runs are delivered by that flush, after the round it was in', async () => {
    const { queue } = makeQueue();
    await queue.add('a');
    await queue.add('b');
    const { handler, calls } = countingHandler((item) => {
      if (item.payload === 'a') return queue.add('late', { priority: 10 });
      return undefined;
    });
    const result = await queue.process(handler);
    expect(calls.map((item) => item.payload)).toEqual(['a', 'b', 'late']);
    expect(result.processed).toBe(3);
    expect(result.remaining).toBe(0);
  });

  test('a failing item is tried once per flush, however short its backoff', async () => {
    const { queue } = makeQueue({ retry: { initialDelayMs: 0 } });
    await queue.add('flaky');
    const { handler, calls } = countingHandler(() => {
      throw new Error('nope');
    });
    const result = await queue.process(handler);
    expect(calls).toHaveLength(1);
    expect(result).toMatchObject({ processed: 0, failed: 1, remaining: 1 });
  });

  test('process() called while this queue flushes runs after that flush; concurrent calls deliver each item once', async () => {
    const { queue } = makeQueue();
    for (let i = 0; i < 20; i++) await queue.add(i);
    const { handler, countsById } = countingHandler(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
    const results = await Promise.all([queue.process(handler), queue.process(handler), queue.process(), queue.process()]);
    expect([...countsById().values()]).toEqual(Array(20).fill(1));
    expect(results[0]).toMatchObject({ processed: 20, remaining: 0 });
    expect(results[1]).toMatchObject({ processed: 0, remaining: 0 });
  });

  test('two queues on one storage (one lock name) never flush at once: 100 items, each delivered once', async () => {
    const storage = new MemoryQueueStorage();
    const a = new OfflineQueue({ storage });
    const b = new OfflineQueue({ storage });
    for (let i = 0; i < 100; i++) await (i % 2 ? a : b).add(i);
    let running = 0;
    let most = 0;
    const { handler, countsById } = countingHandler(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 0));
      running--;
    });
    const results = await Promise.all([a.process(handler), b.process(handler), a.process(handler), b.process(handler)]);
    expect(countsById().size).toBe(100);
    expect([...countsById().values()].every((n) => n === 1)).toBe(true);
    expect(most).toBe(1);
    expect(results.reduce((sum, r) => sum + r.processed, 0)).toBe(100);
  });

  test('ifAvailable: while another flush holds the lock, process resolves at once with skipped', async () => {
    const storage = new MemoryQueueStorage();
    const a = new OfflineQueue({ storage });
    const b = new OfflineQueue({ storage });
    await a.add('x');
    const gate = deferred<void>();
    const started = deferred<void>();
    const first = a.process(() => {
      started.resolve();
      return gate.promise;
    });
    await started.promise;
    const handler = countingHandler();
    expect(await b.process(handler.handler, { ifAvailable: true })).toEqual({
      processed: 0,
      failed: 0,
      deadLettered: 0,
      remaining: 1,
      skipped: true,
    });
    expect(await a.process(handler.handler, { ifAvailable: true })).toMatchObject({ skipped: true });
    gate.resolve();
    expect(await first).toMatchObject({ processed: 1 });
    expect(handler.calls).toHaveLength(0);
  });
});
