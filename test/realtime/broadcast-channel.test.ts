import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  BroadcastChannelTransport,
  type ChangeEvent,
  isClosedLoopError,
  RealtimeSyncService,
} from '../../src/index.js';

// Runs wherever BroadcastChannel exists: Node and browsers.
const services: RealtimeSyncService[] = [];
let channel = 0;

function uniqueName(): string {
  return `closed-loop-test-${Date.now()}-${channel++}-${Math.random().toString(36).slice(2)}`;
}

function serviceOn(name: string): RealtimeSyncService {
  const service = new RealtimeSyncService({ transport: new BroadcastChannelTransport(name) });
  services.push(service);
  return service;
}

afterEach(async () => {
  vi.unstubAllGlobals();
  await Promise.all(services.splice(0).map((service) => service.destroy()));
});

describe('BroadcastChannelTransport', () => {
  test('two services on transports of the same name hear each other; each event once, own events not doubled', async () => {
    const name = uniqueName();
    const a = serviceOn(name);
    const b = serviceOn(name);
    expect(a.status).toBe('connected');
    const seenA: string[] = [];
    const seenB: string[] = [];
    a.subscribe('t', (event) => seenA.push(event.eventId));
    b.subscribe('t', (event) => seenB.push(event.eventId));
    const fromA = a.publish('t', { id: 1 });
    const fromB = b.publish('t', { id: 2 });
    await vi.waitFor(() => {
      expect(seenA).toHaveLength(2);
      expect(seenB).toHaveLength(2);
    });
    // Leave time for any duplicate to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seenA).toEqual([fromA.eventId, fromB.eventId]);
    expect(seenB).toEqual([fromB.eventId, fromA.eventId]);
  });

  test('events arrive as structured clones, in publish order, and update the latest state', async () => {
    const name = uniqueName();
    const a = serviceOn(name);
    const b = serviceOn(name);
    const received: Array<ChangeEvent<{ id: number; n: number }>> = [];
    b.subscribe<{ id: number; n: number }>('t', (event) => received.push(event));
    const sent = Array.from({ length: 20 }, (_, n) => a.publish('t', { id: n % 3, n, version: n }));
    await vi.waitFor(() => expect(received).toHaveLength(20));
    expect(received).toEqual(sent);
    expect(received[0]).not.toBe(sent[0]);
    expect(b.getLatest('t', 1)).toEqual({ id: 1, n: 19, version: 19 });
  });

  test('a service on another channel name hears nothing', async () => {
    const a = serviceOn(uniqueName());
    const name = uniqueName();
    const b = serviceOn(name);
    const c = serviceOn(name);
    const heardByB = vi.fn();
    b.subscribe('*', heardByB);
    const heardByC = vi.fn();
    c.subscribe('*', heardByC);
    a.publish('t', { id: 'elsewhere' });
    const marker = c.publish('marker', { id: 'here' });
    await vi.waitFor(() => expect(heardByB).toHaveBeenCalledWith(marker));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heardByB).toHaveBeenCalledTimes(1);
    expect(heardByC).toHaveBeenCalledTimes(1);
  });

  test('after destroy, a service neither hears nor is heard', async () => {
    const name = uniqueName();
    const a = serviceOn(name);
    const b = serviceOn(name);
    const c = serviceOn(name);
    const heardByA = vi.fn();
    a.subscribe('*', heardByA);
    const heardByC = vi.fn();
    c.subscribe('*', heardByC);
    await a.destroy();
    const event = b.publish('t', { id: 1 });
    await vi.waitFor(() => expect(heardByC).toHaveBeenCalledWith(event));
    expect(heardByA).not.toHaveBeenCalled();
  });

  test('a record that cannot be cloned is delivered locally and its send failure reported', () => {
    const service = serviceOn(uniqueName());
    const errors: unknown[][] = [];
    service.on('error', (error, context) => errors.push([error, context]));
    const local = vi.fn();
    service.subscribe('t', local);
    const event = service.publish('t', { id: 1, callback: () => {} });
    expect(local).toHaveBeenCalledWith(event);
    expect(errors).toHaveLength(1);
    expect((errors[0]![0] as Error).name).toBe('DataCloneError');
    expect(errors[0]![1]).toEqual({ source: 'transport', event });
  });

  test('one transport serves one service', () => {
    const transport = new BroadcastChannelTransport(uniqueName());
    services.push(new RealtimeSyncService({ transport }));
    expect(() => new RealtimeSyncService({ transport })).toThrow(/one service/);
  });

  test('a name must be a non-empty string', () => {
    expect(() => new BroadcastChannelTransport('')).toThrow(TypeError);
    expect(() => new BroadcastChannelTransport(undefined as never)).toThrow(TypeError);
  });

  test('without BroadcastChannel, the constructor says so', () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    let error: unknown;
    try {
      new BroadcastChannelTransport('x');
    } catch (e) {
      error = e;
    }
    expect(isClosedLoopError(error)).toBe(true);
    expect((error as { code: string }).code).toBe('REALTIME_UNSUPPORTED');
    expect((error as Error).message).toMatch(/BroadcastChannel/);
  });
});
