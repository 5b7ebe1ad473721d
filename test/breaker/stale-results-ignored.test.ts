import { describe, expect, test } from 'vitest';
import { CircuitBreaker, ManualClock } from '../../src/index.js';
import { deferred, failTimes, ok } from './_helpers.js';

// Every transition starts a new period; a call that settles after its period ended must not change
// the state of the newer period. Each test keeps a slow call in flight across the transition.

function setup(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({ failureThreshold: 2, resetTimeoutMs: 1_000, clock, ...options });
  return { clock, breaker };
}

describe('a slow call from the CLOSED period', () => {
  test('failing after the circuit opened does not restart the OPEN wait', async () => {
    const { clock, breaker } = setup();
    const slow = deferred();
    const slowCall = breaker.execute(() => slow.promise);
    await failTimes(breaker, 2); // opens at t=0
    await clock.advance(600);
    slow.reject(new Error('late'));
    await expect(slowCall).rejects.toThrow('late'); // its error still reaches its caller
    expect(breaker.state).toBe('OPEN');
    expect(breaker.getMetrics()).toMatchObject({ openedAt: 0, nextAttemptAt: 1_000 });
    await clock.advance(400);
    expect(breaker.state).toBe('HALF_OPEN');
  });

  test('succeeding after the circuit opened does not close it', async () => {
    const { breaker } = setup();
    const slow = deferred();
    const slowCall = breaker.execute(() => slow.promise);
    await failTimes(breaker, 2);
    slow.resolve('late');
    await expect(slowCall).resolves.toBe('late');
    expect(breaker.state).toBe('OPEN');
  });

  test('failing while HALF_OPEN does not reopen it, and the probe still decides', async () => {
    const { clock, breaker } = setup();
    const slow = deferred();
    const slowCall = breaker.execute(() => slow.promise);
    await failTimes(breaker, 2);
    await clock.advance(1_000);
    expect(breaker.state).toBe('HALF_OPEN');
    slow.reject(new Error('late'));
    await expect(slowCall).rejects.toThrow('late');
    expect(breaker.state).toBe('HALF_OPEN');
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(breaker.state).toBe('CLOSED');
  });

  test('succeeding while HALF_OPEN does not count as a probe success', async () => {
    const { clock, breaker } = setup();
    const slow = deferred();
    const slowCall = breaker.execute(() => slow.promise);
    await failTimes(breaker, 2);
    await clock.advance(1_000);
    expect(breaker.state).toBe('HALF_OPEN');
    slow.resolve('late');
    await slowCall;
    expect(breaker.state).toBe('HALF_OPEN');
  });

  test('succeeding while a probe is in flight neither closes the circuit nor frees the probe slot', async () => {
    const { clock, breaker } = setup();
    const slow = deferred();
    const slowCall = breaker.execute(() => slow.promise);
    await failTimes(breaker, 2);
    await clock.advance(1_000);
    const probe = deferred();
    const probeCall = breaker.execute(() => probe.promise);
    slow.resolve('late');
    await slowCall;
    expect(breaker.state).toBe('HALF_OPEN');
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'HALF_OPEN' });
    probe.reject(new Error('probe failed'));
    await expect(probeCall).rejects.toThrow('probe failed');
    expect(breaker.state).toBe('OPEN');
  });

  test('failing after the circuit closed again does not count in the new CLOSED period', async () => {
    const { clock, breaker } = setup();
    const slow = deferred();
    const slowCall = breaker.execute(() => slow.promise);
    await failTimes(breaker, 2);
    await clock.advance(1_000);
    await breaker.execute(ok); // probe closes it
    expect(breaker.state).toBe('CLOSED');
    await failTimes(breaker, 1); // one failure of two in the new period
    slow.reject(new Error('late'));
    await expect(slowCall).rejects.toThrow('late');
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.getMetrics().consecutiveFailures).toBe(1);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
  });

  test('succeeding after the circuit closed again does not reset the new period\'s failure count', async () => {
    const { clock, breaker } = setup();
    const slow = deferred();
    const slowCall = breaker.execute(() => slow.promise);
    await failTimes(breaker, 2);
    await clock.advance(1_000);
    await breaker.execute(ok);
    await failTimes(breaker, 1);
    slow.resolve('late');
    await slowCall;
    expect(breaker.getMetrics().consecutiveFailures).toBe(1);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
  });

  test('many slow calls failing together after the circuit closed again leave it CLOSED', async () => {
    const { clock, breaker } = setup({ failureThreshold: 3 });
    const slows = Array.from({ length: 10 }, () => deferred());
    const calls = slows.map((s) => breaker.execute(() => s.promise).catch(() => 'failed'));
    await failTimes(breaker, 3);
    await clock.advance(1_000);
    await breaker.execute(ok);
    slows.forEach((s) => s.reject(new Error('late')));
    await Promise.all(calls);
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.getMetrics().consecutiveFailures).toBe(0);
  });
});

