import { describe, expect, test } from 'vitest';
import { CircuitBreaker, type CircuitBreakerSnapshot, ManualClock } from '../../src/index.js';
import { failTimes, ok, succeedTimes } from './_helpers.js';

const roundTrip = (breaker: CircuitBreaker): CircuitBreakerSnapshot =>
  JSON.parse(JSON.stringify(breaker)) as CircuitBreakerSnapshot;

describe('toJSON()', () => {
  test('JSON.stringify uses it, and the result survives a parse unchanged', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock: new ManualClock() });
    await succeedTimes(breaker, 3);
    await failTimes(breaker, 2);
    await breaker.execute(ok).catch(() => undefined);
    const snapshot = breaker.toJSON();
    expect(roundTrip(breaker)).toEqual(snapshot);
    expect(snapshot).toMatchObject({
      state: 'OPEN',
      totalCalls: 6,
      successes: 3,
      failures: 2,
      rejections: 1,
      consecutiveFailures: 2,
    });
  });

  test('an OPEN breaker reports the time it has left on its clock', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 30_000, clock });
    await failTimes(breaker, 1);
    await clock.advance(20_000);
    expect(breaker.toJSON()).toMatchObject({ state: 'OPEN', remainingMs: 10_000, tripped: false });
  });
});

describe('CircuitBreaker.fromJSON()', () => {
  test('restores an OPEN breaker with the time it had left, measured on the new clock', async () => {
    const oldClock = new ManualClock(1_700_000_000_000);
    const old = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 30_000, clock: oldClock });
    await failTimes(old, 1);
    await oldClock.advance(20_000); // 10 s left
    const snapshot = roundTrip(old);

    // restored in another process, 5 s of wall time later, on a clock with another epoch
    const newClock = new ManualClock(1_700_000_025_000);
    const restored = CircuitBreaker.fromJSON(snapshot, { failureThreshold: 1, resetTimeoutMs: 30_000, clock: newClock });
    expect(restored.state).toBe('OPEN');
    await expect(restored.execute(ok)).rejects.toMatchObject({ state: 'OPEN', retryAfterMs: 10_000 });
    expect(restored.getMetrics().nextAttemptAt).toBe(1_700_000_035_000);
    await newClock.advance(9_999);
    expect(restored.state).toBe('OPEN');
    await newClock.advance(1);
    expect(restored.state).toBe('HALF_OPEN');
    await restored.execute(ok);
    expect(restored.state).toBe('CLOSED');
    expect(newClock.pendingTimers).toBe(0);
  });

  test('restores the counters and the failure run of a CLOSED breaker', async () => {
    const old = new CircuitBreaker({ failureThreshold: 3, clock: new ManualClock() });
    await succeedTimes(old, 2);
    await failTimes(old, 2);
    const restored = CircuitBreaker.fromJSON(roundTrip(old), { failureThreshold: 3, clock: new ManualClock() });
    expect(restored.getMetrics()).toEqual({
      state: 'CLOSED',
      totalCalls: 4,
      successes: 2,
      failures: 2,
      rejections: 0,
      consecutiveFailures: 2,
    });
    await failTimes(restored, 1);
    expect(restored.state).toBe('OPEN');
  });

  test('a HALF_OPEN snapshot restores to a breaker that admits a probe at once', async () => {
    const clock = new ManualClock();
    const old = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 1_000, clock });
    await failTimes(old, 1);
    await clock.advance(1_000);
    const snapshot = roundTrip(old);
    expect(snapshot.state).toBe('HALF_OPEN');
    const restored = CircuitBreaker.fromJSON(snapshot, { resetTimeoutMs: 1_000, clock: new ManualClock(50) });
    expect(restored.state).toBe('HALF_OPEN');
    await expect(restored.execute(ok)).resolves.toBe('ok');
    expect(restored.state).toBe('CLOSED');
  });

  test('a tripped snapshot restores to a breaker held OPEN until reset()', async () => {
    const old = new CircuitBreaker({ resetTimeoutMs: 1_000, clock: new ManualClock() });
    old.trip();
    const snapshot = roundTrip(old);
    expect(snapshot.tripped).toBe(true);
    const clock = new ManualClock();
    const restored = CircuitBreaker.fromJSON(snapshot, { resetTimeoutMs: 1_000, clock });
    await clock.advance(100_000);
    expect(restored.state).toBe('OPEN');
    await expect(restored.execute(ok)).rejects.toMatchObject({ state: 'OPEN' });
    restored.reset();
    await expect(restored.execute(ok)).resolves.toBe('ok');
  });

  test('the time left never exceeds the new breaker\'s resetTimeoutMs', async () => {
    const clock = new ManualClock();
    const old = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 60_000, clock });
    await failTimes(old, 1);
    const newClock = new ManualClock();
    const restored = CircuitBreaker.fromJSON(roundTrip(old), { resetTimeoutMs: 5_000, clock: newClock });
    await newClock.advance(5_000);
    expect(restored.state).toBe('HALF_OPEN');
  });

  test('the new breaker takes its behaviour from the options given', async () => {
    const old = new CircuitBreaker({ failureThreshold: 10, clock: new ManualClock() });
    const restored = CircuitBreaker.fromJSON(roundTrip(old), { failureThreshold: 1, name: 'restored', clock: new ManualClock() });
    expect(restored.name).toBe('restored');
    await failTimes(restored, 1);
    expect(restored.state).toBe('OPEN');
  });

  test.each([
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a string', 'OPEN'],
    ['an empty object', {}],
    ['an array', []],
    ['another version', { version: 2, state: 'OPEN' }],
    ['an unknown state', { version: 1, state: 'BROKEN' }],
    ['a missing state', { version: 1 }],
  ])('refuses %s with a TypeError', (_label, garbage) => {
    expect(() => CircuitBreaker.fromJSON(garbage as unknown as CircuitBreakerSnapshot)).toThrow(TypeError);
  });

  test('a snapshot with unreadable numbers restores with zeros, not NaN', () => {
    const restored = CircuitBreaker.fromJSON(
      {
        version: 1,
        state: 'CLOSED',
        tripped: false,
        remainingMs: 0,
        consecutiveFailures: Number.NaN,
        totalCalls: -3,
        successes: 'x' as unknown as number,
        failures: null as unknown as number,
        rejections: Number.POSITIVE_INFINITY,
      },
      { clock: new ManualClock() },
    );
    const metrics = restored.getMetrics();
    for (const key of ['totalCalls', 'successes', 'failures', 'rejections', 'consecutiveFailures'] as const) {
      expect(metrics[key]).toBe(0);
    }
  });
});
