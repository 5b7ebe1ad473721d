import { afterEach, describe, expect, test, vi } from 'vitest';
import { CircuitBreaker, ManualClock } from '../../src/index.js';
import { failTimes, ok } from './_helpers.js';

describe('options are validated', () => {
  test.each([
    ['failureThreshold', 0],
    ['failureThreshold', -1],
    ['failureThreshold', 1.5],
    ['failureThreshold', Number.NaN],
    ['failureThreshold', Number.POSITIVE_INFINITY],
    ['failureThreshold', '5'],
    ['resetTimeoutMs', -1],
    ['resetTimeoutMs', Number.NaN],
    ['resetTimeoutMs', Number.POSITIVE_INFINITY],
    ['resetTimeoutMs', '1000'],
    ['halfOpenMaxCalls', 0],
    ['halfOpenMaxCalls', 1.5],
    ['successThreshold', 0],
    ['successThreshold', -2],
  ])('%s: %o throws TypeError', (name, value) => {
    expect(() => new CircuitBreaker({ [name]: value })).toThrow(TypeError);
  });

  test('the message names the option', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(/failureThreshold/);
  });

  test('valid edge values are accepted', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 0, halfOpenMaxCalls: 1, successThreshold: 1 })).not.toThrow();
    expect(() => new CircuitBreaker({ failureRateThreshold: 1, minimumCalls: 1, windowMs: 1 })).not.toThrow();
  });

  test('resetTimeoutMs 0 reads HALF_OPEN as soon as it opens', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 0, clock: new ManualClock() });
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('HALF_OPEN');
  });
});

describe('the default clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('is the real one, read lazily: fake timers installed after construction drive it', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    vi.useFakeTimers({ now: 5_000_000 });
    await failTimes(breaker, 1);
    expect(breaker.getMetrics()).toMatchObject({ openedAt: 5_000_000, nextAttemptAt: 5_030_000 });
    vi.setSystemTime(5_029_999);
    expect(breaker.state).toBe('OPEN');
    vi.setSystemTime(5_030_000);
    expect(breaker.state).toBe('HALF_OPEN');
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('an injected clock is the only source of time', () => {
  test('the breaker never reads Date.now or starts a global timer', async () => {
    const now = vi.spyOn(Date, 'now');
    const timer = vi.spyOn(globalThis, 'setTimeout');
    try {
      const clock = new ManualClock();
      const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 100, clock });
      await failTimes(breaker, 1);
      await breaker.execute(ok).catch(() => undefined);
      await clock.advance(100);
      await breaker.execute(ok);
      breaker.trip();
      breaker.toJSON();
      breaker.getMetrics();
      expect(now).not.toHaveBeenCalled();
      expect(timer).not.toHaveBeenCalled();
    } finally {
      now.mockRestore();
      timer.mockRestore();
    }
  });
});
