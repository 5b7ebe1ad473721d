import { afterEach, describe, expect, test, vi } from 'vitest';
import { computeBackoffDelay } from '../../src/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('computeBackoffDelay — exact values', () => {
  test("jitter 'none' with the defaults: 1000, 2000, 4000 … capped at 30000", () => {
    const delays = Array.from({ length: 8 }, (_, i) => computeBackoffDelay(i + 1, { jitter: 'none' }));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  test('attempt 1 is the wait before the 2nd call: initialDelayMs × multiplier^(attempt−1)', () => {
    const options = { jitter: 'none' as const, initialDelayMs: 100, backoffMultiplier: 3, maxDelayMs: 1e9 };
    expect(computeBackoffDelay(1, options)).toBe(100);
    expect(computeBackoffDelay(2, options)).toBe(300);
    expect(computeBackoffDelay(3, options)).toBe(900);
    expect(computeBackoffDelay(4, options)).toBe(2700);
  });

  test('the cap is maxDelayMs', () => {
    const options = { jitter: 'none' as const, initialDelayMs: 100, maxDelayMs: 750 };
    expect([1, 2, 3, 4, 5].map((n) => computeBackoffDelay(n, options))).toEqual([100, 200, 400, 750, 750]);
  });

  test('a multiplier of 1 gives a constant delay; 0 gives the initial delay then zero', () => {
    expect([1, 2, 3].map((n) => computeBackoffDelay(n, { jitter: 'none', initialDelayMs: 250, backoffMultiplier: 1 }))).toEqual([
      250, 250, 250,
    ]);
    expect([1, 2, 3].map((n) => computeBackoffDelay(n, { jitter: 'none', initialDelayMs: 250, backoffMultiplier: 0 }))).toEqual([
      250, 0, 0,
    ]);
  });

  test("jitter 'full' (the default) is random × capped exponential", () => {
    expect(computeBackoffDelay(1, {}, () => 0.5)).toBe(500);
    expect(computeBackoffDelay(3, {}, () => 0.25)).toBe(1000);
    expect(computeBackoffDelay(10, {}, () => 0.5)).toBe(15000);
    expect(computeBackoffDelay(3, { jitter: 'full' }, () => 0)).toBe(0);
    // Just below 1: just below the capped value, never above it.
    const top = computeBackoffDelay(3, { jitter: 'full' }, () => 0.999999);
    expect(top).toBeLessThanOrEqual(4000);
    expect(top).toBeGreaterThan(3999);
  });

  test("jitter 'equal' is capped/2 + random × capped/2", () => {
    expect(computeBackoffDelay(1, { jitter: 'equal' }, () => 0)).toBe(500);
    expect(computeBackoffDelay(1, { jitter: 'equal' }, () => 0.5)).toBe(750);
    expect(computeBackoffDelay(2, { jitter: 'equal' }, () => 0.5)).toBe(1500);
    expect(computeBackoffDelay(20, { jitter: 'equal' }, () => 0)).toBe(15000);
    const top = computeBackoffDelay(20, { jitter: 'equal' }, () => 0.999999);
    expect(top).toBeLessThanOrEqual(30000);
    expect(top).toBeGreaterThan(29999);
  });

  test("jitter 'decorrelated' lies in [initialDelayMs, min(maxDelayMs, 3 × previous)]", () => {
    // attempt 1: previous is the initial delay itself → [1000, 3000]
    expect(computeBackoffDelay(1, { jitter: 'decorrelated' }, () => 0)).toBe(1000);
    expect(computeBackoffDelay(1, { jitter: 'decorrelated' }, () => 0.5)).toBe(2000);
    // attempt 3 without an explicit previous: previous = the unjittered delay of attempt 2 (2000)
    expect(computeBackoffDelay(3, { jitter: 'decorrelated' }, () => 0.5)).toBe(1000 + 0.5 * (6000 - 1000));
    // an explicit previous delay
    expect(computeBackoffDelay(2, { jitter: 'decorrelated' }, () => 0.5, 4000)).toBe(1000 + 0.5 * (12000 - 1000));
    // the cap
    expect(computeBackoffDelay(2, { jitter: 'decorrelated', maxDelayMs: 5000 }, () => 0.999999, 4000)).toBeLessThanOrEqual(5000);
    expect(computeBackoffDelay(2, { jitter: 'decorrelated', maxDelayMs: 5000 }, () => 0.5, 4000)).toBe(3000);
  });

  test('random defaults to Math.random', () => {
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.125);
    expect(computeBackoffDelay(1, { initialDelayMs: 800 })).toBe(100);
    expect(spy).toHaveBeenCalled();
  });

  test("jitter 'none' does not consult random", () => {
    const random = vi.fn(() => 0.5);
    expect(computeBackoffDelay(2, { jitter: 'none' }, random)).toBe(2000);
    expect(random).not.toHaveBeenCalled();
  });

  test('large attempt numbers stay finite and capped: no NaN at attempt 1025', () => {
    for (const jitter of ['none', 'full', 'equal', 'decorrelated'] as const) {
      for (const attempt of [1024, 1025, 1100, 5000, 1e6, Number.MAX_SAFE_INTEGER]) {
        const delay = computeBackoffDelay(attempt, { jitter }, () => 0.5);
        expect(Number.isFinite(delay), `${jitter} @ ${attempt}`).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(30000);
      }
    }
    expect(computeBackoffDelay(1025, { jitter: 'none' })).toBe(30000);
  });

  test('a misbehaving random (NaN, negative, >= 1) never produces NaN, a negative or an over-cap delay', () => {
    for (const jitter of ['full', 'equal', 'decorrelated'] as const) {
      for (const r of [Number.NaN, -1, 1, 2, Number.POSITIVE_INFINITY]) {
        const delay = computeBackoffDelay(4, { jitter, maxDelayMs: 5000 }, () => r);
        expect(Number.isFinite(delay), `${jitter} r=${r}`).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(5000);
      }
    }
  });

  test('odd attempt numbers (0, negative, fractional, NaN) are treated as attempt 1 or floored', () => {
    for (const attempt of [0, -3, Number.NaN]) {
      expect(computeBackoffDelay(attempt, { jitter: 'none' })).toBe(1000);
    }
    expect(computeBackoffDelay(2.7, { jitter: 'none' })).toBe(2000);
  });

  test('invalid options are refused with a TypeError', () => {
    expect(() => computeBackoffDelay(1, { initialDelayMs: -1 })).toThrow(TypeError);
    expect(() => computeBackoffDelay(1, { maxDelayMs: Number.NaN })).toThrow(TypeError);
    expect(() => computeBackoffDelay(1, { backoffMultiplier: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => computeBackoffDelay(1, { jitter: 'bogus' as 'none' })).toThrow(TypeError);
  });
});
