import { describe, expect, test } from 'vitest';
import { HttpError, IdempotencyError, NetworkError, OfflineQueue } from '../../src/index.js';
import { countingHandler, http, makeQueue, recordEvents } from './_helpers.js';

describe('dead letters', () => {
  test.each([400, 401, 403, 404, 409, 410, 422])('a %i answer dead-letters the item at once, with reason rejected', async (status) => {
    const { queue } = makeQueue();
    const events = recordEvents(queue);
    const item = await queue.add({ n: 1 });
    const result = await queue.process(() => {
      throw http(status, { title: 'nope' });
    });
    expect(result).toEqual({ processed: 0, failed: 0, deadLettered: 1, remaining: 0, skipped: false });
    expect(await queue.getItems()).toEqual([]);
    const letters = await queue.getDeadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      id: item.id,
      payload: { n: 1 },
      idempotencyKey: item.idempotencyKey,
      state: 'deadLettered',
      reason: 'rejected',
      attempts: 1,
      lastError: { name: 'HttpError', status },
    });
    const dead = events.log.find(([name]) => name === 'deadLettered')!;
    expect(dead[1]).toEqual(letters[0]);
    expect((dead[2] as { status: number }).status).toBe(status);
    expect((await queue.stats()).deadLettered).toBe(1);
  });

  test.each([408, 425, 429, 500, 502, 503, 504])('a %i answer leaves the item pending for another attempt', async (status) => {
    const { queue } = makeQueue();
    await queue.add('x');
    const result = await queue.process(() => {
      throw http(status);
    });
    expect(result).toMatchObject({ failed: 1, deadLettered: 0, remaining: 1 });
    expect(await queue.getDeadLetters()).toEqual([]);
  });

  test('idempotency refusals (KEY_MISMATCH, KEY_INVALID) and errors marked retryable: false are dead-lettered; STORE_UNAVAILABLE is retried', async () => {
    const { queue } = makeQueue();
    await queue.add('mismatch');
    await queue.add('invalid');
    await queue.add('not-retryable');
    await queue.add('store-down');
    await queue.process((item) => {
      if (item.payload === 'mismatch') throw new IdempotencyError('KEY_MISMATCH');
      if (item.payload === 'invalid') throw new IdempotencyError('KEY_INVALID');
      if (item.payload === 'not-retryable') throw Object.assign(new Error('refused'), { retryable: false });
      throw new IdempotencyError('STORE_UNAVAILABLE');
    });
    expect((await queue.getDeadLetters()).map((l) => l.payload).sort()).toEqual(['invalid', 'mismatch', 'not-retryable']);
    expect((await queue.getItems()).map((i) => i.payload)).toEqual(['store-down']);
  });

  test('a 4xx the handler marks retryable: true is retried, not dead-lettered', async () => {
    const { queue } = makeQueue();
    await queue.add('x');
    const result = await queue.process(() => {
      throw new HttpError(423, { retryable: true });
    });
    expect(result).toMatchObject({ failed: 1, deadLettered: 0, remaining: 1 });
    expect((await queue.getItems())[0]!.attempts).toBe(1);
  });

  test('retry.shouldRetry decides answered failures: false dead-letters, true keeps a 4xx pending', async () => {
    const seen: Array<[unknown, number]> = [];
    const { queue } = makeQueue({
      retry: {
        shouldRetry: (error, attempts) => {
          seen.push([(error as { status?: number }).status, attempts]);
          return (error as { status?: number }).status === 404;
        },
      },
    });
    await queue.add('gone-for-now');
    await queue.add('server-error');
    await queue.process((item) => {
      throw http(item.payload === 'gone-for-now' ? 404 : 500);
    });
    expect((await queue.getItems()).map((i) => i.payload)).toEqual(['gone-for-now']);
    expect((await queue.getDeadLetters()).map((l) => l.payload)).toEqual(['server-error']);
    expect(seen).toEqual([
      [404, 1],
      [500, 1],
    ]);
  });

  test('retryDeadLetter puts it back with its key and fresh attempts, and the next flush delivers it', async () => {
    const { queue, clock } = makeQueue();
    const item = await queue.add('x', { type: 't', priority: 3 });
    await queue.process(() => {
      throw http(400);
    });
    await clock.advance(5000);
    const back = await queue.retryDeadLetter(item.id);
    expect(back).toMatchObject({
      id: item.id,
      idempotencyKey: item.idempotencyKey,
      type: 't',
      priority: 3,
      attempts: 0,
      failures: 0,
      state: 'pending',
      createdAt: clock.now(),
    });
    expect(await queue.getDeadLetters()).toEqual([]);
    const { handler, calls } = countingHandler();
    expect(await queue.process(handler)).toMatchObject({ processed: 1 });
    expect(calls[0]!.idempotencyKey).toBe(item.idempotencyKey);
  });

  test('retryDeadLetter of an unknown id or of a pending item returns undefined and changes nothing', async () => {
    const { queue } = makeQueue();
    const item = await queue.add('x');
    expect(await queue.retryDeadLetter('no-such-id')).toBeUndefined();
    expect(await queue.retryDeadLetter(item.id)).toBeUndefined();
    expect(await queue.getItems()).toEqual([item]);
  });

  test('remove deletes a dead letter; clear deletes everything', async () => {
    const { queue } = makeQueue();
    const a = await queue.add('a');
    await queue.add('b');
    await queue.process((item) => {
      if (item.payload === 'a') throw http(400);
      throw http(500);
    });
    expect(await queue.remove(a.id)).toBe(true);
    expect(await queue.remove(a.id)).toBe(false);
    expect(await queue.getDeadLetters()).toEqual([]);
    expect(await queue.getItems()).toHaveLength(1);
    await queue.clear();
    expect(await queue.stats()).toMatchObject({ pending: 0, inFlight: 0, deadLettered: 0, oldestAgeMs: undefined });
  });

  test('dead letters stay out of flushes', async () => {
    const queue = new OfflineQueue();
    await queue.add('x');
    await queue.process(() => {
      throw http(422);
    });
    const { handler, calls } = countingHandler();
    expect(await queue.process(handler)).toMatchObject({ processed: 0, remaining: 0 });
    expect(calls).toHaveLength(0);
  });
});

