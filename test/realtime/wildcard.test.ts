import { describe, expect, test, vi } from 'vitest';
import { type ChangeEvent, RealtimeSyncService } from '../../src/index.js';
import { FakeTransport, remoteEvent } from './_fake-transport.js';

describe("the '*' topic", () => {
  test("a '*' subscriber gets the events of every topic, local and from the transport, once each", () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const seen: ChangeEvent[] = [];
    service.subscribe('*', (event) => seen.push(event));
    const a = service.publish('orders', { id: 1 });
    const b = service.publish('invoices', { id: 2 });
    const c = remoteEvent('users', { id: 3, new: { id: 3 } });
    transport.deliver(c);
    transport.deliver(c);
    expect(seen).toEqual([a, b, c]);
  });

  test("topic subscribers are called before '*' subscribers", () => {
    const service = new RealtimeSyncService();
    const order: string[] = [];
    service.subscribe('*', () => order.push('any'));
    service.subscribe('t', () => order.push('topic'));
    service.publish('t', { id: 1 });
    expect(order).toEqual(['topic', 'any']);
  });

  test("a '*' subscriber and a topic subscriber each get the event once", () => {
    const service = new RealtimeSyncService();
    const callback = vi.fn();
    service.subscribe('*', callback);
    service.subscribe('t', callback);
    const event = service.publish('t', { id: 1 });
    expect(callback.mock.calls).toEqual([[event], [event]]);
  });

  test("'*' subscribers can unsubscribe, and filter", () => {
    const service = new RealtimeSyncService();
    const onlyOrders = vi.fn();
    const stop = service.subscribe('*', onlyOrders, { filter: (event) => event.topic === 'orders' });
    service.publish('users', { id: 1 });
    service.publish('orders', { id: 1 });
    stop();
    service.publish('orders', { id: 2 });
    expect(onlyOrders).toHaveBeenCalledTimes(1);
    expect(service.getSubscriptionCount('*')).toBe(0);
  });

  test("'*' cannot be published to or read: it is a subscription pattern, not a topic", () => {
    const service = new RealtimeSyncService();
    const callback = vi.fn();
    service.subscribe('*', callback);
    expect(() => service.publish('*', { id: 1 })).toThrow(TypeError);
    expect(() => service.publish('*', { id: 1 })).toThrow(/only for subscribing/);
    expect(() => service.getLatest('*')).toThrow(TypeError);
    expect(callback).not.toHaveBeenCalled();
  });

  test("an event from the transport with topic '*' is rejected and reported", () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const callback = vi.fn();
    const errors = vi.fn();
    service.on('error', errors);
    service.subscribe('*', callback);
    transport.deliver(remoteEvent('*'));
    expect(callback).not.toHaveBeenCalled();
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors.mock.calls[0]![0]).toBeInstanceOf(TypeError);
  });
});
