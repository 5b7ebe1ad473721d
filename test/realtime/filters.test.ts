import { describe, expect, test, vi } from 'vitest';
import { type ChangeEvent, RealtimeSyncService } from '../../src/index.js';
import { FakeTransport, remoteEvent } from './_fake-transport.js';

interface Order {
  id: number;
  status: string;
}

describe('subscription filters', () => {
  test('only events the filter accepts reach the callback', () => {
    const service = new RealtimeSyncService();
    const paid: Array<ChangeEvent<Order>> = [];
    const all = vi.fn();
    service.subscribe<Order>('orders', (event) => paid.push(event), { filter: (event) => event.new?.status === 'paid' });
    service.subscribe('orders', all);
    service.publish('orders', { id: 1, status: 'new' });
    const hit = service.publish('orders', { id: 1, status: 'paid' });
    service.publish('orders', { id: 2, status: 'cancelled' });
    expect(paid).toEqual([hit]);
    expect(all).toHaveBeenCalledTimes(3);
  });

  test('filters apply to events from the transport too', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const deletes = vi.fn();
    service.subscribe('orders', deletes, { filter: (event) => event.type === 'DELETE' });
    transport.deliver(remoteEvent('orders', { type: 'UPDATE', id: 1, new: { id: 1 } }));
    const deletion = remoteEvent('orders', { type: 'DELETE', id: 1 });
    transport.deliver(deletion);
    expect(deletes.mock.calls).toEqual([[deletion]]);
  });

  test('each subscription has its own filter', () => {
    const service = new RealtimeSyncService();
    const even = vi.fn();
    const odd = vi.fn();
    service.subscribe('n', even, { filter: (event) => (event.id as number) % 2 === 0 });
    service.subscribe('n', odd, { filter: (event) => (event.id as number) % 2 === 1 });
    for (let id = 0; id < 5; id++) service.publish('n', { id });
    expect(even.mock.calls.map(([event]) => event.id)).toEqual([0, 2, 4]);
    expect(odd.mock.calls.map(([event]) => event.id)).toEqual([1, 3]);
  });

  test('a filter that throws is reported like a throwing subscriber; the others still get the event', () => {
    const service = new RealtimeSyncService();
    const errors: unknown[][] = [];
    service.on('error', (error, context) => errors.push([error, context]));
    const failure = new Error('bad filter');
    const skipped = vi.fn();
    const other = vi.fn();
    service.subscribe('t', skipped, {
      filter: () => {
        throw failure;
      },
    });
    service.subscribe('t', other);
    const event = service.publish('t', { id: 1 });
    expect(skipped).not.toHaveBeenCalled();
    expect(other).toHaveBeenCalledWith(event);
    expect(errors).toEqual([[failure, { source: 'subscriber', topic: 't', event }]]);
  });

  test('a filter must be a function', () => {
    const service = new RealtimeSyncService();
    expect(() => service.subscribe('t', () => {}, { filter: 'paid' as never })).toThrow(TypeError);
    expect(() => service.subscribe('t', () => {}, null as never)).toThrow(TypeError);
    expect(service.getSubscriptionCount()).toBe(0);
  });
});
