import { describe, expect, test, vi } from 'vitest';
import { type RealtimeStatus, RealtimeSyncService } from '../../src/index.js';
import { FakeTransport } from './_fake-transport.js';

function setup(onResync?: () => void) {
  const transport = new FakeTransport();
  const service = new RealtimeSyncService({ transport, ...(onResync ? { onResync } : {}) });
  const statuses: RealtimeStatus[] = [];
  service.on('status', (status) => statuses.push(status));
  return { transport, service, statuses };
}

describe('status and resync', () => {
  test("a service starts 'connecting' and follows what its transport reports", () => {
    const { transport, service, statuses } = setup();
    expect(service.status).toBe('connecting');
    transport.status('connected');
    expect(service.status).toBe('connected');
    transport.status('reconnecting');
    expect(service.status).toBe('reconnecting');
    transport.status('connected');
    expect(statuses).toEqual(['connected', 'reconnecting', 'connected']);
  });

  test('the default in-memory transport is connected at once', () => {
    expect(new RealtimeSyncService().status).toBe('connected');
  });

  test('a repeated status is reported once, but every resynced is reported', () => {
    const { transport, statuses } = setup();
    transport.status('connected');
    transport.status('connected');
    transport.status('reconnecting');
    transport.status('reconnecting');
    transport.status('resynced');
    transport.status('reconnecting');
    transport.status('resynced');
    transport.status('resynced');
    expect(statuses).toEqual(['connected', 'reconnecting', 'resynced', 'reconnecting', 'resynced', 'resynced']);
  });

  test('onResync runs after the status event, once per resync: the app refetches there', () => {
    const order: string[] = [];
    const { transport, service } = setup(() => order.push(`refetch while ${service.status}`));
    service.on('status', (status) => order.push(status));
    transport.status('connected');
    transport.status('reconnecting');
    transport.status('resynced');
    transport.status('resynced');
    expect(order).toEqual(['connected', 'reconnecting', 'resynced', 'refetch while resynced', 'resynced', 'refetch while resynced']);
  });

  test('a throwing onResync or status listener is reported; the other listeners still run', () => {
    const failure = new Error('refetch failed');
    const { transport, service } = setup(() => {
      throw failure;
    });
    const listenerFailure = new Error('listener failed');
    service.on('status', () => {
      throw listenerFailure;
    });
    const late = vi.fn();
    service.on('status', late);
    const errors: unknown[][] = [];
    service.on('error', (error, context) => errors.push([error, context]));
    transport.status('resynced');
    expect(late).toHaveBeenCalledWith('resynced');
    expect(errors).toEqual([
      [listenerFailure, { source: 'status' }],
      [failure, { source: 'status' }],
    ]);
  });

  test('on(status) returns a function that removes the listener', () => {
    const { transport, service } = setup();
    const listener = vi.fn();
    const off = service.on('status', listener);
    transport.status('connected');
    off();
    transport.status('reconnecting');
    expect(listener.mock.calls).toEqual([['connected']]);
  });

  test('an unknown status from the transport is reported and ignored', () => {
    const { transport, service, statuses } = setup();
    const errors = vi.fn();
    service.on('error', errors);
    transport.status('online' as RealtimeStatus);
    expect(service.status).toBe('connecting');
    expect(statuses).toEqual([]);
    expect(errors.mock.calls[0]![0]).toBeInstanceOf(TypeError);
  });

  test("destroy reports 'closed', and statuses reported after it are ignored", async () => {
    const onResync = vi.fn();
    const { transport, service, statuses } = setup(onResync);
    transport.status('connected');
    await service.destroy();
    expect(service.status).toBe('closed');
    transport.status('resynced');
    expect(service.status).toBe('closed');
    expect(statuses).toEqual(['connected', 'closed']);
    expect(onResync).not.toHaveBeenCalled();
  });

  test('on() checks its arguments', () => {
    const service = new RealtimeSyncService();
    expect(() => service.on('status', 'x' as never)).toThrow(TypeError);
    const untypedOn = service.on.bind(service) as (event: string, listener: () => void) => () => void;
    expect(() => untypedOn('change', () => {})).toThrow(/unknown RealtimeSyncService event/);
  });
});
