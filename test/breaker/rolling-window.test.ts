import { describe, expect, test } from 'vitest';
import { CircuitBreaker, type Clock, ManualClock } from '../../src/index.js';
import { failTimes, ok, succeedTimes } from './_helpers.js';

function rolling(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({
    failureRateThreshold: 0.5,
    minimumCalls: 4,
    windowMs: 10_000,
    resetTimeoutMs: 1_000,
    clock,
    ...options,
  });
  return { clock, breaker };
}

describe('rolling-window mode', () => {
  test('opens when the failure ratio reaches the threshold once minimumCalls have finished', async () => {
    const { breaker } = rolling();
    await succeedTimes(breaker, 1);
    await failTimes(breaker, 1);
    await succeedTimes(breaker, 1);
    expect(breaker.state).toBe('CLOSED');
    await failTimes(breaker, 1); // 2 of 4 = 0.5
    expect(breaker.state).toBe('OPEN');
  });

  test('opens when the call that completes minimumCalls is a success and the ratio is already reached', async () => {
    const { breaker } = rolling();
    await failTimes(breaker, 2);
    await succeedTimes(breaker, 1);
    expect(breaker.state).toBe('CLOSED'); // 3 calls < minimumCalls
    await succeedTimes(breaker, 1); // 2 of 4 = 0.5
    expect(breaker.state).toBe('OPEN');
  });

  test('does not open below minimumCalls, even at a 100% failure rate', async () => {
    const { breaker } = rolling({ minimumCalls: 10 });
    await failTimes(breaker, 9);
    expect(breaker.state).toBe('CLOSED');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
  });

  test('does not open while the ratio stays below the threshold', async () => {
    const { breaker } = rolling({ minimumCalls: 3 });
    for (let i = 0; i < 100; i++) {
      await succeedTimes(breaker, 2);
      await failTimes(breaker, 1); // 1 in 3
    }
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.getMetrics().failures).toBe(100);
  });

  test('without failureThreshold, consecutive failures alone do not open it', async () => {
    const { breaker } = rolling({ failureRateThreshold: 0.9, minimumCalls: 20 });
    await succeedTimes(breaker, 10);
    await failTimes(breaker, 10); // 10 in a row, but 10/20 < 0.9
    expect(breaker.state).toBe('CLOSED');
  });

  test('with failureThreshold as well, consecutive failures open it too', async () => {
    const { breaker } = rolling({ failureRateThreshold: 0.9, minimumCalls: 20, failureThreshold: 3 });
    await succeedTimes(breaker, 10);
    await failTimes(breaker, 3);
    expect(breaker.state).toBe('OPEN');
  });

  test('failureRateThreshold 1 opens only when every call in the window failed', async () => {
    const { breaker } = rolling({ failureRateThreshold: 1, minimumCalls: 3 });
    await succeedTimes(breaker, 1);
    await failTimes(breaker, 5);
    expect(breaker.state).toBe('CLOSED');
    const fresh = rolling({ failureRateThreshold: 1, minimumCalls: 3 }).breaker;
    await failTimes(fresh, 3);
    expect(fresh.state).toBe('OPEN');
  });

  test('old failures slide out of the window as the clock advances', async () => {
    const { clock, breaker } = rolling();
    await failTimes(breaker, 3); // t=0: 3 calls, 3 failures, below minimumCalls
    await clock.advance(11_000); // more than windowMs (plus one bucket) later
    await succeedTimes(breaker, 3);
    await failTimes(breaker, 1); // in the window: 4 calls, 1 failure
    expect(breaker.state).toBe('CLOSED');
  });

  test('failures still inside the window keep counting', async () => {
    const { clock, breaker } = rolling();
    await failTimes(breaker, 3);
    await clock.advance(5_000);
    expect(breaker.state).toBe('CLOSED');
    await succeedTimes(breaker, 1); // 3 of 4, the failures from 5 s ago included
    expect(breaker.state).toBe('OPEN');
  });

  test('successes slide out too, so the ratio follows recent traffic', async () => {
    const { clock, breaker } = rolling({ minimumCalls: 4 });
    await succeedTimes(breaker, 100);
    await clock.advance(11_000);
    await failTimes(breaker, 3);
    expect(breaker.state).toBe('CLOSED'); // 3 recent calls, below minimumCalls
    await failTimes(breaker, 1); // 4 of 4 recent calls failed (4 of 104 had the successes stayed)
    expect(breaker.state).toBe('OPEN');
  });

  test('closing after a probe starts from an empty window', async () => {
    const { clock, breaker } = rolling();
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('OPEN');
    await clock.advance(1_000);
    await breaker.execute(ok);
    expect(breaker.state).toBe('CLOSED');
    await succeedTimes(breaker, 2);
    await failTimes(breaker, 1); // 1 of 3 in the new window (the 4 old failures would make it 5 of 7)
    expect(breaker.state).toBe('CLOSED');
  });
});

describe('rolling-window memory is bounded by buckets, not calls', () => {
  function windowArrays(breaker: CircuitBreaker): unknown[][] {
    // The breaker's private rolling window, read to measure what it keeps.
    const window = (breaker as unknown as { window: Record<string, unknown> }).window;
    expect(window).toBeTruthy();
    return Object.values(window).filter((v): v is unknown[] => Array.isArray(v));
  }

  test('after 100k calls over a long time the window keeps a fixed size and still counts correctly', async () => {
    let now = 0;
    const clock: Clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => undefined };
    const breaker = new CircuitBreaker({
      failureRateThreshold: 0.5,
      minimumCalls: 10,
      windowMs: 1_000,
      windowBuckets: 5,
      clock,
    });
    const arrays = windowArrays(breaker);
    expect(arrays.length).toBeGreaterThan(0);
    const lengths = arrays.map((a) => a.length);
    for (const length of lengths) expect(length).toBeLessThanOrEqual(5);

    const fail = () => Promise.reject(new Error('x'));
    for (let i = 0; i < 100_000; i++) {
      now += 7; // about 14 s of traffic per 2000 calls: the window wraps thousands of times
      await breaker.execute(i % 3 === 0 ? fail : ok).catch(() => undefined);
    }
    expect(breaker.state).toBe('CLOSED'); // 1 in 3 failed
    expect(windowArrays(breaker).map((a) => a.length)).toEqual(lengths);
    expect(breaker.getMetrics().totalCalls).toBe(100_000);

    // the window only holds the last second: 10 failures now make it 10 of at most ~153 calls
    now += 5_000; // and after a quiet spell it holds nothing
    await failTimes(breaker, 9);
    expect(breaker.state).toBe('CLOSED');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
  });
});

describe('rolling-window options are validated', () => {
  test.each([
    { failureRateThreshold: 0 },
    { failureRateThreshold: -0.1 },
    { failureRateThreshold: 1.5 },
    { failureRateThreshold: Number.NaN },
    { failureRateThreshold: '0.5' as unknown as number },
    { failureRateThreshold: 0.5, minimumCalls: 0 },
    { failureRateThreshold: 0.5, minimumCalls: 2.5 },
    { failureRateThreshold: 0.5, windowMs: 0 },
    { failureRateThreshold: 0.5, windowMs: -1 },
    { failureRateThreshold: 0.5, windowMs: Number.POSITIVE_INFINITY },
    { failureRateThreshold: 0.5, windowBuckets: 0 },
  ])('%o throws TypeError', (options) => {
    expect(() => new CircuitBreaker(options)).toThrow(TypeError);
  });
});
