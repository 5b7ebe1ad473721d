import { describe, expect, test, vi } from 'vitest';
import { ManualClock, RealtimeSyncService } from '../../src/index.js';
import { FakeTransport } from './_fake-transport.js';

describe('publishChange', () => {
  test('publishes a DELETE with a fresh id and the clock time; the record then reads undefined', () => {
    const clock = new ManualClock(5_000);
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ clock, transport });
    const seen = vi.fn();
    service.subscribe('orders', seen);
    const created = service.publish('orders', { id: 7, version: 1 });
    const deleted = service.publishChange('orders', { type: 'DELETE', id: 7, version: 2, old: { id: 7, version: 1 } });
    expect(deleted).toMatchObject({ topic: 'orders', type: 'DELETE', id: 7, version: 2, timestamp: 5_000 });
    expect(deleted.eventId).not.toBe(created.eventId);
    expect(seen.mock.calls).toEqual([[created], [deleted]]);
    expect(transport.published).toEqual([created, deleted]);
    expect(service.getLatest('orders', 7)).toBeUndefined();
  });

  test('an explicit timestamp is kept, and orders the change in the cache', () => {
    const clock = new ManualClock(5_000);
    const service = new RealtimeSyncService({ clock });
    service.publish('t', { id: 1, name: 'now' });
    const late = service.publishChange('t', { type: 'INSERT', id: 1, new: { id: 1, name: 'from before' }, timestamp: 4_000 });
    expect(late.timestamp).toBe(4_000);
    expect(service.getLatest('t', 1)).toEqual({ id: 1, name: 'now' });
  });

  test('a BROADCAST reaches subscribers and leaves the cache alone', () => {
    const service = new RealtimeSyncService();
    const seen = vi.fn();
    service.subscribe('chat', seen);
    const event = service.publishChange('chat', { type: 'BROADCAST', new: { typing: 'ana' } });
    expect(seen).toHaveBeenCalledWith(event);
    expect(service.getLatest('chat')).toBeUndefined();
  });

  test('bad changes are TypeErrors and publish nothing', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    expect(() => service.publishChange('t', { type: 'REMOVE' } as never)).toThrow(/`type` must be/);
    expect(() => service.publishChange('t', { type: 'DELETE', id: {} } as never)).toThrow(/`id`/);
    expect(() => service.publishChange('t', { type: 'UPDATE', version: 'x' } as never)).toThrow(/`version`/);
    expect(() => service.publishChange('t', { type: 'UPDATE', timestamp: Number.NaN })).toThrow(/`timestamp`/);
    expect(() => service.publishChange('t', null as never)).toThrow(/`change` must be an object/);
    expect(() => service.publishChange('*', { type: 'BROADCAST' })).toThrow(TypeError);
    expect(transport.published).toEqual([]);
  });
});
