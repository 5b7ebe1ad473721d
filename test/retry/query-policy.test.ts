// retryPolicyForQueries: TanStack Query's retry/retryDelay with the client's classification,
// backoff and Retry-After. Checked as functions and inside a real @tanstack/query-core QueryClient.
import { QueryClient } from '@tanstack/react-query';
import { describe, expect, test } from 'vitest';
import {
  HttpError,
  IdempotencyError,
  NetworkError,
  RetryExhaustedError,
  TimeoutError,
  computeBackoffDelay,
  retryPolicyForQueries,
} from 'closed-loop';

describe('which errors are retried', () => {
  const { retry } = retryPolicyForQueries({ maxAttempts: 10 });

  test.each<[string, unknown, boolean]>([
    ['a 500', new HttpError(500), true],
    ['a 503', new HttpError(503), true],
    ['a 408', new HttpError(408), true],
    ['a 425', new HttpError(425), true],
    ['a 429', new HttpError(429), true],
    ['a network error', new NetworkError('down'), true],
    ['a timeout', new TimeoutError(100), true],
    ['a 400', new HttpError(400), false],
    ['a 401', new HttpError(401), false],
    ['a 404', new HttpError(404), false],
    ['a 422', new HttpError(422), false],
    ['an IdempotencyError KEY_MISMATCH', new IdempotencyError('KEY_MISMATCH'), false],
    ['an error marked retryable: false', Object.assign(new Error('config'), { retryable: false }), false],
    ['a RetryExhaustedError ending in a 503', new RetryExhaustedError(3, new HttpError(503)), true],
    ['a RetryExhaustedError ending in a 404', new RetryExhaustedError(3, new HttpError(404)), false],
  ])('%s: %s', (_, error, expected) => {
    expect(retry(0, error)).toBe(expected);
  });

  test('maxAttempts counts the first call: 3 → retried after failures 1 and 2, not after 3', () => {
    const policy = retryPolicyForQueries({ maxAttempts: 3 });
    const error = new HttpError(503);
    expect([0, 1, 2, 3].map((n) => policy.retry(n, error))).toEqual([true, true, false, false]);
    expect(retryPolicyForQueries({ maxAttempts: 1 }).retry(0, error)).toBe(false);
  });

  test('a custom shouldRetry gets the attempt number (from 1) and the unwrapped error', () => {
    const seen: Array<[unknown, number]> = [];
    const policy = retryPolicyForQueries({
      maxAttempts: 5,
      shouldRetry: (error, attempt) => {
        seen.push([error, attempt]);
        return attempt < 2;
      },
    });
    const cause = new HttpError(400);
    expect(policy.retry(0, new RetryExhaustedError(2, cause))).toBe(true);
    expect(policy.retry(1, cause)).toBe(false);
    expect(seen).toEqual([
      [cause, 1],
      [cause, 2],
    ]);
  });
});

describe('delays', () => {
  test('the same backoff as the client: attemptIndex 0 is the wait before the 2nd call', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000, jitter: 'none' as const };
    const { retryDelay } = retryPolicyForQueries(options);
    expect([0, 1, 2, 3, 4].map((i) => retryDelay(i, new HttpError(503)))).toEqual([100, 200, 400, 800, 1000]);
    expect(retryDelay(1, new HttpError(503))).toBe(computeBackoffDelay(2, options));
  });

  test('full jitter by default, from the given random source', () => {
    const { retryDelay } = retryPolicyForQueries({ initialDelayMs: 1000, random: () => 0.25 });
    expect(retryDelay(0, new NetworkError('x'))).toBe(250);
    expect(retryDelay(1, new NetworkError('x'))).toBe(500);
  });

  test('Retry-After is honoured (unjittered), capped by maxRetryAfterMs, and can be turned off', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const tooMany = new HttpError(429, { headers: { 'retry-after': '7' }, now });
    expect(retryPolicyForQueries().retryDelay(0, tooMany)).toBe(7000);
    expect(retryPolicyForQueries({ maxRetryAfterMs: 2000 }).retryDelay(0, tooMany)).toBe(2000);
    expect(retryPolicyForQueries({ respectRetryAfter: false, jitter: 'none', initialDelayMs: 50 }).retryDelay(0, tooMany)).toBe(50);
    expect(retryPolicyForQueries().retryDelay(0, new RetryExhaustedError(3, tooMany))).toBe(7000);
  });
});

describe('bad input', () => {
  test.each([
    [{ maxAttempts: 0 }],
    [{ maxAttempts: Number.NaN }],
    [{ initialDelayMs: -1 }],
    [{ jitter: 'sometimes' as 'full' }],
    [{ shouldRetry: 'yes' as unknown as () => boolean }],
  ])('%o is refused with a TypeError', (options) => {
    expect(() => retryPolicyForQueries(options)).toThrow(TypeError);
  });

  test('an async shouldRetry is refused when TanStack asks (it asks synchronously)', () => {
    const policy = retryPolicyForQueries({ shouldRetry: async () => true });
    expect(() => policy.retry(0, new HttpError(503))).toThrow(/must return a boolean/);
  });
});

describe('inside a real QueryClient', () => {
  async function fetchWith(errors: unknown[], policyOptions = {}) {
    const client = new QueryClient({
      defaultOptions: { queries: retryPolicyForQueries({ initialDelayMs: 1, maxDelayMs: 1, jitter: 'none', ...policyOptions }) },
    });
    let calls = 0;
    const outcome = await client
      .query({
        queryKey: ['todos'],
        queryFn: async () => {
          const error = errors[calls++];
          if (error !== undefined) throw error;
          return 'ok';
        },
      })
      .then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
    client.clear();
    return { calls, outcome };
  }

  test('503, 503, then data: three calls', async () => {
    expect(await fetchWith([new HttpError(503), new HttpError(503)])).toEqual({ calls: 3, outcome: { value: 'ok' } });
  });

  test('a 404 is not retried: one call', async () => {
    const notFound = new HttpError(404);
    expect(await fetchWith([notFound])).toEqual({ calls: 1, outcome: { error: notFound } });
  });

  test('maxAttempts 2 with a server that stays down: two calls, then the last error', async () => {
    const errors = [new HttpError(500), new HttpError(502), new HttpError(503)];
    expect(await fetchWith(errors, { maxAttempts: 2 })).toEqual({ calls: 2, outcome: { error: errors[1] } });
  });
});
