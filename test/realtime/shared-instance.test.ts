import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  getRealtimeSyncService,
  InMemoryTransport,
  ManualClock,
  RealtimeSyncService,
  resetRealtimeSyncService,
} from '../../src/index.js';

afterEach(() => resetRealtimeSyncService());

describe('the shared instance', () => {
  test('getRealtimeSyncService returns one service wherever it is called', () => {
    const a = getRealtimeSyncService();
    const b = getRealtimeSyncService();
    expect(a).toBe(b);
    expect(a).toBeInstanceOf(RealtimeSyncService);
    const heard = vi.fn();
    a.subscribe('t', heard);
    b.publish('t', { id: 1 });
    expect(heard).toHaveBeenCalledTimes(1);
  });

  test('resetRealtimeSyncService destroys it; the next call creates a fresh one', async () => {
    const first = getRealtimeSyncService();
    const heard = vi.fn();
    first.subscribe('t', heard);
    first.publish('t', { id: 1 });
    await resetRealtimeSyncService();
    expect(first.status).toBe('closed');
    const second = getRealtimeSyncService();
    expect(second).not.toBe(first);
    expect(second.getLatest('t', 1)).toBeUndefined();
    second.publish('t', { id: 2 });
    expect(heard).toHaveBeenCalledTimes(1);
  });

  test('reset without a shared instance is fine', async () => {
    await resetRealtimeSyncService();
    await expect(resetRealtimeSyncService()).resolves.toBeUndefined();
  });

  test('options configure the shared service on the first call; later calls with options throw', () => {
    const clock = new ManualClock(42);
    const bus = new InMemoryTransport();
    const service = getRealtimeSyncService({ clock, transport: bus });
    expect(service.publish('t', { id: 1 }).timestamp).toBe(42);
    expect(bus.connectionCount).toBe(1);
    expect(getRealtimeSyncService()).toBe(service);
    expect(() => getRealtimeSyncService({ clock })).toThrow(/already exists/);
  });
});
