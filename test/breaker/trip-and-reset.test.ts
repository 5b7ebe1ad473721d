import { describe, expect, test, vi } from 'vitest';
import { CircuitBreaker, CircuitBreakerError, ManualClock } from '../../src/index.js';
import { deferred, failTimes, ok, succeedTimes } from './_helpers.js';

function setup() {
  const clock = new ManualClock(1_000);
  const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 5_000, clock });
  const changes: string[] = [];
  breaker.on('stateChange', (from, to) => changes.push(`${from}->${to}`));
  return { clock, breaker, changes };
}

describe('trip()', () => {
  test('forces a CLOSED circuit OPEN and rejects calls without running them', async () => {
    const { breaker, changes } = setup();
    breaker.trip();
    expect(breaker.state).toBe('OPEN');
    expect(changes).toEqual(['CLOSED->OPEN']);
    const fn = vi.fn(ok);
    const error = (await breaker.execute(fn).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(error).toBeInstanceOf(CircuitBreakerError);
    expect(error.state).toBe('OPEN');
    expect(Number.isFinite(error.retryAfterMs)).toBe(true);
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(0);
    expect(fn).not.toHaveBeenCalled();
  });

  test('holds the circuit OPEN far past resetTimeoutMs, with no timer', async () => {
    const { clock, breaker, changes } = setup();
    breaker.trip();
    await clock.advance(5_000);
    expect(breaker.state).toBe('OPEN');
    await clock.advance(10 * 365 * 24 * 3_600_000);
    expect(breaker.state).toBe('OPEN');
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitBreakerError);
    expect(clock.pendingTimers).toBe(0);
    expect(changes).toEqual(['CLOSED->OPEN']);
  });

  test('holds an already OPEN circuit past its reset time', async () => {
    const { clock, breaker, changes } = setup();
    await failTimes(breaker, 3);
    await clock.advance(2_000);
    breaker.trip();
    await clock.advance(10_000);
    expect(breaker.state).toBe('OPEN');
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitBreakerError);
    expect(changes).toEqual(['CLOSED->OPEN']);
  });

  test('forces a HALF_OPEN circuit back OPEN and holds it', async () => {
    const { clock, breaker, changes } = setup();
    await failTimes(breaker, 3);
    await clock.advance(5_000);
    expect(breaker.state).toBe('HALF_OPEN');
    breaker.trip();
    expect(breaker.state).toBe('OPEN');
    await clock.advance(60_000);
    expect(breaker.state).toBe('OPEN');
    expect(changes).toEqual(['CLOSED->OPEN', 'OPEN->HALF_OPEN', 'HALF_OPEN->OPEN']);
  });

  test('while tripped, metrics show openedAt but no nextAttemptAt', async () => {
    const { clock, breaker } = setup();
    await clock.advance(500);
    breaker.trip();
    const metrics = breaker.getMetrics();
    expect(metrics.state).toBe('OPEN');
    expect(metrics.openedAt).toBe(1_500);
    expect(metrics.nextAttemptAt).toBeUndefined();
  });
});

describe('reset()', () => {
  test('ends a trip: CLOSED, calls run again', async () => {
    const { breaker, changes } = setup();
    breaker.trip();
    breaker.reset();
    expect(breaker.state).toBe('CLOSED');
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(changes).toEqual(['CLOSED->OPEN', 'OPEN->CLOSED']);
  });

  test('closes an OPEN circuit before its reset time, with fresh counts', async () => {
    const { breaker } = setup();
    await succeedTimes(breaker, 2);
    await failTimes(breaker, 3);
    await breaker.execute(ok).catch(() => undefined);
    breaker.reset();
    expect(breaker.getMetrics()).toEqual({
      state: 'CLOSED',
      totalCalls: 0,
      successes: 0,
      failures: 0,
      rejections: 0,
      consecutiveFailures: 0,
    });
  });

  test('a reset circuit needs the full failureThreshold again to open', async () => {
    const { breaker } = setup();
    await failTimes(breaker, 3);
    breaker.reset();
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('CLOSED');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
  });

  test('on a CLOSED circuit clears the failure run without a stateChange', async () => {
    const { breaker, changes } = setup();
    await failTimes(breaker, 2);
    breaker.reset();
    expect(breaker.getMetrics().consecutiveFailures).toBe(0);
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('CLOSED');
    expect(changes).toEqual([]);
  });

  test('closes a HALF_OPEN circuit', async () => {
    const { clock, breaker } = setup();
    await failTimes(breaker, 3);
    await clock.advance(5_000);
    expect(breaker.state).toBe('HALF_OPEN');
    breaker.reset();
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.getMetrics().openedAt).toBeUndefined();
    expect(breaker.getMetrics().nextAttemptAt).toBeUndefined();
  });

  test('a call in flight before reset() does not count in the period after it', async () => {
    const { breaker } = setup();
    const slow = deferred();
    const slowCall = breaker.execute(() => slow.promise);
    await failTimes(breaker, 2);
    breaker.reset();
    await failTimes(breaker, 2);
    slow.reject(new Error('late'));
    await expect(slowCall).rejects.toThrow('late');
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.getMetrics().consecutiveFailures).toBe(2);
  });

  test('the breaker works normally after reset: it opens and recovers on the clock', async () => {
    const { clock, breaker } = setup();
    breaker.trip();
    breaker.reset();
    await failTimes(breaker, 3);
    expect(breaker.state).toBe('OPEN');
    await clock.advance(5_000);
    expect(breaker.state).toBe('HALF_OPEN');
  });
});
