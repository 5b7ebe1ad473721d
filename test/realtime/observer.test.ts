// RealtimeObserver: one topic or record as a subscribe/getState store for UIs (useRealtime renders
// it). A stable snapshot until something changes, the latest record from the service's cache, recent
// events (bounded), the status, and a subscription to the service only while someone listens.
import { describe, expect, test, vi } from 'vitest';
import { ManualClock, RealtimeObserver, RealtimeSyncService } from '../../src/index.js';
import { FakeTransport, remoteEvent } from './_fake-transport.js';

function setup() {
  const transport = new FakeTransport();
  const service = new RealtimeSyncService({ transport, clock: new ManualClock(1_000) });
  return { transport, service };
}

describe('state', () => {
  test('latest and events of a topic; the same object until a change', () => {
    const { service } = setup();
    service.publish('orders', { id: 1, status: 'new' });
    const observer = new RealtimeObserver<{ id: number; status: string }>(service, 'orders');
    expect(observer.getState().latest).toEqual({ id: 1, status: 'new' });
    const listener = vi.fn();
    observer.subscribe(listener);
    const before = observer.getState();
    expect(observer.getState()).toBe(before);

    const paid = service.publish('orders', { id: 2, status: 'paid' });
    expect(listener).toHaveBeenCalledTimes(1);
    const after = observer.getState();
    expect(after).not.toBe(before);
    expect(after.latest).toEqual({ id: 2, status: 'paid' });
    expect(after.events).toEqual([paid]);
  });

  test('one record: other ids change nothing', () => {
    const { service } = setup();
    const observer = new RealtimeObserver(service, 'orders', { id: 7 });
    const listener = vi.fn();
    observer.subscribe(listener);
    service.publish('orders', { id: 8, status: 'other' });
    expect(listener).not.toHaveBeenCalled();
    service.publish('orders', { id: 7, status: 'mine', version: 2 });
    service.publish('orders', { id: 7, status: 'older', version: 1 });
    expect(observer.getState().latest).toEqual({ id: 7, status: 'mine', version: 2 });
    expect(observer.getState().events.map((e) => (e.new as { status: string }).status)).toEqual(['mine', 'older']);
  });

  test('filter narrows events; maxEvents bounds them, newest last', () => {
    const { service } = setup();
    const observer = new RealtimeObserver<{ n: number }>(service, 't', { filter: (e) => (e.new?.n ?? 0) % 2 === 0, maxEvents: 2 });
    observer.subscribe(() => {});
    for (let n = 1; n <= 7; n++) service.publish('t', { n });
    expect(observer.getState().events.map((e) => e.new?.n)).toEqual([4, 6]);
  });

  test('status follows the service', () => {
    const { service, transport } = setup();
    const observer = new RealtimeObserver(service, 'orders');
    observer.subscribe(() => {});
    transport.status('connected');
    expect(observer.getState().status).toBe('connected');
    transport.status('reconnecting');
    expect(observer.getState().status).toBe('reconnecting');
    transport.deliver(remoteEvent('orders', { id: 1, new: { id: 1 } }));
    expect(observer.getState()).toMatchObject({ status: 'reconnecting', latest: { id: 1 } });
  });
});

describe('subscription', () => {
  test('subscribes to the service with the first listener and leaves with the last', () => {
    const { service } = setup();
    const observer = new RealtimeObserver(service, 'orders');
    expect(service.getSubscriptionCount()).toBe(0);
    const a = observer.subscribe(() => {});
    const b = observer.subscribe(() => {});
    expect(service.getSubscriptionCount()).toBe(1);
    a();
    a();
    expect(service.getSubscriptionCount()).toBe(1);
    b();
    expect(service.getSubscriptionCount()).toBe(0);
  });

  test('picks up what changed while nobody listened', () => {
    const { service } = setup();
    const observer = new RealtimeObserver(service, 'orders');
    service.publish('orders', { id: 1, status: 'late' });
    const listener = vi.fn();
    observer.subscribe(listener);
    expect(observer.getState().latest).toEqual({ id: 1, status: 'late' });
  });

  test('a listener that throws is reported and the others are still called', () => {
    const reported: unknown[] = [];
    vi.stubGlobal('reportError', (error: unknown) => reported.push(error));
    try {
      const { service } = setup();
      const observer = new RealtimeObserver(service, 'orders');
      const second = vi.fn();
      observer.subscribe(() => {
        throw new Error('render bug');
      });
      observer.subscribe(second);
      service.publish('orders', { id: 1 });
      expect(second).toHaveBeenCalledTimes(1);
      expect(reported).toEqual([new Error('render bug')]);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('bad input', () => {
  test.each([
    ['no service', () => new RealtimeObserver(undefined as unknown as RealtimeSyncService, 't')],
    ['an empty topic', () => new RealtimeObserver(setup().service, '')],
    ['a negative maxEvents', () => new RealtimeObserver(setup().service, 't', { maxEvents: -1 })],
    ['a filter that is not a function', () => new RealtimeObserver(setup().service, 't', { filter: 1 as unknown as () => boolean })],
    ['an id that is an object', () => new RealtimeObserver(setup().service, 't', { id: {} as unknown as string })],
  ])('%s: TypeError', (_, make) => {
    expect(make).toThrow(TypeError);
  });
});
