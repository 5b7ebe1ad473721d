// RealtimeSyncService.on and RealtimeObserver.subscribe: each call is one registration, removed by
// its own remover only.
import { expect, test, vi } from 'vitest';
import { RealtimeObserver, RealtimeSyncService } from '../../src/index.js';
import { FakeTransport } from './_fake-transport.js';

test("on('status'): the same listener twice, one removed, is still called", () => {
  const transport = new FakeTransport();
  const service = new RealtimeSyncService({ transport });
  const listener = vi.fn();
  const off = service.on('status', listener);
  service.on('status', listener);
  transport.status('connected');
  expect(listener.mock.calls).toEqual([['connected'], ['connected']]);
  off();
  off();
  transport.status('reconnecting');
  expect(listener).toHaveBeenCalledTimes(3);
});

test('RealtimeObserver: the same listener twice, one unsubscribed, keeps the observer subscribed', () => {
  const service = new RealtimeSyncService();
  const observer = new RealtimeObserver(service, 'orders');
  const listener = vi.fn();
  const stop = observer.subscribe(listener);
  observer.subscribe(listener);
  stop();
  expect(service.getSubscriptionCount('orders')).toBe(1);
  service.publish('orders', { id: 1 });
  expect(listener).toHaveBeenCalledTimes(1);
  expect(listener).toHaveBeenCalledWith();
});
