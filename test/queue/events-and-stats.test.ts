import { describe, expect, test, vi } from 'vitest';
import { NetworkError, OfflineQueue, type QueueState } from '../../src/index.js';
import { deferred, http, makeQueue, recordEvents } from './_helpers.js';

describe('events', () => {
  test('enqueued(item), processed(item, result), failed(item, error), deadLettered(item, error), drained()', async () => {
    const { queue } = makeQueue();
    const { log, names } = recordEvents(queue);
    const ok = await queue.add('ok');
    const flaky = await queue.add('flaky');
    const bad = await queue.add('bad');
    expect(log.filter(([n]) => n === 'enqueued').map(([, item]) => item)).toEqual([ok, flaky, bad]);

    const networkDown = new NetworkError('down');
    const rejected = http(400);
    await queue.process((item) => {
      if (item.payload === 'flaky') throw networkDown;
      if (item.payload === 'bad') throw rejected;
      return { status: 201, id: 'server-1' };
    });
    expect(names()).toEqual(['enqueued', 'enqueued', 'enqueued', 'processed', 'failed', 'deadLettered']);
    const processed = log.find(([n]) => n === 'processed')!;
    expect(processed[1]).toMatchObject({ id: ok.id, idempotencyKey: ok.idempotencyKey });
    expect(processed[2]).toEqual({ status: 201, id: 'server-1' });
    const failed = log.find(([n]) => n === 'failed')!;
    expect(failed[1]).toMatchObject({ id: flaky.id, state: 'pending', failures: 1, attempts: 0 });
    expect(failed[2]).toBe(networkDown);
    const dead = log.find(([n]) => n === 'deadLettered')!;
    expect(dead[1]).toMatchObject({ id: bad.id, reason: 'rejected', state: 'deadLettered' });
    expect(dead[2]).toBe(rejected);

    // No `drained` while the flaky one is still pending; it comes once the queue is empty.
    await queue.process(() => 'fine', { networkRestored: true });
    expect(names().slice(-2)).toEqual(['processed', 'drained']);
  });

  test('drained is not emitted by a flush that had nothing to do', async () => {
    const { queue } = makeQueue();
    const { names } = recordEvents(queue);
    await queue.process(() => 'ok');
    await queue.process(() => 'ok');
    expect(names()).toEqual([]);
  });

  test('changed follows every change to the stored items: add, in-flight mark, delivery, failure, remove, clear, retry', async () => {
    const { queue } = makeQueue();
    const changed = vi.fn();
    queue.on('changed', changed);
    const a = await queue.add('a');
    expect(changed).toHaveBeenCalledTimes(1);
    await queue.process(() => 'ok');
    expect(changed).toHaveBeenCalledTimes(3); // in flight, delivered
    await queue.add('b');
    await queue.process(() => {
      throw http(404);
    });
    expect(changed).toHaveBeenCalledTimes(6); // added, in flight, dead-lettered
    const [letter] = await queue.getDeadLetters();
    await queue.retryDeadLetter(letter!.id);
    expect(changed).toHaveBeenCalledTimes(7);
    await queue.remove(letter!.id);
    expect(changed).toHaveBeenCalledTimes(8);
    await queue.remove(a.id); // already gone: no change
    expect(changed).toHaveBeenCalledTimes(8);
    await queue.clear();
    expect(changed).toHaveBeenCalledTimes(9);
  });

  test('on returns an unsubscribe function; a listener that throws changes nothing in the queue', async () => {
    const { queue } = makeQueue();
    const reported: unknown[] = [];
    const original = globalThis.reportError;
    globalThis.reportError = (error: unknown) => reported.push(error);
    try {
      const listener = vi.fn();
      const off = queue.on('enqueued', listener);
      queue.on('processed', () => {
        throw new Error('listener bug');
      });
      await queue.add('x');
      off();
      off();
      await queue.add('y');
      expect(listener).toHaveBeenCalledTimes(1);
      const result = await queue.process(() => 'ok');
      expect(result.processed).toBe(2);
      expect(await queue.getItems()).toEqual([]);
      expect(reported.map((e) => (e as Error).message)).toEqual(['listener bug', 'listener bug']);
    } finally {
      globalThis.reportError = original;
    }
  });

  test('on refuses unknown events and non-function listeners', () => {
    const queue = new OfflineQueue();
    const on = queue.on as (this: OfflineQueue, event: string, listener: () => void) => unknown;
    expect(() => on.call(queue, 'nope', () => {})).toThrow(/unknown OfflineQueue event/);
    expect(() => queue.on('processed', 'x' as never)).toThrow(TypeError);
  });
});

describe('stats', () => {
  test('pending, inFlight, deadLettered, processed, failed and oldestAgeMs', async () => {
    const { queue, clock } = makeQueue();
    expect(await queue.stats()).toEqual({ pending: 0, inFlight: 0, deadLettered: 0, processed: 0, failed: 0, oldestAgeMs: undefined });
    await queue.add('ok');
    await clock.advance(500);
    await queue.add('flaky');
    await queue.add('bad');
    await queue.add('hang');
    await clock.advance(250);
    expect(await queue.stats()).toMatchObject({ pending: 4, oldestAgeMs: 750 });
    const gate = deferred<void>();
    const done = queue.process((item) => {
      if (item.payload === 'flaky') throw http(503);
      if (item.payload === 'bad') throw http(400);
      if (item.payload === 'hang') return gate.promise.then(() => {
        throw new NetworkError('gone');
      });
      return 'ok';
    });
    await vi.waitFor(async () => expect((await queue.stats()).inFlight).toBe(1));
    expect(await queue.stats()).toEqual({ pending: 1, inFlight: 1, deadLettered: 1, processed: 1, failed: 1, oldestAgeMs: 250 });
    gate.resolve();
    await done;
    expect(await queue.stats()).toEqual({ pending: 2, inFlight: 0, deadLettered: 1, processed: 1, failed: 2, oldestAgeMs: 250 });
  });
});

describe('getState / subscribe (useSyncExternalStore)', () => {
  test('the same object until something changes; subscribers hear each new state', async () => {
    const { queue } = makeQueue();
    const first = queue.getState();
    expect(first).toEqual({
      pending: 0,
      inFlight: 0,
      deadLettered: 0,
      oldestCreatedAt: undefined,
      isSyncing: false,
      lastSyncAt: undefined,
      processed: 0,
      failed: 0,
    });
    expect(queue.getState()).toBe(first);
    const states: QueueState[] = [];
    const off = queue.subscribe(() => states.push(queue.getState()));
    const item = await queue.add('x');
    await vi.waitFor(() => expect(queue.getState().pending).toBe(1));
    expect(queue.getState().oldestCreatedAt).toBe(item.createdAt);
    expect(queue.getState()).toBe(queue.getState());

    const gate = deferred<void>();
    const done = queue.process(() => gate.promise);
    await vi.waitFor(() => expect(queue.getState()).toMatchObject({ isSyncing: true, inFlight: 1, pending: 0 }));
    gate.resolve();
    await done;
    await vi.waitFor(() => expect(queue.getState()).toMatchObject({ isSyncing: false, pending: 0, inFlight: 0, processed: 1 }));
    expect(queue.getState().lastSyncAt).toBeTypeOf('number');
    expect(states.length).toBeGreaterThan(2);
    expect(new Set(states).size).toBe(states.length);
    off();
    const count = states.length;
    await queue.add('y');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(states.length).toBe(count);
  });
});
