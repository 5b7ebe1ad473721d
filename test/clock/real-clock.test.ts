import { afterEach, describe, expect, test, vi } from 'vitest';
import { realClock, unrefTimer } from '../../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('realClock', () => {
  test('now() is epoch ms', () => {
    const before = Date.now();
    const now = realClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  test('reads the globals lazily: fake timers installed after import drive it', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    expect(realClock.now()).toBe(1_000_000);
    const fired = vi.fn();
    const cancelled = vi.fn();
    realClock.setTimeout(fired, 500);
    const handle = realClock.setTimeout(cancelled, 500);
    realClock.clearTimeout(handle);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(499);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(cancelled).not.toHaveBeenCalled();
    expect(realClock.now()).toBe(1_000_500);
  });

  test('uses a replaced global setTimeout, looked up at call time', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      const handle = realClock.setTimeout(() => undefined, 60_000);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]![1]).toBe(60_000);
      realClock.clearTimeout(handle);
    } finally {
      spy.mockRestore();
    }
  });

  test('cannot be modified', () => {
    expect(Object.isFrozen(realClock)).toBe(true);
  });
});

describe('unrefTimer', () => {
  test('calls unref on a handle that has it and returns the same handle', () => {
    const handle = { unref: vi.fn() };
    expect(unrefTimer(handle)).toBe(handle);
    expect(handle.unref).toHaveBeenCalledTimes(1);
  });

  test('is a no-op on plain handles', () => {
    expect(unrefTimer(42)).toBe(42);
    expect(unrefTimer(null)).toBeNull();
    expect(unrefTimer<unknown>(undefined)).toBeUndefined();
    const plain = { id: 1 };
    expect(unrefTimer(plain)).toBe(plain);
    const notAFunction = { unref: 'no' };
    expect(unrefTimer(notAFunction)).toBe(notAFunction);
  });

  test('on a real timer: unref\'d in Node, handle returned unchanged in a browser', () => {
    const handle = realClock.setTimeout(() => undefined, 60_000);
    try {
      expect(unrefTimer(handle)).toBe(handle);
      if (typeof handle === 'object' && handle !== null) {
        // Node's Timeout
        expect((handle as { hasRef(): boolean }).hasRef()).toBe(false);
      } else {
        // browsers hand out numbers
        expect(typeof handle).toBe('number');
      }
    } finally {
      realClock.clearTimeout(handle);
    }
  });
});
