import { describe, expect, test, vi } from 'vitest';
import { type ChangeEvent, RealtimeSyncService } from '../../src/index.js';
import { FakeTransport, remoteEvent } from './_fake-transport.js';

describe('each eventId is delivered once', () => {
  test('an event arriving twice from the transport is delivered once', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const callback = vi.fn();
    service.subscribe('t', callback);
    const event = remoteEvent('t', { id: 1, new: { id: 1 } });
    transport.deliver(event);
    transport.deliver({ ...event });
    transport.deliver(JSON.parse(JSON.stringify(event)));
    expect(callback).toHaveBeenCalledTimes(1);
  });

  test.each(['sync', 'microtask'] as const)(
    'with a transport that echoes every publish (%s), the publisher\'s subscribers still get each event once',
    async (echo) => {
      const transport = new FakeTransport();
      transport.echo = echo;
      const service = new RealtimeSyncService({ transport });
      const seen: ChangeEvent[] = [];
      service.subscribe('t', (event) => seen.push(event));
      const a = service.publish('t', { id: 1 });
      const b = service.publish('t', { id: 2 });
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(seen).toEqual([a, b]);
      expect(transport.published).toEqual([a, b]);
    },
  );

  test('publishing the same event object twice delivers and sends it once', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const callback = vi.fn();
    service.subscribe('t', callback);
    const event = remoteEvent('t', { id: 1, new: { id: 1 } });
    expect(service.publish('t', event)).toBe(event);
    expect(service.publish('t', { ...event })).toEqual(event);
    expect(callback).toHaveBeenCalledTimes(1);
    expect(transport.published).toHaveLength(1);
  });

  test('republishing an event this service generated is a no-op', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const callback = vi.fn();
    service.subscribe('t', callback);
    const event = service.publish('t', { id: 1 });
    service.publish('t', event);
    service.publish('t', JSON.parse(JSON.stringify(event)));
    expect(callback).toHaveBeenCalledTimes(1);
    expect(transport.published).toHaveLength(1);
  });

  test('an event first published locally and then heard from the transport is delivered once', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const callback = vi.fn();
    service.subscribe('t', callback);
    const event = remoteEvent('t', { id: 9, new: { id: 9 } });
    service.publish('t', event);
    transport.deliver(JSON.parse(JSON.stringify(event)));
    expect(callback).toHaveBeenCalledTimes(1);
  });

  test('an event heard from the transport and then published locally is not delivered or sent again', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const callback = vi.fn();
    service.subscribe('t', callback);
    const event = remoteEvent('t', { id: 9, new: { id: 9 } });
    transport.deliver(event);
    service.publish('t', event);
    expect(callback).toHaveBeenCalledTimes(1);
    expect(transport.published).toHaveLength(0);
  });

  test('the memory of seen ids is bounded by dedupeLimit: the oldest ids are forgotten first', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport, dedupeLimit: 3 });
    const ids: string[] = [];
    service.subscribe('t', (event) => ids.push(event.eventId));
    const events = ['e1', 'e2', 'e3', 'e4'].map((eventId) => remoteEvent('t', { eventId }));
    for (const event of events) transport.deliver(event);
    // e2..e4 are remembered: dropped.
    for (const event of [...events].reverse().slice(0, 3)) transport.deliver(event);
    expect(ids).toEqual(['e1', 'e2', 'e3', 'e4']);
    // e1 fell out: delivered again, and remembered in place of the oldest (e2).
    transport.deliver(events[0]);
    transport.deliver(events[0]);
    expect(ids).toEqual(['e1', 'e2', 'e3', 'e4', 'e1']);
    transport.deliver(events[3]);
    transport.deliver(events[1]);
    expect(ids).toEqual(['e1', 'e2', 'e3', 'e4', 'e1', 'e2']);
  });

  test('own events are recognised without using the dedupe memory', () => {
    const transport = new FakeTransport();
    transport.echo = 'sync';
    const service = new RealtimeSyncService({ transport, dedupeLimit: 1 });
    const callback = vi.fn();
    service.subscribe('t', callback);
    const own = Array.from({ length: 5 }, (_, id) => service.publish('t', { id }));
    // Echo them all again, late: still dropped although the memory holds a single id.
    for (const event of own) transport.deliver(JSON.parse(JSON.stringify(event)));
    expect(callback).toHaveBeenCalledTimes(5);
  });

  test('generated event ids are unique within a service and across services', () => {
    const a = new RealtimeSyncService();
    const b = new RealtimeSyncService();
    const ids = new Set<string>();
    for (let i = 0; i < 2_500; i++) {
      ids.add(a.publish('t', { id: i }).eventId);
      ids.add(b.publish('t', { id: i }).eventId);
    }
    expect(ids.size).toBe(5_000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}:\d{3,}$/);
  });
});
