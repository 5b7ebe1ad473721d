import { afterEach, describe, expect, test, vi } from 'vitest';
import { BroadcastChannelTransport, type RealtimeStatus, RealtimeSyncService } from '../../src/index.js';

// Real Chromium: BroadcastChannel delivers to every other channel object of the same name in the
// origin, including ones in the same page, never to the sender itself.
const services: RealtimeSyncService[] = [];

function uniqueName(): string {
  return `closed-loop-browser-${Math.random().toString(36).slice(2)}`;
}

function serviceOn(name: string, onResync?: () => void): RealtimeSyncService {
  const service = new RealtimeSyncService({
    transport: new BroadcastChannelTransport(name),
    ...(onResync ? { onResync } : {}),
  });
  services.push(service);
  return service;
}

afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.destroy()));
});

describe('BroadcastChannelTransport in Chromium', () => {
  test('two services in one page hear each other: every event exactly once on each, in order', async () => {
    const name = uniqueName();
    const a = serviceOn(name);
    const b = serviceOn(name);
    const countsA = new Map<string, number>();
    const countsB = new Map<string, number>();
    const orderB: string[] = [];
    a.subscribe('*', (event) => countsA.set(event.eventId, (countsA.get(event.eventId) ?? 0) + 1));
    b.subscribe('*', (event) => {
      countsB.set(event.eventId, (countsB.get(event.eventId) ?? 0) + 1);
      orderB.push(event.eventId);
    });
    const fromA = Array.from({ length: 50 }, (_, i) => a.publish(i % 2 ? 'odd' : 'even', { id: i }).eventId);
    const fromB = Array.from({ length: 10 }, (_, i) => b.publish('b', { id: i }).eventId);
    await vi.waitFor(() => {
      expect(countsA.size).toBe(60);
      expect(countsB.size).toBe(60);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const counts of [countsA, countsB]) expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(orderB.filter((id) => fromA.includes(id))).toEqual(fromA);
    expect(orderB.slice(0, 10)).toEqual(fromB);
  });

  test('three services: a publish from one reaches both others once', async () => {
    const name = uniqueName();
    const [a, b, c] = [serviceOn(name), serviceOn(name), serviceOn(name)];
    const heardB = vi.fn();
    const heardC = vi.fn();
    b.subscribe('t', heardB);
    c.subscribe('t', heardC);
    const event = a.publish('t', { id: 1 });
    await vi.waitFor(() => {
      expect(heardB).toHaveBeenCalledTimes(1);
      expect(heardC).toHaveBeenCalledTimes(1);
    });
    expect(heardB.mock.calls[0]![0]).toEqual(event);
  });

  test('a page restored from the back/forward cache reports resynced and runs onResync', () => {
    const onResync = vi.fn();
    const service = serviceOn(uniqueName(), onResync);
    const statuses: RealtimeStatus[] = [];
    service.on('status', (status) => statuses.push(status));
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: false }));
    expect(statuses).toEqual([]);
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    expect(statuses).toEqual(['resynced']);
    expect(onResync).toHaveBeenCalledTimes(1);
  });

  test('after destroy, pageshow no longer reaches the service', async () => {
    const onResync = vi.fn();
    const service = serviceOn(uniqueName(), onResync);
    await service.destroy();
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    expect(onResync).not.toHaveBeenCalled();
    expect(service.status).toBe('closed');
  });
});
