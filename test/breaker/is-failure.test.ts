import { describe, expect, test, vi } from 'vitest';
import { CircuitBreaker, HttpError, ManualClock, NetworkError, TimeoutError } from '../../src/index.js';
import { failTimes, ok } from './_helpers.js';

const clock = () => new ManualClock();

describe('default isFailure', () => {
  test.each([400, 401, 403, 404, 409, 422, 429, 499])(
    'an HttpError %i does not count as a failure and reaches the caller unchanged',
    async (status) => {
      const breaker = new CircuitBreaker({ failureThreshold: 2, clock: clock() });
      for (let i = 0; i < 5; i++) {
        const error = new HttpError(status);
        await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
      }
      expect(breaker.state).toBe('CLOSED');
      expect(breaker.getMetrics()).toMatchObject({ failures: 0, consecutiveFailures: 0 });
    },
  );

  test.each([500, 502, 503, 504, 599])('an HttpError %i counts as a failure', async (status) => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock: clock() });
    for (let i = 0; i < 2; i++) {
      const error = new HttpError(status);
      await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
    }
    expect(breaker.state).toBe('OPEN');
    expect(breaker.getMetrics().failures).toBe(2);
  });

  test('network errors, timeouts, plain errors and thrown non-errors count as failures', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 4, clock: clock() });
    const thrown: unknown[] = [new NetworkError(), new TimeoutError(100), new TypeError('x'), 'a string'];
    for (const error of thrown) await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.state).toBe('OPEN');
  });

  test('a 4xx answer counts for the circuit like a success: it breaks a run of failures', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, clock: clock() });
    await failTimes(breaker, 2);
    await expect(breaker.execute(() => Promise.reject(new HttpError(404)))).rejects.toBeInstanceOf(HttpError);
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.getMetrics()).toMatchObject({ successes: 1, failures: 4 });
  });
});

describe('custom isFailure', () => {
  test('decides which errors count, and receives the error', async () => {
    const isFailure = vi.fn((error: unknown) => (error as { code?: string }).code === 'ECONNRESET');
    const breaker = new CircuitBreaker({ failureThreshold: 2, isFailure, clock: clock() });
    const other = Object.assign(new Error('validation'), { code: 'EINVAL' });
    for (let i = 0; i < 5; i++) await expect(breaker.execute(() => Promise.reject(other))).rejects.toBe(other);
    expect(isFailure).toHaveBeenCalledWith(other);
    expect(breaker.state).toBe('CLOSED');
    const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    await expect(breaker.execute(() => Promise.reject(reset))).rejects.toBe(reset);
    await expect(breaker.execute(() => Promise.reject(reset))).rejects.toBe(reset);
    expect(breaker.state).toBe('OPEN');
  });

  test('can count 4xx answers too', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, isFailure: () => true, clock: clock() });
    for (let i = 0; i < 2; i++) await breaker.execute(() => Promise.reject(new HttpError(404))).catch(() => undefined);
    expect(breaker.state).toBe('OPEN');
  });

  test('is not consulted for successful calls', async () => {
    const isFailure = vi.fn(() => true);
    const breaker = new CircuitBreaker({ isFailure, clock: clock() });
    await breaker.execute(ok);
    expect(isFailure).not.toHaveBeenCalled();
  });

  test('decides probe outcomes: an error it does not count closes a HALF_OPEN circuit', async () => {
    const c = clock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 100, clock: c });
    await failTimes(breaker, 1);
    await c.advance(100);
    await expect(breaker.execute(() => Promise.reject(new HttpError(404)))).rejects.toBeInstanceOf(HttpError);
    expect(breaker.state).toBe('CLOSED');
  });
});
