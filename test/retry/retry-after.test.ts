import { describe, expect, test } from 'vitest';
import {
  CircuitBreaker,
  CircuitBreakerError,
  HttpError,
  ManualClock,
  RetryExhaustedError,
  retryWithBackoff,
} from '../../src/index.js';
import { observe, scripted } from './helpers.js';

// A whole second, so that an HTTP-date (second resolution) lands exactly.
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

function http503(retryAfter: string, now = T0) {
  return new HttpError(503, { headers: { 'Retry-After': retryAfter }, now });
}

/** Runs a fn that fails once with `error` then succeeds; returns the waits seen and the call times. */
async function firstWaitAfter(error: unknown, options: Parameters<typeof retryWithBackoff>[1] = {}) {
  const clock = new ManualClock(T0);
  const { fn, calls } = scripted<string>(clock, [{ reject: error }, { value: 'ok' }]);
  const delays: number[] = [];
  const result = observe(
    retryWithBackoff(fn, { clock, timeoutMs: 0, onRetry: (_a, _e, d) => delays.push(d), ...options }),
  );
  await clock.runAll();
  return { delays, calls, result, gap: calls.length > 1 ? calls[1]!.at - calls[0]!.at : undefined };
}

describe('Retry-After', () => {
  test('delay-seconds set the next wait exactly, not jittered', async () => {
    const { delays, gap, result } = await firstWaitAfter(http503('7'), { random: () => 0.5 });
    expect(delays).toEqual([7000]);
    expect(gap).toBe(7000);
    expect(result.value).toBe('ok');
  });

  test('the next attempt does not start before Retry-After has passed', async () => {
    const clock = new ManualClock(T0);
    const { fn, calls } = scripted<string>(clock, [{ reject: http503('3') }, { value: 'ok' }]);
    const result = observe(retryWithBackoff(fn, { clock, jitter: 'none', initialDelayMs: 10 }));
    await clock.advance(2999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    expect(result.value).toBe('ok');
  });

  test('an HTTP-date sets the next wait to the time until that date', async () => {
    const date = new Date(T0 + 12_000).toUTCString();
    const error = new HttpError(429, { headers: { 'retry-after': date }, now: T0 });
    expect(error.retryAfterMs).toBe(12_000);
    const { delays, gap } = await firstWaitAfter(error, { random: () => 0.99 });
    expect(delays).toEqual([12_000]);
    expect(gap).toBe(12_000);
  });

  test('an HTTP-date in the past means no wait', async () => {
    const date = new Date(T0 - 60_000).toUTCString();
    const { delays, gap } = await firstWaitAfter(new HttpError(503, { headers: { 'Retry-After': date }, now: T0 }), {
      jitter: 'none',
    });
    expect(delays).toEqual([0]);
    expect(gap).toBe(0);
  });

  test('Retry-After: 0 retries at once', async () => {
    const { delays, gap } = await firstWaitAfter(http503('0'), { jitter: 'none' });
    expect(delays).toEqual([0]);
    expect(gap).toBe(0);
  });

  test('Retry-After is capped by maxRetryAfterMs, default 60000', async () => {
    const { delays, gap } = await firstWaitAfter(http503('120'));
    expect(delays).toEqual([60_000]);
    expect(gap).toBe(60_000);
  });

  test('maxRetryAfterMs can be set', async () => {
    const { delays, gap } = await firstWaitAfter(http503('120'), { maxRetryAfterMs: 5_000 });
    expect(delays).toEqual([5_000]);
    expect(gap).toBe(5_000);
  });

  test('Retry-After is not capped by maxDelayMs', async () => {
    const { delays, gap } = await firstWaitAfter(http503('45'), { maxDelayMs: 1_000 });
    expect(delays).toEqual([45_000]);
    expect(gap).toBe(45_000);
  });

  test('respectRetryAfter: false ignores it and backs off as usual', async () => {
    const { delays, gap } = await firstWaitAfter(http503('45'), {
      respectRetryAfter: false,
      jitter: 'none',
      initialDelayMs: 250,
    });
    expect(delays).toEqual([250]);
    expect(gap).toBe(250);
  });

  test('only the wait after that error is set: the following wait is the usual backoff', async () => {
    const clock = new ManualClock(T0);
    const { fn, calls } = scripted<string>(clock, [
      { reject: http503('10') },
      { reject: new HttpError(503) },
      { value: 'ok' },
    ]);
    const delays: number[] = [];
    const result = observe(
      retryWithBackoff(fn, { clock, jitter: 'none', initialDelayMs: 100, onRetry: (_a, _e, d) => delays.push(d) }),
    );
    await clock.runAll();
    expect(delays).toEqual([10_000, 200]);
    expect(calls.map((c) => c.at - T0)).toEqual([0, 10_000, 10_200]);
    expect(result.value).toBe('ok');
  });

  test('a Retry-After given directly as retryAfterMs counts too', async () => {
    const { delays } = await firstWaitAfter(new HttpError(503, { retryAfterMs: 1_234 }), { jitter: 'none' });
    expect(delays).toEqual([1_234]);
  });

  test('any error carrying retryAfterMs sets the wait (e.g. a CircuitBreakerError)', async () => {
    const { delays, result } = await firstWaitAfter(new CircuitBreakerError('OPEN', 2_500), { jitter: 'none' });
    expect(delays).toEqual([2_500]);
    expect(result.value).toBe('ok');
  });

  test('composed with a breaker: an open circuit is waited out to its reset, one attempt for the rejection (README)', async () => {
    const clock = new ManualClock(T0);
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 5_000, clock });
    const calls: number[] = [];
    const attempts: Array<{ attempt: number; at: number }> = [];
    const call = async () => {
      calls.push(clock.now());
      if (calls.length === 1) throw new HttpError(503);
      return 'ok';
    };
    const result = observe(
      retryWithBackoff(
        ({ attempt }) => {
          attempts.push({ attempt, at: clock.now() });
          return breaker.execute(call);
        },
        { clock, maxAttempts: 3, initialDelayMs: 100, jitter: 'none', timeoutMs: 0 },
      ),
    );
    await clock.runAll();
    expect(result.value).toBe('ok');
    // 1: the call fails and opens the breaker; 2 (after the 100 ms backoff): rejected by the open
    // breaker without calling; 3: at the breaker's reset, the probe goes through.
    expect(attempts.map((a) => a.at - T0)).toEqual([0, 100, 5_000]);
    expect(calls.map((at) => at - T0)).toEqual([0, 5_000]);
  });

  test('a Retry-After on a non-retryable status does not make it retried', async () => {
    const error = new HttpError(400, { headers: { 'Retry-After': '1' }, now: T0 });
    const { calls, result, delays } = await firstWaitAfter(error);
    expect(calls).toHaveLength(1);
    expect(delays).toEqual([]);
    expect(result.error).toBe(error);
  });

  test('a Retry-After on the last attempt is not waited for', async () => {
    const clock = new ManualClock(T0);
    const last = http503('30');
    const { fn, calls } = scripted<string>(clock, [{ reject: http503('5') }, { reject: last }]);
    const result = observe(retryWithBackoff(fn, { clock, maxAttempts: 2 }));
    await clock.advance(5_000);
    expect(calls).toHaveLength(2);
    expect(result.rejected).toBe(true);
    expect(result.error).toBeInstanceOf(RetryExhaustedError);
    expect((result.error as RetryExhaustedError).cause).toBe(last);
    expect(clock.pendingTimers).toBe(0);
  });

  test('an unreadable Retry-After falls back to the computed backoff', async () => {
    const { delays } = await firstWaitAfter(http503('soon'), { jitter: 'none', initialDelayMs: 300 });
    expect(delays).toEqual([300]);
  });
});
