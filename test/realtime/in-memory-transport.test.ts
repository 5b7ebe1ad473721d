import { describe, expect, test, vi } from 'vitest';
import { type ChangeEvent, InMemoryTransport, RealtimeSyncService } from '../../src/index.js';

function pair() {
  const bus = new InMemoryTransport();
  const a = new RealtimeSyncService({ transport: bus });
  const b = new RealtimeSyncService({ transport: bus });
  return { bus, a, b };
}

describe('InMemoryTransport', () => {
  test('two services on one bus hear each other, each event exactly once, own events not doubled', () => {
    const { a, b } = pair();
    const seenA: ChangeEvent[] = [];
    const seenB: ChangeEvent[] = [];
    a.subscribe('orders', (event) => seenA.push(event));
    b.subscribe('orders', (event) => seenB.push(event));
    const fromA = a.publish('orders', { id: 1 });
    const fromB = b.publish('orders', { id: 2 });
    expect(seenA).toEqual([fromA, fromB]);
    expect(seenB).toEqual([fromA, fromB]);
  });

  test('delivery to the other service is synchronous and updates its latest state', () => {
    const { a, b } = pair();
    const record = { id: 1, version: 3 };
    a.publish('orders', record);
    expect(b.getLatest('orders', 1)).toBe(record);
  });

  test('a service on its own default transport does not hear another one', () => {
    const a = new RealtimeSyncService();
    const b = new RealtimeSyncService();
    const heard = vi.fn();
    b.subscribe('t', heard);
    a.publish('t', { id: 1 });
    expect(heard).not.toHaveBeenCalled();
  });

  test('three services: every service hears every event once', () => {
    const bus = new InMemoryTransport();
    const services = [0, 1, 2].map(() => new RealtimeSyncService({ transport: bus }));
    const counts = services.map(() => new Map<string, number>());
    services.forEach((service, i) =>
      service.subscribe('*', (event) => counts[i]!.set(event.eventId, (counts[i]!.get(event.eventId) ?? 0) + 1)),
    );
    const ids = services.flatMap((service, i) => [service.publish('t', { id: i }), service.publish('u', { id: i })]).map((e) => e.eventId);
    for (const count of counts) {
      expect([...count.keys()].sort()).toEqual([...ids].sort());
      expect([...count.values()].every((n) => n === 1)).toBe(true);
    }
  });

  test('a subscriber that publishes during delivery: the other service receives events in publish order', () => {
    const { a, b } = pair();
    let reacted = false;
    a.subscribe('orders', () => {
      if (reacted) return;
      reacted = true;
      a.publish('audit', { id: 'log-1' });
    });
    const received: string[] = [];
    b.subscribe('*', (event) => received.push(event.topic));
    a.publish('orders', { id: 1 });
    expect(received).toEqual(['orders', 'audit']);
  });

  test('a chain of reactions across services keeps publish order on each side', () => {
    const { a, b } = pair();
    // b answers every order with an ack; a logs every ack it hears with a note.
    b.subscribe('orders', (event) => b.publish('acks', { id: event.id }));
    a.subscribe('acks', (event) => a.publish('notes', { id: event.id }));
    const topicsB: string[] = [];
    b.subscribe('*', (event) => topicsB.push(`${event.topic}:${String(event.id)}`));
    a.publish('orders', { id: 1 });
    a.publish('orders', { id: 2 });
    expect(topicsB).toEqual(['orders:1', 'acks:1', 'notes:1', 'orders:2', 'acks:2', 'notes:2']);
  });

  test('transport.publish called directly reaches every connected service', () => {
    const { bus, a, b } = pair();
    const heard = vi.fn();
    a.subscribe('t', heard);
    b.subscribe('t', heard);
    bus.publish({ topic: 't', type: 'BROADCAST', timestamp: 1, eventId: 'direct-1' });
    expect(heard).toHaveBeenCalledTimes(2);
  });

  test('close() disconnects every service; a closed bus cannot be connected to', () => {
    const { bus, a, b } = pair();
    const heard = vi.fn();
    b.subscribe('t', heard);
    bus.close();
    expect(bus.connectionCount).toBe(0);
    a.publish('t', { id: 1 });
    expect(heard).not.toHaveBeenCalled();
    expect(() => new RealtimeSyncService({ transport: bus })).toThrow(/closed/);
  });
});
