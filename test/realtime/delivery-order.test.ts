import { describe, expect, test } from 'vitest';
import { RealtimeSyncService } from '../../src/index.js';
import { FakeTransport, remoteEvent } from './_fake-transport.js';

describe('delivery order', () => {
  test('a subscriber that publishes: every subscriber sees the cause before the reaction', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const first: string[] = [];
    const last: string[] = [];
    service.subscribe('*', (event) => first.push(event.topic));
    service.subscribe('orders', (event) => service.publish('audit', { id: event.id }));
    service.subscribe('*', (event) => last.push(event.topic));
    service.publish('orders', { id: 1 });
    expect(first).toEqual(['orders', 'audit']);
    expect(last).toEqual(['orders', 'audit']);
    expect(transport.published.map((event) => event.topic)).toEqual(['orders', 'audit']);
  });

  test('the reaction is delivered before the outermost publish returns, and the cache is updated at once', () => {
    const service = new RealtimeSyncService();
    const seen: string[] = [];
    let cachedDuringDelivery: unknown = 'unset';
    service.subscribe('orders', () => {
      service.publish('audit', { id: 'a1' });
      seen.push('published audit');
      cachedDuringDelivery = service.getLatest('audit', 'a1');
    });
    service.subscribe('audit', () => seen.push('audit delivered'));
    service.publish('orders', { id: 1 });
    expect(seen).toEqual(['published audit', 'audit delivered']);
    expect(cachedDuringDelivery).toEqual({ id: 'a1' });
  });

  test('the transport gets local events in publish order, also with reactions several levels deep', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    service.subscribe('a', () => {
      service.publish('b', { id: 'b' });
      service.publish('c', { id: 'c' });
    });
    service.subscribe('b', () => service.publish('d', { id: 'd' }));
    const delivered: string[] = [];
    service.subscribe('*', (event) => delivered.push(event.topic));
    service.publish('a', { id: 'a' });
    expect(transport.published.map((event) => event.topic)).toEqual(['a', 'b', 'c', 'd']);
    expect(delivered).toEqual(['a', 'b', 'c', 'd']);
  });

  test('events from the transport arriving during a delivery are delivered after it, in arrival order', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const delivered: string[] = [];
    service.subscribe('*', (event) => {
      delivered.push(event.eventId);
      if (event.eventId === 'r1') {
        transport.deliver(remoteEvent('t', { eventId: 'r2' }));
        transport.deliver(remoteEvent('t', { eventId: 'r3' }));
      }
    });
    service.subscribe('*', (event) => delivered.push(`${event.eventId} (second)`));
    transport.deliver(remoteEvent('t', { eventId: 'r1' }));
    expect(delivered).toEqual(['r1', 'r1 (second)', 'r2', 'r2 (second)', 'r3', 'r3 (second)']);
  });

  test('a subscriber that throws while reactions are queued does not lose them', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    service.on('error', () => {});
    service.subscribe('a', () => {
      service.publish('b', { id: 'b' });
      throw new Error('after publishing');
    });
    const delivered: string[] = [];
    service.subscribe('*', (event) => delivered.push(event.topic));
    service.publish('a', { id: 'a' });
    service.publish('c', { id: 'c' });
    expect(delivered).toEqual(['a', 'b', 'c']);
    expect(transport.published.map((event) => event.topic)).toEqual(['a', 'b', 'c']);
  });
});
