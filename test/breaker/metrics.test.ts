import { describe, expect, test } from 'vitest';
import { CircuitBreaker, ManualClock } from '../../src/index.js';
import { deferred, failTimes, ok, succeedTimes } from './_helpers.js';

const T0 = 1_700_000_000_000;

describe('getMetrics()', () => {
  test('a new breaker reports zeros and no times', () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock(T0) });
    expect(breaker.getMetrics()).toEqual({
      state: 'CLOSED',
      totalCalls: 0,
      successes: 0,
      failures: 0,
      rejections: 0,
      consecutiveFailures: 0,
    });
  });

  test('counts successes, failures, rejections, and every execute in totalCalls', async () => {
    const clock = new ManualClock(T0);
    const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 1_000, clock });
    await succeedTimes(breaker, 4);
    await failTimes(breaker, 2);
    expect(breaker.getMetrics()).toMatchObject({ totalCalls: 6, successes: 4, failures: 2, rejections: 0, consecutiveFailures: 2 });
    await failTimes(breaker, 1);
    for (let i = 0; i < 5; i++) await breaker.execute(ok).catch(() => undefined);
    expect(breaker.getMetrics()).toMatchObject({
      state: 'OPEN',
      totalCalls: 12,
      successes: 4,
      failures: 3,
      rejections: 5,
      consecutiveFailures: 3,
    });
  });

  test('calls still in flight count in totalCalls at once', () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock(T0) });
    const pending = deferred();
    void breaker.execute(() => pending.promise);
    void breaker.execute(() => pending.promise);
    expect(breaker.getMetrics()).toMatchObject({ totalCalls: 2, successes: 0, failures: 0 });
    pending.resolve('x');
  });

  test('openedAt and nextAttemptAt are epoch ms from the clock', async () => {
    const clock = new ManualClock(T0);
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 30_000, clock });
    await clock.advance(1_234);
    await failTimes(breaker, 1);
    expect(breaker.getMetrics()).toMatchObject({
      state: 'OPEN',
      openedAt: T0 + 1_234,
      nextAttemptAt: T0 + 31_234,
    });
  });

  test('state in the metrics follows the clock', async () => {
    const clock = new ManualClock(T0);
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 30_000, clock });
    await failTimes(breaker, 1);
    await clock.advance(30_000);
    expect(breaker.getMetrics()).toMatchObject({ state: 'HALF_OPEN', openedAt: T0, nextAttemptAt: T0 + 30_000 });
  });

  test('a failed probe moves openedAt and nextAttemptAt on', async () => {
    const clock = new ManualClock(T0);
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 30_000, clock });
    await failTimes(breaker, 1);
    await clock.advance(45_000);
    await failTimes(breaker, 1);
    expect(breaker.getMetrics()).toMatchObject({
      state: 'OPEN',
      openedAt: T0 + 45_000,
      nextAttemptAt: T0 + 75_000,
      failures: 2,
      consecutiveFailures: 2,
    });
  });

  test('once CLOSED again, the times are gone and the failure run is cleared; totals remain', async () => {
    const clock = new ManualClock(T0);
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 30_000, clock });
    await failTimes(breaker, 1);
    await clock.advance(30_000);
    await breaker.execute(ok);
    const metrics = breaker.getMetrics();
    expect(metrics).toEqual({
      state: 'CLOSED',
      totalCalls: 2,
      successes: 1,
      failures: 1,
      rejections: 0,
      consecutiveFailures: 0,
    });
  });

  test('returns a copy: changing it changes nothing', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock(T0) });
    const metrics = breaker.getMetrics();
    metrics.totalCalls = 99;
    expect(breaker.getMetrics().totalCalls).toBe(0);
  });
});
