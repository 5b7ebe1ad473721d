import { afterEach, describe, expect, test, vi } from 'vitest';
import { RealtimeSyncService } from '../../src/index.js';
import { FakeTransport, remoteEvent } from './_fake-transport.js';

const g = globalThis as { reportError?: (error: unknown) => void };
const originalReportError = g.reportError;

afterEach(() => {
  if (originalReportError === undefined) delete g.reportError;
  else g.reportError = originalReportError;
});

describe('a subscriber that throws', () => {
  test('does not stop delivery to the other subscribers, and is reported through the error event', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const errors: unknown[][] = [];
    service.on('error', (error, context) => errors.push([error, context]));
    const failure = new Error('render failed');
    const before = vi.fn();
    const after = vi.fn();
    const wildcard = vi.fn();
    service.subscribe('t', before);
    service.subscribe('t', () => {
      throw failure;
    });
    service.subscribe('t', after);
    service.subscribe('*', wildcard);
    const event = service.publish('t', { id: 1 });
    expect(before).toHaveBeenCalledWith(event);
    expect(after).toHaveBeenCalledWith(event);
    expect(wildcard).toHaveBeenCalledWith(event);
    expect(errors).toEqual([[failure, { source: 'subscriber', topic: 't', event }]]);
    // The publish itself went through.
    expect(transport.published).toEqual([event]);
  });

  test('an event from the transport is delivered to the others too', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const errors = vi.fn();
    service.on('error', errors);
    service.subscribe('t', () => {
      throw new Error('x');
    });
    const other = vi.fn();
    service.subscribe('t', other);
    transport.deliver(remoteEvent('t'));
    expect(other).toHaveBeenCalledTimes(1);
    expect(errors).toHaveBeenCalledTimes(1);
  });

  test('every error listener is called; removing one with its returned function stops it', () => {
    const service = new RealtimeSyncService();
    const first = vi.fn();
    const second = vi.fn();
    const off = service.on('error', first);
    service.on('error', second);
    service.subscribe('t', () => {
      throw new Error('x');
    });
    service.publish('t', { id: 1 });
    off();
    off();
    service.publish('t', { id: 2 });
    expect(first).toHaveBeenCalledTimes(1);
    expect(second).toHaveBeenCalledTimes(2);
  });

  test('with no error listener, the error is reported as uncaught (reportError) and delivery goes on', () => {
    const reported: unknown[] = [];
    g.reportError = (error) => reported.push(error);
    const service = new RealtimeSyncService();
    const failure = new Error('nobody listens');
    service.subscribe('t', () => {
      throw failure;
    });
    const other = vi.fn();
    service.subscribe('t', other);
    expect(() => service.publish('t', { id: 1 })).not.toThrow();
    expect(other).toHaveBeenCalledTimes(1);
    expect(reported).toEqual([failure]);
  });

  test('an error listener that throws is reported as uncaught, and the others still run', () => {
    const reported: unknown[] = [];
    g.reportError = (error) => reported.push(error);
    const service = new RealtimeSyncService();
    const listenerFailure = new Error('listener failed');
    service.on('error', () => {
      throw listenerFailure;
    });
    const second = vi.fn();
    service.on('error', second);
    service.subscribe('t', () => {
      throw new Error('subscriber failed');
    });
    service.publish('t', { id: 1 });
    expect(second).toHaveBeenCalledTimes(1);
    expect(reported).toEqual([listenerFailure]);
  });

  test('a transport whose publish throws or rejects: reported with the event; local delivery already happened', async () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const errors: unknown[][] = [];
    service.on('error', (error, context) => errors.push([error, context]));
    const delivered = vi.fn();
    service.subscribe('t', delivered);

    const thrown = new Error('socket closed');
    transport.publishFails = { error: thrown, async: false };
    const a = service.publish('t', { id: 1 });
    expect(errors).toEqual([[thrown, { source: 'transport', event: a }]]);

    const rejected = new Error('redis down');
    transport.publishFails = { error: rejected, async: true };
    const b = service.publish('t', { id: 2 });
    await vi.waitFor(() => expect(errors).toHaveLength(2));
    expect(errors[1]).toEqual([rejected, { source: 'transport', event: b }]);
    expect(delivered.mock.calls).toEqual([[a], [b]]);
  });

  test('something that is not a change event from the transport is reported and not delivered', () => {
    const transport = new FakeTransport();
    const service = new RealtimeSyncService({ transport });
    const errors: unknown[][] = [];
    service.on('error', (error, context) => errors.push([error, context]));
    const callback = vi.fn();
    service.subscribe('*', callback);
    transport.deliver('hello');
    transport.deliver({ topic: 't', type: 'UPDATE', timestamp: 1 });
    transport.deliver({ topic: 't', type: 'MOVE', timestamp: 1, eventId: 'x' });
    transport.deliver({ topic: 't', type: 'UPDATE', timestamp: 'now', eventId: 'y' });
    expect(callback).not.toHaveBeenCalled();
    expect(errors).toHaveLength(4);
    for (const [error, context] of errors) {
      expect(error).toBeInstanceOf(TypeError);
      expect(context).toEqual({ source: 'transport' });
    }
  });
});
