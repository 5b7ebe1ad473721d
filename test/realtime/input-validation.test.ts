import { describe, expect, expectTypeOf, test } from 'vitest';
import { type ChangeEvent, InMemoryTransport, RealtimeSyncService } from '../../src/index.js';
import { FakeTransport } from './_fake-transport.js';

describe('bad input gets a clear TypeError', () => {
  const service = new RealtimeSyncService();

  test.each([[''], [undefined], [null], [42], [{}]])('topic %j', (topic) => {
    expect(() => service.publish(topic as never, { id: 1 })).toThrow(/`topic` must be a non-empty string/);
    expect(() => service.subscribe(topic as never, () => {})).toThrow(TypeError);
    expect(() => service.getLatest(topic as never)).toThrow(TypeError);
  });

  test.each([[null], [undefined], ['text'], [42], [true], [[1, 2]], [() => {}]])('payload %j', (payload) => {
    expect(() => service.publish('t', payload as never)).toThrow(/`payload` must be a record or a change event/);
  });

  test('record id and version of the wrong type', () => {
    expect(() => service.publish('t', { id: { nested: true } })).toThrow(/`record.id` must be a string or a number/);
    expect(() => service.publish('t', { id: 1, version: '2' })).toThrow(/`record.version` must be a finite number/);
    expect(() => service.publish('t', { id: 1, version: Number.NaN })).toThrow(TypeError);
  });

  test('null id and version read as absent', () => {
    const event = service.publish('t', { id: null, version: null, name: 'x' });
    expect(event.id).toBeUndefined();
    expect(event.version).toBeUndefined();
    expect(service.getLatest('t')).toEqual({ id: null, version: null, name: 'x' });
  });

  test('an object with an eventId must be a whole change event on the same topic', () => {
    const valid = { topic: 't', type: 'UPDATE', timestamp: 1, eventId: 'e-1' } as const;
    expect(() => service.publish('t', { ...valid, eventId: '' })).toThrow(/`eventId` must be a non-empty string/);
    expect(() => service.publish('t', { ...valid, eventId: 7 } as never)).toThrow(/`eventId`/);
    expect(() => service.publish('t', { ...valid, type: 'CHANGE' } as never)).toThrow(/`type` must be/);
    expect(() => service.publish('t', { ...valid, timestamp: undefined } as never)).toThrow(/`timestamp`/);
    expect(() => service.publish('t', { ...valid, version: 'x' } as never)).toThrow(/`version`/);
    expect(() => service.publish('t', { ...valid, id: [] } as never)).toThrow(/`id`/);
    expect(() => service.publish('other', valid)).toThrow(/the event's topic is "t"/);
    expect(service.publish('t', valid)).toBe(valid);
  });

  test('subscribe needs a callback function', () => {
    expect(() => service.subscribe('t', undefined as never)).toThrow(/`callback` must be a function/);
  });

  test('getLatest id of the wrong type', () => {
    expect(() => service.getLatest('t', {} as never)).toThrow(/`id` must be a string or a number/);
  });

  test('options', () => {
    expect(() => new RealtimeSyncService(null as never)).toThrow(TypeError);
    expect(() => new RealtimeSyncService({ dedupeLimit: 0 })).toThrow(/`dedupeLimit` must be an integer >= 1/);
    expect(() => new RealtimeSyncService({ dedupeLimit: 1.5 })).toThrow(TypeError);
    expect(() => new RealtimeSyncService({ maxLatestRecords: -1 })).toThrow(/`maxLatestRecords` must be an integer >= 0/);
    expect(() => new RealtimeSyncService({ onResync: 'refetch' as never })).toThrow(/`onResync` must be a function/);
    expect(() => new RealtimeSyncService({ transport: {} as never })).toThrow(/`transport` must implement/);
    expect(() => new RealtimeSyncService({ transport: new InMemoryTransport(), dedupeLimit: 1 })).not.toThrow();
  });

  test('a failed publish sends nothing', () => {
    const transport = new FakeTransport();
    const own = new RealtimeSyncService({ transport });
    expect(() => own.publish('t', 'x' as never)).toThrow(TypeError);
    expect(transport.published).toEqual([]);
  });

  test('publish is typed by what it is given', () => {
    const typed = new RealtimeSyncService();
    const fromRecord = typed.publish('t', { id: 1, status: 'paid' });
    expectTypeOf(fromRecord).toEqualTypeOf<ChangeEvent<{ id: number; status: string }>>();
    const event: ChangeEvent<{ n: number }> = { topic: 't', type: 'INSERT', timestamp: 1, eventId: 'typed-1', new: { n: 1 } };
    expectTypeOf(typed.publish('t', event)).toEqualTypeOf<ChangeEvent<{ n: number }>>();
    expect(fromRecord.new).toEqual({ id: 1, status: 'paid' });
  });
});