describe('retention', () => {
  test('an item older than maxRetentionMs is dead-lettered as expired without being sent', async () => {
    const { queue, clock } = makeQueue({ maxRetentionMs: 10_000 });
    const events = recordEvents(queue);
    const old = await queue.add('old');
    await clock.advance(6_000);
    const young = await queue.add('young');
    await clock.advance(4_000);
    const { handler, calls } = countingHandler();
    const result = await queue.process(handler);
    expect(result).toMatchObject({ processed: 1, deadLettered: 1, remaining: 0 });
    expect(calls.map((i) => i.id)).toEqual([young.id]);
    expect(await queue.getDeadLetters()).toMatchObject([
      { id: old.id, reason: 'expired', lastError: { code: 'QUEUE_ITEM_EXPIRED' }, idempotencyKey: old.idempotencyKey },
    ]);
    expect(events.names()).toContain('deadLettered');
  });

  test('an item that keeps failing without an answer ends as expired once retention passes', async () => {
    const { queue, clock } = makeQueue({ maxRetentionMs: 60_000, retry: { maxDelayMs: 5_000 } });
    await queue.add('x');
    const { handler: network, calls } = countingHandler(() => {
      throw new NetworkError('fetch failed');
    });
    for (let i = 0; i < 20; i++) {
      await queue.process(network);
      await clock.advance(5_000);
    }
    expect(await queue.getItems()).toEqual([]);
    expect((await queue.getDeadLetters())[0]).toMatchObject({ reason: 'expired', attempts: 0 });
    // Sent every 5 s while young enough (t = 0, 5, …, 55 s), never after.
    expect(calls).toHaveLength(12);
  });

  test('default retention is 24 h', async () => {
    const { queue, clock } = makeQueue();
    await queue.add('x');
    await clock.advance(86_400_000 - 1);
    await queue.process(() => {
      throw http(503);
    });
    expect(await queue.getItems()).toHaveLength(1);
    await clock.advance(1);
    await queue.process(() => 'ok');
    expect((await queue.getDeadLetters())[0]).toMatchObject({ reason: 'expired' });
  });
});
