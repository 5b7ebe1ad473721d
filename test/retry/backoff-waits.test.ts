import fc from 'fast-check';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { computeBackoffDelay, type JitterMode, ManualClock, retryWithBackoff } from '../../src/index.js';
import { alwaysFailing, observe, scripted } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the waits between attempts', () => {
  test('the next attempt does not start before the delay and does start once it has passed', async () => {
    const clock = new ManualClock(1_000_000);
    const { fn, calls } = scripted<string>(clock, [{ throw: new Error('a') }, { throw: new Error('b') }, { value: 'ok' }]);
    const result = observe(retryWithBackoff(fn, { clock, jitter: 'none', initialDelayMs: 100, maxAttempts: 5 }));

    await clock.advance(0);
    expect(calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(99);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at).toBe(1_000_100);

    await clock.advance(199);
    expect(calls).toHaveLength(2);
    await clock.advance(1);
    expect(calls).toHaveLength(3);
    expect(calls[2]!.at).toBe(1_000_300);

    expect(result.fulfilled).toBe(true);
    expect(result.value).toBe('ok');
    expect(clock.pendingTimers).toBe(0);
  });

  test('the default options wait 1000 then 2000 ms (jitter none) and nothing is waited after the last attempt', async () => {
    const clock = new ManualClock();
    const { fn, calls } = alwaysFailing(clock);
    const result = observe(retryWithBackoff(fn, { clock, jitter: 'none' }));
    await clock.runAll();
    expect(calls.map((c) => c.at)).toEqual([0, 1000, 3000]);
    expect(result.rejected).toBe(true);
    expect(clock.now()).toBe(3000);
  });

  test('exponential growth is capped by maxDelayMs', async () => {
    const clock = new ManualClock();
    const { fn, calls } = alwaysFailing(clock);
    observe(
      retryWithBackoff(fn, { clock, jitter: 'none', initialDelayMs: 100, backoffMultiplier: 3, maxDelayMs: 1000, maxAttempts: 6 }),
    );
    await clock.runAll();
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
    expect(gaps).toEqual([100, 300, 900, 1000, 1000]);
  });

  test('onRetry(attempt, error, nextDelayMs) is called before each wait with the attempt that just failed', async () => {
    const clock = new ManualClock();
    const { fn, errors, calls } = alwaysFailing(clock);
    const seen: Array<{ attempt: number; error: unknown; nextDelayMs: number; at: number; callsSoFar: number }> = [];
    observe(
      retryWithBackoff(fn, {
        clock,
        jitter: 'none',
        initialDelayMs: 50,
        maxAttempts: 4,
        onRetry: (attempt, error, nextDelayMs) => {
          seen.push({ attempt, error, nextDelayMs, at: clock.now(), callsSoFar: calls.length });
        },
      }),
    );
    await clock.runAll();
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect(seen.map((s) => s.nextDelayMs)).toEqual([50, 100, 200]);
    expect(seen.map((s) => s.error)).toEqual(errors.slice(0, 3));
    expect(seen[0]!.error).toBe(errors[0]);
    // Called before the wait: at the time the attempt failed, before the next call.
    expect(seen.map((s) => s.at)).toEqual([0, 50, 150]);
    expect(seen.map((s) => s.callsSoFar)).toEqual([1, 2, 3]);
  });

  test('nextDelayMs is the wait that actually follows, also with jitter', async () => {
    const clock = new ManualClock();
    const { fn, calls } = alwaysFailing(clock);
    const delays: number[] = [];
    const randoms = [0.9, 0.1, 0.5, 0.3, 0.7];
    let i = 0;
    observe(
      retryWithBackoff(fn, {
        clock,
        maxAttempts: 6,
        initialDelayMs: 1000,
        random: () => randoms[i++ % randoms.length]!,
        onRetry: (_attempt, _error, nextDelayMs) => delays.push(nextDelayMs),
      }),
    );
    await clock.runAll();
    const gaps = calls.slice(1).map((c, k) => c.at - calls[k]!.at);
    expect(gaps).toEqual(delays);
    // full jitter by default: random × capped exponential
    expect(delays).toEqual([900, 200, 2000, 2400, 11200]);
  });

  test('the default jitter is full, drawing on Math.random', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const clock = new ManualClock();
    const { fn } = alwaysFailing(clock);
    const delays: number[] = [];
    observe(retryWithBackoff(fn, { clock, onRetry: (_a, _e, d) => delays.push(d) }));
    await clock.runAll();
    expect(delays).toEqual([250, 500]);
  });

  test.each<[JitterMode, [number, number]]>([
    ['none', [1000, 2000]],
    ['full', [500, 1000]],
    ['equal', [750, 1500]],
  ])("jitter '%s' sets the waits", async (jitter, expected) => {
    const clock = new ManualClock();
    const { fn, calls } = alwaysFailing(clock);
    observe(retryWithBackoff(fn, { clock, jitter, random: () => 0.5 }));
    await clock.runAll();
    expect(calls.map((c) => c.at)).toEqual([0, expected[0], expected[0] + expected[1]]);
  });

  test("decorrelated waits stay in [initialDelayMs, min(maxDelayMs, 3 × the previous wait)]", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 60_000 }),
        async (randoms, initialDelayMs, maxDelayMs) => {
          const clock = new ManualClock();
          const { fn } = alwaysFailing(clock);
          const delays: number[] = [];
          let i = 0;
          observe(
            retryWithBackoff(fn, {
              clock,
              jitter: 'decorrelated',
              maxAttempts: 8,
              initialDelayMs,
              maxDelayMs,
              timeoutMs: 0,
              random: () => randoms[i++ % randoms.length]!,
              onRetry: (_a, _e, d) => delays.push(d),
            }),
          );
          await clock.runAll();
          expect(delays).toHaveLength(7);
          let previous = initialDelayMs;
          const low = Math.min(initialDelayMs, maxDelayMs);
          for (const delay of delays) {
            expect(delay).toBeGreaterThanOrEqual(low);
            expect(delay).toBeLessThanOrEqual(Math.min(maxDelayMs, Math.max(low, 3 * previous)));
            previous = delay;
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  test('every wait used is finite, >= 0 and <= maxDelayMs, even deep into a long run', async () => {
    const clock = new ManualClock();
    const { fn, calls } = alwaysFailing(clock);
    const delays: number[] = [];
    const result = observe(
      retryWithBackoff(fn, {
        clock,
        maxAttempts: 1030,
        initialDelayMs: 1,
        maxDelayMs: 5,
        jitter: 'equal',
        timeoutMs: 0,
        onRetry: (_a, _e, d) => delays.push(d),
      }),
    );
    await clock.runAll(5000);
    expect(result.rejected).toBe(true);
    expect(calls).toHaveLength(1030);
    expect(delays).toHaveLength(1029);
    for (const d of delays) {
      expect(Number.isFinite(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(5);
    }
  });

  test('the waits match computeBackoffDelay for the same options and random', async () => {
    const clock = new ManualClock();
    const { fn } = alwaysFailing(clock);
    const delays: number[] = [];
    const options = { initialDelayMs: 300, backoffMultiplier: 1.7, maxDelayMs: 2000, jitter: 'equal' as const };
    observe(retryWithBackoff(fn, { ...options, clock, maxAttempts: 6, random: () => 0.4, onRetry: (_a, _e, d) => delays.push(d) }));
    await clock.runAll();
    expect(delays).toEqual([1, 2, 3, 4, 5].map((n) => computeBackoffDelay(n, options, () => 0.4)));
  });

  test('a zero delay starts the next attempt at once, without a timer', async () => {
    const clock = new ManualClock();
    const { fn, calls } = scripted<string>(clock, [{ throw: new Error('x') }, { throw: new Error('y') }, { value: 'ok' }]);
    const result = observe(retryWithBackoff(fn, { clock, initialDelayMs: 0, timeoutMs: 0 }));
    await clock.advance(0);
    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c.at === 0)).toBe(true);
    expect(result.value).toBe('ok');
  });

  test('no real timer is started behind the clock for a wait', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const clock = new ManualClock();
    const { fn } = scripted<string>(clock, [{ throw: new Error('x') }, { value: 'ok' }]);
    const result = observe(retryWithBackoff(fn, { clock, jitter: 'none', initialDelayMs: 4321, timeoutMs: 0 }));
    await clock.advance(4321);
    expect(result.value).toBe('ok');
    expect(spy.mock.calls.filter((args) => args[1] === 4321)).toEqual([]);
  });
});