describe('a slow probe from an older HALF_OPEN period', () => {
  test('succeeding after a sibling probe reopened the circuit does not close it', async () => {
    const { clock, breaker } = setup({ halfOpenMaxCalls: 2 });
    await failTimes(breaker, 2);
    await clock.advance(1_000);
    const p1 = deferred();
    const p2 = deferred();
    const c1 = breaker.execute(() => p1.promise);
    const c2 = breaker.execute(() => p2.promise);
    p1.reject(new Error('down'));
    await expect(c1).rejects.toThrow('down');
    expect(breaker.state).toBe('OPEN');
    p2.resolve('up');
    await expect(c2).resolves.toBe('up');
    expect(breaker.state).toBe('OPEN');
  });

  test('failing in the next HALF_OPEN period does not reopen it or take its probe slot', async () => {
    const { clock, breaker } = setup({ halfOpenMaxCalls: 2 });
    await failTimes(breaker, 2);
    await clock.advance(1_000);
    const p1 = deferred();
    const p2 = deferred();
    const c1 = breaker.execute(() => p1.promise);
    const c2 = breaker.execute(() => p2.promise);
    p1.reject(new Error('down'));
    await c1.catch(() => undefined);
    await clock.advance(1_000);
    expect(breaker.state).toBe('HALF_OPEN');
    const p3 = deferred();
    const c3 = breaker.execute(() => p3.promise);
    p2.reject(new Error('late'));
    await expect(c2).rejects.toThrow('late');
    expect(breaker.state).toBe('HALF_OPEN');
    // two slots in this period: p3 holds one, the other is still free
    const p4 = deferred();
    const c4 = breaker.execute(() => p4.promise);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'HALF_OPEN' });
    p3.resolve('a');
    p4.resolve('b');
    await Promise.all([c3, c4]);
    expect(breaker.state).toBe('CLOSED');
  });

  test('succeeding after trip() does not close the tripped circuit', async () => {
    const { clock, breaker } = setup();
    await failTimes(breaker, 2);
    await clock.advance(1_000);
    const probe = deferred();
    const call = breaker.execute(() => probe.promise);
    breaker.trip();
    probe.resolve('late');
    await call;
    expect(breaker.state).toBe('OPEN');
  });
});

describe('stale results still count in the totals and reach their callers', () => {
  test('successes and failures are counted and emitted', async () => {
    const { breaker } = setup();
    const a = deferred();
    const b = deferred();
    const ca = breaker.execute(() => a.promise);
    const cb = breaker.execute(() => b.promise);
    await failTimes(breaker, 2);
    const seen: string[] = [];
    breaker.on('success', () => seen.push('success'));
    breaker.on('failure', () => seen.push('failure'));
    a.resolve('a');
    b.reject(new Error('b'));
    await expect(ca).resolves.toBe('a');
    await expect(cb).rejects.toThrow('b');
    expect(seen).toEqual(['success', 'failure']);
    expect(breaker.getMetrics()).toMatchObject({ successes: 1, failures: 3, consecutiveFailures: 2 });
  });
});
