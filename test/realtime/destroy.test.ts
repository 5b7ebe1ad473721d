import { describe, expect, test, vi } from 'vitest';
import { InMemoryTransport, isClosedLoopError, REALTIME_DESTROYED, RealtimeSyncService } from '../../src/index.js';
import { FakeTransport, remoteEvent } from './_fake-transport.js';

describe('destroy', () => {
  test('drops every subscription, clears the cache and closes the transport once', async () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const callback = vi.fn();
    service.subscribe('a', callback);
    service.subscribe('*', callback);
    service.publish('a', { id: 1 });
    expect(callback).toHaveBeenCalledTimes(2);
    const done = service.destroy();
    expect(service.destroy()).toBe(done);
    await done;
    expect(transport.closed).toBe(1);
    expect(service.getSubscriptionCount()).toBe(0);
    expect(service.getLatest('a', 1)).toBeUndefined();
    transport.deliver(remoteEvent('a'));
    expect(callback).toHaveBeenCalledTimes(2);
  });

  test('publish and subscribe on a destroyed service throw a REALTIME_DESTROYED error', async () => {
    const service = new RealtimeSyncService();
    await service.destroy();
    for (const call of [() => service.publish('a', { id: 1 }), () => service.subscribe('a', () => {})]) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(isClosedLoopError(error)).toBe(true);
      expect((error as { code: string }).code).toBe(REALTIME_DESTROYED);
    }
  });

  test('an unsubscribe function called after destroy does nothing', async () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const stop = service.subscribe('a', () => {});
    await service.destroy();
    expect(() => stop()).not.toThrow();
    expect(transport.calls).not.toContain('unwatch a');
  });

  test('destroyed from inside a delivery: the remaining subscribers are not called, nothing is sent', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const later = vi.fn();
    service.subscribe('a', () => void service.destroy());
    service.subscribe('a', later);
    service.publish('a', { id: 1 });
    expect(later).not.toHaveBeenCalled();
    expect(transport.published).toEqual([]);
  });

  test('the returned promise rejects when closing the transport fails', async () => {
    const transport = new FakeTransport();
    const failure = new Error('quit failed');
    transport.close = () => Promise.reject(failure);
    const service = new RealtimeSyncService({ transport });
    await expect(service.destroy()).rejects.toBe(failure);
    expect(service.status).toBe('closed');
  });

  test('on a shared InMemoryTransport, destroy disconnects only this service', async () => {
    const bus = new InMemoryTransport();
    const a = new RealtimeSyncService({ transport: bus });
    const b = new RealtimeSyncService({ transport: bus });
    const c = new RealtimeSyncService({ transport: bus });
    expect(bus.connectionCount).toBe(3);
    const heard = vi.fn();
    c.subscribe('t', heard);
    await a.destroy();
    expect(bus.connectionCount).toBe(2);
    b.publish('t', { id: 1 });
    expect(heard).toHaveBeenCalledTimes(1);
  });
});
