import { describe, expect, test, vi } from 'vitest';
import {
  CircuitBreaker,
  CircuitBreakerError,
  ClosedLoopError,
  ManualClock,
  isCircuitBreakerError,
} from '../../src/index.js';
import { boom, failTimes, ok, succeedTimes } from './_helpers.js';

describe('consecutive failures open the circuit', () => {
  test('a new breaker is CLOSED and lets calls through', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    expect(breaker.state).toBe('CLOSED');
    await expect(breaker.execute(() => 42)).resolves.toBe(42);
  });

  test('the default failureThreshold is 5', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('CLOSED');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
  });

  test('a custom failureThreshold opens after that many failures', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock: new ManualClock() });
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('CLOSED');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
  });

  test('failureThreshold 1 opens on the first failure', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock: new ManualClock() });
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
  });

  test('a success resets the consecutive count', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, clock: new ManualClock() });
    await failTimes(breaker, 2);
    await succeedTimes(breaker, 1);
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.getMetrics().consecutiveFailures).toBe(2);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
  });

  test('failures spread out in time still open the circuit (consecutive mode has no window)', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 3, clock });
    for (let i = 0; i < 2; i++) {
      await failTimes(breaker, 1);
      await clock.advance(3_600_000);
    }
    expect(breaker.state).toBe('CLOSED');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
  });
});

describe('execute', () => {
  test('passes the value through, from async and sync functions', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    await expect(breaker.execute(async () => ({ a: 1 }))).resolves.toEqual({ a: 1 });
    await expect(breaker.execute(() => 'sync')).resolves.toBe('sync');
    await expect(breaker.execute(() => undefined)).resolves.toBeUndefined();
  });

  test('passes the very error object through, from async rejections and sync throws', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    const asyncError = new Error('async');
    const syncError = new RangeError('sync');
    await expect(breaker.execute(() => Promise.reject(asyncError))).rejects.toBe(asyncError);
    await expect(
      breaker.execute(() => {
        throw syncError;
      }),
    ).rejects.toBe(syncError);
    expect(breaker.getMetrics().consecutiveFailures).toBe(2);
  });

  test('calls fn exactly once per admitted execute, with no arguments', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    const fn = vi.fn(ok);
    await breaker.execute(fn);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith();
  });
});

describe('an OPEN circuit', () => {
  test('rejects with CircuitBreakerError without calling fn', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock });
    await failTimes(breaker, 2);
    const fn = vi.fn(ok);
    const error = await breaker.execute(fn).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(fn).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(CircuitBreakerError);
    expect(error).toBeInstanceOf(ClosedLoopError);
    expect(isCircuitBreakerError(error)).toBe(true);
    const e = error as CircuitBreakerError;
    expect(e.state).toBe('OPEN');
    expect(e.code).toBe('CIRCUIT_OPEN');
    expect(e.retryAfterMs).toBe(30_000);
  });

  test('rejects even when fn would throw synchronously (fn is never touched)', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock: new ManualClock() });
    await failTimes(breaker, 1);
    const fn = vi.fn(() => {
      throw new Error('should not run');
    });
    await expect(breaker.execute(fn)).rejects.toBeInstanceOf(CircuitBreakerError);
    expect(fn).not.toHaveBeenCalled();
  });

  test('retryAfterMs is the time left before probes are admitted', async () => {
    const clock = new ManualClock(1_000_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 10_000, clock });
    await failTimes(breaker, 1);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'OPEN', retryAfterMs: 10_000 });
    await clock.advance(2_500);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'OPEN', retryAfterMs: 7_500 });
    await clock.advance(7_499);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'OPEN', retryAfterMs: 1 });
  });

  test('the default resetTimeoutMs is 30000', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock });
    await failTimes(breaker, 1);
    await clock.advance(29_999);
    expect(breaker.state).toBe('OPEN');
    await clock.advance(1);
    expect(breaker.state).toBe('HALF_OPEN');
  });

  test('the error names the breaker', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, name: 'api.example.com', clock: new ManualClock() });
    await failTimes(breaker, 1);
    const error = (await breaker.execute(ok).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(error.breakerName).toBe('api.example.com');
    expect(error.message).toContain('api.example.com');
    expect(breaker.name).toBe('api.example.com');
  });

  test('keeps rejecting while OPEN, whatever the calls would have done', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock: new ManualClock() });
    await failTimes(breaker, 1);
    for (let i = 0; i < 20; i++) {
      await expect(breaker.execute(i % 2 ? ok : boom())).rejects.toBeInstanceOf(CircuitBreakerError);
    }
    expect(breaker.state).toBe('OPEN');
  });
});
