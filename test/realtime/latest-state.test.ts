import { describe, expect, test, vi } from 'vitest';
import { ManualClock, RealtimeSyncService } from '../../src/index.js';
import { FakeTransport, remoteEvent } from './_fake-transport.js';

function setup(options: { maxLatestRecords?: number } = {}) {
  const clock = new ManualClock(1_000);
  const transport = new FakeTransport();
  const service = new RealtimeSyncService({ transport, clock, ...options });
  return { clock, transport, service };
}

describe('the latest-state cache', () => {
  test('getLatest(topic, id) is the newest record published for that id; unknown ids and topics are undefined', () => {
    const { service } = setup();
    service.publish('orders', { id: 1, status: 'new', version: 1 });
    service.publish('orders', { id: 2, status: 'new', version: 1 });
    const paid = { id: 1, status: 'paid', version: 2 };
    service.publish('orders', paid);
    expect(service.getLatest('orders', 1)).toBe(paid);
    expect(service.getLatest('orders', 2)).toEqual({ id: 2, status: 'new', version: 1 });
    expect(service.getLatest('orders', 3)).toBeUndefined();
    expect(service.getLatest('other', 1)).toBeUndefined();
  });

  test('string and number ids are different records', () => {
    const { service } = setup();
    service.publish('t', { id: 1, v: 'number' });
    service.publish('t', { id: '1', v: 'string' });
    expect(service.getLatest('t', 1)).toEqual({ id: 1, v: 'number' });
    expect(service.getLatest('t', '1')).toEqual({ id: '1', v: 'string' });
  });

  test('by version: an event with a lower version arriving later does not replace the cached record, but is still delivered', () => {
    const { service, transport } = setup();
    const delivered = vi.fn();
    service.subscribe('orders', delivered);
    const v3 = { id: 1, status: 'shipped', version: 3 };
    service.publish('orders', v3);
    transport.deliver(remoteEvent('orders', { id: 1, version: 2, timestamp: 9_999, new: { id: 1, status: 'paid', version: 2 } }));
    service.publish('orders', { id: 1, status: 'new', version: 1 });
    expect(service.getLatest('orders', 1)).toBe(v3);
    expect(delivered).toHaveBeenCalledTimes(3);
    const v4 = { id: 1, status: 'delivered', version: 4 };
    transport.deliver(remoteEvent('orders', { id: 1, version: 4, timestamp: 0, new: v4 }));
    expect(service.getLatest('orders', 1)).toBe(v4);
  });

  test('by timestamp when the events carry no version: an older event does not replace a newer one', async () => {
    const { service, transport, clock } = setup();
    await clock.advance(500); // now 1500
    const current = { id: 'a', name: 'current' };
    service.publish('users', current);
    transport.deliver(remoteEvent('users', { id: 'a', timestamp: 1_200, new: { id: 'a', name: 'old' } }));
    expect(service.getLatest('users', 'a')).toBe(current);
    const newer = { id: 'a', name: 'newer' };
    transport.deliver(remoteEvent('users', { id: 'a', timestamp: 1_600, new: newer }));
    expect(service.getLatest('users', 'a')).toBe(newer);
    await clock.advance(500); // now 2000
    const mine = { id: 'a', name: 'mine' };
    service.publish('users', mine);
    expect(service.getLatest('users', 'a')).toBe(mine);
  });

  test('when only one side has a version, timestamps decide', () => {
    const { service, transport } = setup();
    const versioned = { id: 1, version: 5 };
    transport.deliver(remoteEvent('t', { id: 1, version: 5, timestamp: 2_000, new: versioned }));
    transport.deliver(remoteEvent('t', { id: 1, timestamp: 1_500, new: { id: 1 } }));
    expect(service.getLatest('t', 1)).toBe(versioned);
    const later = { id: 1 };
    transport.deliver(remoteEvent('t', { id: 1, timestamp: 2_500, new: later }));
    expect(service.getLatest('t', 1)).toBe(later);
  });

  test('equal versions: the later timestamp wins; an exact tie goes to the event that arrived last', () => {
    const { service, transport } = setup();
    transport.deliver(remoteEvent('t', { id: 1, version: 2, timestamp: 2_000, new: { n: 'first' } }));
    transport.deliver(remoteEvent('t', { id: 1, version: 2, timestamp: 1_000, new: { n: 'earlier' } }));
    expect(service.getLatest('t', 1)).toEqual({ n: 'first' });
    transport.deliver(remoteEvent('t', { id: 1, version: 2, timestamp: 2_000, new: { n: 'tie' } }));
    expect(service.getLatest('t', 1)).toEqual({ n: 'tie' });
  });

  test('DELETE: the record reads undefined, and a late older update does not bring it back', () => {
    const { service, transport } = setup();
    service.publish('orders', { id: 1, version: 2 });
    transport.deliver(remoteEvent('orders', { type: 'DELETE', id: 1, version: 3, timestamp: 1_000 }));
    expect(service.getLatest('orders', 1)).toBeUndefined();
    transport.deliver(remoteEvent('orders', { id: 1, version: 2, timestamp: 5_000, new: { id: 1, version: 2 } }));
    expect(service.getLatest('orders', 1)).toBeUndefined();
    // A delete wins a tie with an update of the same version.
    transport.deliver(remoteEvent('orders', { id: 1, version: 3, timestamp: 1_000, new: { id: 1, version: 3 } }));
    expect(service.getLatest('orders', 1)).toBeUndefined();
    const recreated = { id: 1, version: 4 };
    transport.deliver(remoteEvent('orders', { type: 'INSERT', id: 1, version: 4, timestamp: 1_000, new: recreated }));
    expect(service.getLatest('orders', 1)).toBe(recreated);
  });

  test('a DELETE for a record never seen still guards against an older update', () => {
    const { service, transport } = setup();
    transport.deliver(remoteEvent('t', { type: 'DELETE', id: 7, version: 2 }));
    transport.deliver(remoteEvent('t', { id: 7, version: 1, new: { id: 7 } }));
    expect(service.getLatest('t', 7)).toBeUndefined();
  });

  test('getLatest(topic) is the record of the change accepted last on the topic; a stale event does not count', () => {
    const { service, transport } = setup();
    expect(service.getLatest('orders')).toBeUndefined();
    const one = { id: 1, version: 2 };
    const two = { id: 2, version: 1 };
    service.publish('orders', one);
    service.publish('orders', two);
    expect(service.getLatest('orders')).toBe(two);
    transport.deliver(remoteEvent('orders', { id: 1, version: 1, new: { id: 1, version: 1 } }));
    expect(service.getLatest('orders')).toBe(two);
    const oneAgain = { id: 1, version: 3 };
    service.publish('orders', oneAgain);
    expect(service.getLatest('orders')).toBe(oneAgain);
  });

  test('getLatest(topic) after the latest record was deleted: the previous live record', () => {
    const { service, transport } = setup();
    const one = { id: 1 };
    service.publish('orders', one);
    service.publish('orders', { id: 2 });
    transport.deliver(remoteEvent('orders', { type: 'DELETE', id: 2, timestamp: 5_000 }));
    expect(service.getLatest('orders')).toBe(one);
    transport.deliver(remoteEvent('orders', { type: 'DELETE', id: 1, timestamp: 5_000 }));
    expect(service.getLatest('orders')).toBeUndefined();
  });

  test('records without an id are one record of their topic, ordered like any other', () => {
    const { service, transport } = setup();
    const settings = { theme: 'dark', version: 2 };
    service.publish('settings', settings);
    transport.deliver(remoteEvent('settings', { version: 1, new: { theme: 'light', version: 1 } }));
    expect(service.getLatest('settings')).toBe(settings);
    const newer = { theme: 'blue', version: 3 };
    transport.deliver(remoteEvent('settings', { version: 3, new: newer }));
    expect(service.getLatest('settings')).toBe(newer);
  });

  test('BROADCAST events and updates without a record leave the cache alone', () => {
    const { service, transport } = setup();
    const record = { id: 1 };
    service.publish('t', record);
    transport.deliver(remoteEvent('t', { type: 'BROADCAST', id: 1, timestamp: 9_000, new: { id: 1, typing: true } }));
    transport.deliver(remoteEvent('t', { type: 'UPDATE', id: 1, timestamp: 9_000 }));
    expect(service.getLatest('t', 1)).toBe(record);
    expect(service.getLatest('t')).toBe(record);
  });

  test('a subscriber reading getLatest during delivery sees the event it was given', () => {
    const { service } = setup();
    const read: unknown[] = [];
    service.subscribe('t', (event) => read.push(service.getLatest('t', event.id)));
    const record = { id: 1, version: 1 };
    service.publish('t', record);
    expect(read).toEqual([record]);
  });

  test('maxLatestRecords bounds the cache: the least recently changed record is dropped first', () => {
    const { service } = setup({ maxLatestRecords: 2 });
    service.publish('a', { id: 1 });
    service.publish('b', { id: 2 });
    service.publish('a', { id: 1, touched: true }); // 1 is now more recent than 2
    service.publish('c', { id: 3 }); // drops 2
    expect(service.getLatest('a', 1)).toEqual({ id: 1, touched: true });
    expect(service.getLatest('b', 2)).toBeUndefined();
    expect(service.getLatest('b')).toBeUndefined();
    expect(service.getLatest('c', 3)).toEqual({ id: 3 });
    service.publish('c', { id: 4 }); // drops 1
    expect(service.getLatest('a', 1)).toBeUndefined();
    expect(service.getLatest('c')).toEqual({ id: 4 });
  });

  test('evicting the latest record of a topic leaves getLatest(topic) with the newest one still held', () => {
    const { service } = setup({ maxLatestRecords: 2 });
    service.publish('a', { id: 1 });
    service.publish('a', { id: 2 });
    service.publish('a', { id: 1, again: true });
    service.publish('b', { id: 9 }); // drops a/2
    expect(service.getLatest('a')).toEqual({ id: 1, again: true });
  });

  test('maxLatestRecords: 0 turns the cache off', () => {
    const { service } = setup({ maxLatestRecords: 0 });
    service.publish('t', { id: 1 });
    expect(service.getLatest('t', 1)).toBeUndefined();
    expect(service.getLatest('t')).toBeUndefined();
  });
});
