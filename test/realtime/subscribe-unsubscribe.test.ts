import { describe, expect, test, vi } from 'vitest';
import { type ChangeEvent, RealtimeSyncService } from '../../src/index.js';
import { FakeTransport } from './_fake-transport.js';

describe('subscribe and unsubscribe', () => {
  test('a subscriber gets each event published on its topic, synchronously, and none of other topics', () => {
    const service = new RealtimeSyncService();
    const seen: ChangeEvent[] = [];
    service.subscribe('orders', (event) => seen.push(event));
    const first = service.publish('orders', { id: 1, status: 'new' });
    expect(seen).toEqual([first]);
    service.publish('invoices', { id: 1 });
    const second = service.publish('orders', { id: 2, status: 'paid' });
    expect(seen).toEqual([first, second]);
  });

  test('subscribers of a topic are called in the order they subscribed', () => {
    const service = new RealtimeSyncService();
    const order: string[] = [];
    service.subscribe('t', () => order.push('a'));
    service.subscribe('t', () => order.push('b'));
    service.subscribe('t', () => order.push('c'));
    service.publish('t', { id: 1 });
    expect(order).toEqual(['a', 'b', 'c']);
  });

  test('after unsubscribing, the callback is not called; calling unsubscribe again changes nothing', () => {
    const service = new RealtimeSyncService();
    const a = vi.fn();
    const b = vi.fn();
    const stopA = service.subscribe('t', a);
    service.subscribe('t', b);
    stopA();
    stopA();
    expect(service.getSubscriptionCount()).toBe(1);
    service.publish('t', { id: 1 });
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
  });

  test('the same callback subscribed twice is two subscriptions, each removed by its own function', () => {
    const service = new RealtimeSyncService();
    const callback = vi.fn();
    const stop1 = service.subscribe('t', callback);
    service.subscribe('t', callback);
    service.publish('t', { id: 1 });
    expect(callback).toHaveBeenCalledTimes(2);
    stop1();
    service.publish('t', { id: 2 });
    expect(callback).toHaveBeenCalledTimes(3);
  });

  test('getSubscriptionCount counts all subscriptions, or one topic\'s', () => {
    const service = new RealtimeSyncService();
    expect(service.getSubscriptionCount()).toBe(0);
    const stops = [service.subscribe('a', () => {}), service.subscribe('a', () => {}), service.subscribe('b', () => {})];
    service.subscribe('*', () => {});
    expect(service.getSubscriptionCount()).toBe(4);
    expect(service.getSubscriptionCount('a')).toBe(2);
    expect(service.getSubscriptionCount('*')).toBe(1);
    expect(service.getSubscriptionCount('none')).toBe(0);
    for (const stop of stops) stop();
    expect(service.getSubscriptionCount()).toBe(1);
  });

  test('a subscriber that unsubscribes another during delivery: the other is not called for that event', () => {
    const service = new RealtimeSyncService();
    const second = vi.fn();
    let stopSecond = (): void => {};
    const first = vi.fn(() => stopSecond());
    service.subscribe('t', first);
    stopSecond = service.subscribe('t', second);
    const third = vi.fn();
    service.subscribe('t', third);
    service.publish('t', { id: 1 });
    expect(first).toHaveBeenCalledTimes(1);
    expect(second).not.toHaveBeenCalled();
    expect(third).toHaveBeenCalledTimes(1);
  });

  test('a subscriber that unsubscribes itself during delivery does not stop the others', () => {
    const service = new RealtimeSyncService();
    const calls: string[] = [];
    const stop = service.subscribe('t', () => {
      calls.push('once');
      stop();
    });
    service.subscribe('t', () => calls.push('always'));
    service.publish('t', { id: 1 });
    service.publish('t', { id: 2 });
    expect(calls).toEqual(['once', 'always', 'always']);
  });

  test('a subscriber added during delivery starts with the next event', () => {
    const service = new RealtimeSyncService();
    const late = vi.fn();
    let added = false;
    service.subscribe('t', () => {
      if (!added) {
        added = true;
        service.subscribe('t', late);
      }
    });
    const first = service.publish('t', { id: 1 });
    expect(late).not.toHaveBeenCalled();
    const second = service.publish('t', { id: 2 });
    expect(late).toHaveBeenCalledTimes(1);
    expect(late).toHaveBeenCalledWith(second);
    expect(late).not.toHaveBeenCalledWith(first);
  });

  test('transport.watch is called for the first subscriber of a topic and unwatch when the last leaves', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const stop1 = service.subscribe('orders', () => {});
    const stop2 = service.subscribe('orders', () => {});
    const stopAll = service.subscribe('*', () => {});
    expect(transport.calls).toEqual(['connect', 'watch orders', 'watch *']);
    stop1();
    expect(transport.calls).toEqual(['connect', 'watch orders', 'watch *']);
    stop2();
    stop2();
    stopAll();
    expect(transport.calls).toEqual(['connect', 'watch orders', 'watch *', 'unwatch orders', 'unwatch *']);
    service.subscribe('orders', () => {});
    expect(transport.calls.at(-1)).toBe('watch orders');
  });

  test('a transport without watch/unwatch is fine', () => {
    const transport = new FakeTransport();
    const bare = {
      connect: transport.connect.bind(transport),
      publish: transport.publish.bind(transport),
      close: transport.close.bind(transport),
    };
    const service = new RealtimeSyncService({ transport: bare });
    const callback = vi.fn();
    const stop = service.subscribe('t', callback);
    service.publish('t', { id: 1 });
    stop();
    expect(callback).toHaveBeenCalledTimes(1);
    expect(transport.published).toHaveLength(1);
  });

  test('a watch that throws is reported, and the subscription still works', () => {
    const transport = new FakeTransport();
    const failure = new Error('cannot join');
    transport.watch = () => {
      throw failure;
    };
    const service = new RealtimeSyncService({ transport });
    const errors: unknown[][] = [];
    service.on('error', (error, context) => errors.push([error, context]));
    const callback = vi.fn();
    service.subscribe('t', callback);
    expect(errors).toEqual([[failure, { source: 'transport', topic: 't' }]]);
    service.publish('t', { id: 1 });
    expect(callback).toHaveBeenCalledTimes(1);
  });
});
