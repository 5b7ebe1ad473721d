import { describe, expect, test, vi } from 'vitest';
import { CircuitBreaker, CircuitBreakerError, ManualClock } from '../../src/index.js';
import { deferred, failTimes, flush, ok } from './_helpers.js';

async function openBreaker(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 1_000, clock, ...options });
  await failTimes(breaker, 1);
  expect(breaker.state).toBe('OPEN');
  return { clock, breaker };
}

describe('OPEN → HALF_OPEN is read from the clock', () => {
  test('no timer is started when the circuit opens or while it waits', async () => {
    const { clock, breaker } = await openBreaker();
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextTimerAt()).toBeUndefined();
    await clock.advance(999);
    expect(breaker.state).toBe('OPEN');
    await clock.advance(1);
    expect(clock.pendingTimers).toBe(0);
    expect(breaker.state).toBe('HALF_OPEN');
    expect(clock.pendingTimers).toBe(0);
  });

  test('no global timer either', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 1_000, clock: new ManualClock() });
      await failTimes(breaker, 1);
      expect(breaker.state).toBe('OPEN');
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  test('an execute after resetTimeoutMs is admitted as a probe without anyone reading state first', async () => {
    const { clock, breaker } = await openBreaker();
    await clock.advance(1_000);
    const fn = vi.fn(ok);
    await expect(breaker.execute(fn)).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('CLOSED');
  });

  test('a clock that jumps far past resetTimeoutMs still admits a probe', async () => {
    const { clock, breaker } = await openBreaker();
    await clock.advance(365 * 24 * 3_600_000);
    expect(breaker.state).toBe('HALF_OPEN');
  });
});

describe('HALF_OPEN admits halfOpenMaxCalls probes at once', () => {
  test('by default one probe; a second call is rejected at once without running', async () => {
    const { clock, breaker } = await openBreaker();
    await clock.advance(1_000);
    const probe = deferred();
    const first = breaker.execute(() => probe.promise);
    const fn = vi.fn(ok);
    const error = (await breaker.execute(fn).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(error).toBeInstanceOf(CircuitBreakerError);
    expect(error.state).toBe('HALF_OPEN');
    expect(Number.isFinite(error.retryAfterMs)).toBe(true);
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(0);
    expect(fn).not.toHaveBeenCalled();
    probe.resolve('probed');
    await expect(first).resolves.toBe('probed');
    expect(breaker.state).toBe('CLOSED');
    await expect(breaker.execute(fn)).resolves.toBe('ok');
  });

  test('halfOpenMaxCalls: 3 admits three concurrent probes and rejects the fourth', async () => {
    const { clock, breaker } = await openBreaker({ halfOpenMaxCalls: 3, successThreshold: 3 });
    await clock.advance(1_000);
    const probes = [deferred(), deferred(), deferred()];
    const started = vi.fn();
    const calls = probes.map((p) =>
      breaker.execute(() => {
        started();
        return p.promise;
      }),
    );
    expect(started).toHaveBeenCalledTimes(3);
    const extra = vi.fn(ok);
    await expect(breaker.execute(extra)).rejects.toMatchObject({ state: 'HALF_OPEN' });
    expect(extra).not.toHaveBeenCalled();
    probes.forEach((p, i) => p.resolve(`p${i}`));
    await expect(Promise.all(calls)).resolves.toEqual(['p0', 'p1', 'p2']);
    expect(breaker.state).toBe('CLOSED');
  });

  test('a finished probe frees its slot for the next probe', async () => {
    const { clock, breaker } = await openBreaker({ successThreshold: 3 });
    await clock.advance(1_000);
    for (let i = 0; i < 2; i++) {
      const p = deferred();
      const call = breaker.execute(() => p.promise);
      await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitBreakerError);
      p.resolve('x');
      await call;
      expect(breaker.state).toBe('HALF_OPEN');
    }
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(breaker.state).toBe('CLOSED');
  });
});

describe('probe outcomes', () => {
  test('by default (successThreshold 1) one probe success closes the circuit', async () => {
    const { clock, breaker } = await openBreaker();
    await clock.advance(1_000);
    await breaker.execute(ok);
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.getMetrics().consecutiveFailures).toBe(0);
  });

  test('successThreshold probe successes are needed to close it', async () => {
    const { clock, breaker } = await openBreaker({ successThreshold: 3 });
    await clock.advance(1_000);
    await breaker.execute(ok);
    expect(breaker.state).toBe('HALF_OPEN');
    await breaker.execute(ok);
    expect(breaker.state).toBe('HALF_OPEN');
    await breaker.execute(ok);
    expect(breaker.state).toBe('CLOSED');
  });

  test('a failed probe reopens the circuit for another full resetTimeoutMs, counted from the failure', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 30_000, clock });
    await failTimes(breaker, 1); // opens at t=0
    await clock.advance(30_000);
    const probe = deferred();
    const call = breaker.execute(() => probe.promise);
    await clock.advance(1_000); // the probe takes a second
    probe.reject(new Error('still down'));
    await expect(call).rejects.toThrow('still down');
    expect(breaker.state).toBe('OPEN');
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'OPEN', retryAfterMs: 30_000 });
    expect(breaker.getMetrics()).toMatchObject({ openedAt: 31_000, nextAttemptAt: 61_000 });
    await clock.advance(29_999);
    expect(breaker.state).toBe('OPEN');
    await clock.advance(1);
    expect(breaker.state).toBe('HALF_OPEN');
  });

  test('with successThreshold 2, a failure after one probe success still reopens', async () => {
    const { clock, breaker } = await openBreaker({ successThreshold: 2 });
    await clock.advance(1_000);
    await breaker.execute(ok);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
    await clock.advance(1_000);
    // the earlier probe success does not carry over into the new HALF_OPEN period
    await breaker.execute(ok);
    expect(breaker.state).toBe('HALF_OPEN');
    await breaker.execute(ok);
    expect(breaker.state).toBe('CLOSED');
  });

  test('after closing, the full failureThreshold is needed to open again', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 1_000, clock });
    await failTimes(breaker, 3);
    expect(breaker.state).toBe('OPEN');
    await clock.advance(1_000);
    await breaker.execute(ok);
    expect(breaker.state).toBe('CLOSED');
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('CLOSED');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
  });

  test('the HALF_OPEN read is stable: probes are still admitted after many reads', async () => {
    const { clock, breaker } = await openBreaker();
    await clock.advance(1_000);
    for (let i = 0; i < 5; i++) expect(breaker.state).toBe('HALF_OPEN');
    await flush();
    await expect(breaker.execute(ok)).resolves.toBe('ok');
  });
});
