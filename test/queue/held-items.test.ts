import { describe, expect, test } from 'vitest';
import type { QueueItem } from '../../src/index.js';
import { makeQueue, recordEvents } from './_helpers.js';

// The sync client's durable mutations: held (stored in flight) while this page sends them itself,
// released to the flushes when that send cannot reach the server.
describe('a held item released to the queue', () => {
  test('is announced as enqueued once it is pending', async () => {
    const { queue } = makeQueue<{ n: number }>();
    const events = recordEvents(queue);
    const held = await queue.hold({ n: 1 });
    expect(events.names()).toEqual([]);
    await queue.release(held.id);
    expect(events.names()).toEqual(['enqueued']);
    expect((await queue.getItems()).map((item) => [item.id, item.state])).toEqual([[held.id, 'pending']]);
  });

  test('is announced as enqueued even when a flush elsewhere (a service worker, another tab) already put it back pending', async () => {
    const { queue, storage } = makeQueue<{ n: number }>();
    const events = recordEvents(queue);
    const held = await queue.hold({ n: 1 });
    // What another context's failed attempt leaves in the shared storage: the item pending again.
    const [stored] = (await queue.getItems()) as Array<QueueItem<{ n: number }> & Record<string, unknown>>;
    const { inFlightSince: _inFlightSince, ...rest } = stored!;
    await storage.put({ ...rest, state: 'pending' });
    await queue.release(held.id);
    expect(events.names()).toEqual(['enqueued']);
    expect((events.log.find(([name]) => name === 'enqueued')![1] as QueueItem).id).toBe(held.id);
  });
});
