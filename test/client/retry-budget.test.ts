// The retry budget: first attempts earn retries, retries spend them; when it is empty a failed call
// fails at once instead of retrying.
import { describe, expect, test } from 'vitest';
import { createSyncClient, HttpError, ManualClock, RetryBudget, RetryExhaustedError } from 'closed-loop';
import { connectionRefused, fakeFetch, json, settle } from './_fake-fetch.js';

describe('RetryBudget', () => {
  test('the reserve is minPerSecond × the window; each first attempt adds ratio', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0.2, ttlMs: 10_000, clock });
    expect(budget.getStats().balance).toBe(2);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    budget.deposit();
    expect(budget.tryWithdraw()).toBe(false); // half a retry is not a retry
    budget.deposit();
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.getStats()).toEqual({ balance: 0, deposits: 2, withdrawals: 3, denied: 2 });
  });

  test('spent retries come back once they leave the window', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, ttlMs: 10_000, clock });
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    await clock.advance(9_000);
    expect(budget.tryWithdraw()).toBe(false);
    await clock.advance(1_000);
    expect(budget.tryWithdraw()).toBe(true);
  });

  test('earnings expire too: a quiet period does not save up a storm', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, ttlMs: 1000, clock });
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(budget.getStats().balance).toBe(100);
    await clock.advance(60_000);
    expect(budget.getStats().balance).toBe(0);
    expect(budget.tryWithdraw()).toBe(false);
  });

  test('bad options are refused', () => {
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(TypeError);
    expect(() => new RetryBudget({ minPerSecond: Number.NaN })).toThrow(TypeError);
    expect(() => new RetryBudget({ ttlMs: 0 })).toThrow(TypeError);
    expect(() => new RetryBudget({ ratio: Number.POSITIVE_INFINITY })).toThrow(TypeError);
  });
});

describe('a client with a budget', () => {
  test('once the budget is spent, a failing call fails after one attempt: RetryExhaustedError, cause the failure', async () => {
    const clock = new ManualClock();
    const fake = fakeFetch(() => json({}, 503));
    const api = createSyncClient({
      baseUrl: 'https://api.test',
      fetch: fake.fetch,
      clock,
      breaker: false,
      retry: { maxAttempts: 3, initialDelayMs: 0, maxDelayMs: 0, timeoutMs: 0 },
      // 2 retries in reserve, and 0.1 of a retry per call.
      retryBudget: { ratio: 0.1, minPerSecond: 0.2, ttlMs: 10_000 },
    });
    const first = ((await settle(api.post('/x', {}))) as { error: RetryExhaustedError }).error;
    expect(first.attempts).toBe(3);
    expect(fake.calls).toHaveLength(3);

    const second = ((await settle(api.post('/x', {}))) as { error: RetryExhaustedError }).error;
    expect(second).toBeInstanceOf(RetryExhaustedError);
    expect(second.attempts).toBe(1);
    expect(second.message).toMatch(/budget/i);
    expect(second.cause).toBeInstanceOf(HttpError);
    expect(fake.calls).toHaveLength(4);
    expect(api.retryBudget?.getStats()).toMatchObject({ deposits: 2, withdrawals: 2, denied: 1 });
  });

  test('non-retryable answers spend nothing', async () => {
    const fake = fakeFetch(() => json({}, 400));
    const api = createSyncClient({
      baseUrl: 'https://api.test',
      fetch: fake.fetch,
      retryBudget: { ratio: 0, minPerSecond: 0 },
    });
    for (let i = 0; i < 3; i++) expect(((await settle(api.get('/x'))) as { error: HttpError }).error.status).toBe(400);
    expect(api.retryBudget?.getStats()).toMatchObject({ withdrawals: 0, denied: 0 });
  });

  test('successes earn retries back: with ratio 0.5, two good calls pay for one retry', async () => {
    const clock = new ManualClock();
    let failNext = false;
    const fake = fakeFetch(() => (failNext ? ((failNext = false), connectionRefused()) : json({})));
    const api = createSyncClient({
      baseUrl: 'https://api.test',
      fetch: fake.fetch,
      clock,
      breaker: false,
      retry: { initialDelayMs: 0, maxDelayMs: 0, timeoutMs: 0 },
      retryBudget: { ratio: 0.5, minPerSecond: 0 },
    });
    failNext = true;
    // The first call earns 0.5: not enough for its own retry.
    expect((await settle(api.get('/a'))).ok).toBe(false);
    await api.get('/b');
    failNext = true;
    // 1.5 earned by now: the retry goes ahead.
    expect((await settle(api.get('/c'))).ok).toBe(true);
  });

  test('one RetryBudget instance can be shared by several clients', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, ttlMs: 10_000, clock });
    const fake = fakeFetch(() => json({}, 503));
    const options = {
      baseUrl: 'https://api.test',
      fetch: fake.fetch,
      clock,
      breaker: false as const,
      retry: { maxAttempts: 2, initialDelayMs: 0, maxDelayMs: 0, timeoutMs: 0 },
      retryBudget: budget,
    };
    const a = createSyncClient(options);
    const b = createSyncClient(options);
    expect(a.retryBudget).toBe(budget);
    await settle(a.get('/x'));
    await settle(b.get('/x'));
    // One retry in the shared reserve: a used it, b made a single attempt.
    expect(fake.calls).toHaveLength(3);
  });
});
