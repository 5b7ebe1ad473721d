import { describe, expect, test } from 'vitest';
import {
  type ChangeEvent,
  isClosedLoopError,
  isTimeoutError,
  ManualClock,
  REALTIME_DESTROYED,
  RealtimeSyncService,
  TimeoutError,
} from '../../src/index.js';
import { FakeTransport, remoteEvent } from './_fake-transport.js';

/** Tracks a promise's outcome without awaiting it. */
function observe<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

function setup() {
  const clock = new ManualClock();
  const transport = new FakeTransport();
  const service = new RealtimeSyncService({ clock, transport });
  return { clock, transport, service };
}

describe('waitForChange', () => {
  test('resolves with the first event on the topic, then leaves no subscription and no timer behind', async () => {
    const { service, clock } = setup();
    const wait = service.waitForChange('orders');
    expect(service.getSubscriptionCount()).toBe(1);
    expect(clock.pendingTimers).toBe(1);
    service.publish('other', { id: 1 });
    const event = service.publish('orders', { id: 1 });
    service.publish('orders', { id: 2 });
    await expect(wait).resolves.toBe(event);
    expect(service.getSubscriptionCount()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  test('resolves with the first event the predicate accepts, from the transport too', async () => {
    const { service, transport } = setup();
    const wait = service.waitForChange<{ status: string }>('orders', (event) => event.new?.status === 'paid');
    service.publish('orders', { id: 1, status: 'new' });
    const paid = remoteEvent('orders', { id: 1, new: { id: 1, status: 'paid' } });
    transport.deliver(paid);
    await expect(wait).resolves.toBe(paid);
  });

  test("'*' waits for a change on any topic", async () => {
    const { service } = setup();
    const wait = service.waitForChange('*');
    const event = service.publish('anything', { id: 1 });
    await expect(wait).resolves.toBe(event);
  });

  test('rejects with TimeoutError at the deadline on the clock (default 30 s), not before', async () => {
    const { service, clock } = setup();
    const state = observe(service.waitForChange('orders'));
    await clock.advance(29_999);
    expect(state.settled).toBe(false);
    await clock.advance(1);
    expect(state.error).toBeInstanceOf(TimeoutError);
    expect(isTimeoutError(state.error)).toBe(true);
    expect((state.error as TimeoutError).timeoutMs).toBe(30_000);
    expect((state.error as Error).message).toMatch(/"orders"/);
    expect(service.getSubscriptionCount()).toBe(0);
    // An event after the deadline does not resurrect it.
    service.publish('orders', { id: 1 });
    expect(state.value).toBeUndefined();
  });

  test('a custom timeout, and Infinity for none', async () => {
    const { service, clock } = setup();
    const short = observe(service.waitForChange('t', undefined, 50));
    const forever = observe(service.waitForChange('t', () => false, Number.POSITIVE_INFINITY));
    await clock.advance(50);
    expect(isTimeoutError(short.error)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(10 ** 9);
    expect(forever.settled).toBe(false);
    expect(service.getSubscriptionCount()).toBe(1);
  });

  test('an event that arrives before the deadline clears the timer', async () => {
    const { service, clock } = setup();
    const state = observe(service.waitForChange('t', undefined, 1_000));
    await clock.advance(999);
    service.publish('t', { id: 1 });
    await clock.advance(10_000);
    expect(state.error).toBeUndefined();
    expect((state.value as ChangeEvent).id).toBe(1);
  });

  test('a predicate that throws rejects the wait with that error and cleans up', async () => {
    const { service, clock } = setup();
    const failure = new Error('bad predicate');
    const wait = service.waitForChange('t', () => {
      throw failure;
    });
    service.publish('t', { id: 1 });
    await expect(wait).rejects.toBe(failure);
    expect(service.getSubscriptionCount()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  test('destroy() rejects pending waits with a REALTIME_DESTROYED error and clears their timers', async () => {
    const { service, clock } = setup();
    const a = service.waitForChange('a');
    const b = service.waitForChange('*', () => true, 5_000);
    void service.destroy();
    for (const wait of [a, b]) {
      const error = await wait.catch((e: unknown) => e);
      expect(isClosedLoopError(error)).toBe(true);
      expect((error as { code: string }).code).toBe(REALTIME_DESTROYED);
      expect((error as Error).message).toMatch(/destroyed/);
    }
    expect(clock.pendingTimers).toBe(0);
    await expect(service.waitForChange('a')).rejects.toThrow(/destroyed/);
  });

  test('invalid arguments reject with a TypeError and start nothing', async () => {
    const { service, clock } = setup();
    await expect(service.waitForChange('')).rejects.toThrow(TypeError);
    await expect(service.waitForChange('t', 'paid' as never)).rejects.toThrow(
      new TypeError('closed-loop: waitForChange(): `predicate` must be a function'),
    );
    await expect(service.waitForChange('t', undefined, -1)).rejects.toThrow(
      new TypeError('closed-loop: waitForChange(): `timeoutMs` must be a number >= 0, got -1'),
    );
    await expect(service.waitForChange('t', undefined, Number.NaN)).rejects.toThrow(/`timeoutMs` must be a number >= 0, got NaN/);
    await expect(service.waitForChange('t', undefined, '10' as never)).rejects.toThrow(/`timeoutMs` must be a number >= 0, got "10"/);
    expect(service.getSubscriptionCount()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });
});
