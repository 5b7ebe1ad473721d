import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type BackoffOptions, computeBackoffDelay, type JitterMode } from '../../src/index.js';

const DEFAULT_MAX = 30_000;
const DEFAULT_INITIAL = 1_000;
const DEFAULT_FACTOR = 2;

const ms = fc.oneof(
  fc.integer({ min: 0, max: 120_000 }),
  fc.double({ min: 0, max: 1e7, noNaN: true }),
  fc.double({ min: 0, max: Number.MAX_VALUE, noNaN: true }),
);
const factor = fc.oneof(
  fc.constantFrom(0, 0.5, 1, 1.5, 2, 3, 10),
  fc.double({ min: 0, max: 1e3, noNaN: true }),
  fc.double({ min: 0, max: Number.MAX_VALUE, noNaN: true }),
);
const jitter = fc.constantFrom<JitterMode>('full', 'equal', 'decorrelated', 'none');
const options = fc.record(
  {
    initialDelayMs: ms,
    maxDelayMs: ms,
    backoffMultiplier: factor,
    jitter,
  },
  { requiredKeys: [] },
);
const attempt = fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.constantFrom(1, 2, 1024, 1025, 1026, 5000));
// A random source in [0, 1).
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

function settings(o: BackoffOptions) {
  return {
    initial: o.initialDelayMs ?? DEFAULT_INITIAL,
    max: o.maxDelayMs ?? DEFAULT_MAX,
    factor: o.backoffMultiplier ?? DEFAULT_FACTOR,
  };
}

/** The contract's capped exponential: min(initial × factor^(attempt−1), max), overflow → max. */
function cappedExponential(o: BackoffOptions, n: number): number {
  const { initial, max, factor } = settings(o);
  if (initial === 0 || max === 0) return 0;
  const raw = initial * factor ** (n - 1);
  return Number.isNaN(raw) ? 0 : Math.min(raw, max);
}

const RUNS = { numRuns: 400 };

describe('computeBackoffDelay — properties over options and attempts 1..5000', () => {
  test('every delay is finite, >= 0 and <= maxDelayMs', () => {
    fc.assert(
      fc.property(options, attempt, unit, (o, n, r) => {
        const delay = computeBackoffDelay(n, o, () => r);
        expect(Number.isNaN(delay)).toBe(false);
        expect(Number.isFinite(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(settings(o).max);
      }),
      RUNS,
    );
  });

  test('with the real Math.random too', () => {
    fc.assert(
      fc.property(options, attempt, (o, n) => {
        const delay = computeBackoffDelay(n, o);
        expect(Number.isFinite(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(settings(o).max);
      }),
      RUNS,
    );
  });

  test("'none' is exactly the capped exponential", () => {
    fc.assert(
      fc.property(options, attempt, (o, n) => {
        const opts = { ...o, jitter: 'none' as const };
        expect(computeBackoffDelay(n, opts)).toBe(cappedExponential(opts, n));
      }),
      RUNS,
    );
  });

  test("'full' lies in [0, capped]", () => {
    fc.assert(
      fc.property(options, attempt, unit, (o, n, r) => {
        const opts = { ...o, jitter: 'full' as const };
        const delay = computeBackoffDelay(n, opts, () => r);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(cappedExponential(opts, n));
      }),
      RUNS,
    );
  });

  test('the default jitter is full: the same as jitter: "full"', () => {
    fc.assert(
      fc.property(options, attempt, unit, (o, n, r) => {
        const { jitter: _ignored, ...rest } = o;
        expect(computeBackoffDelay(n, rest, () => r)).toBe(computeBackoffDelay(n, { ...rest, jitter: 'full' }, () => r));
      }),
      RUNS,
    );
  });

  test("'equal' lies in [capped/2, capped]", () => {
    fc.assert(
      fc.property(options, attempt, unit, (o, n, r) => {
        const opts = { ...o, jitter: 'equal' as const };
        const capped = cappedExponential(opts, n);
        const delay = computeBackoffDelay(n, opts, () => r);
        expect(delay).toBeGreaterThanOrEqual(capped / 2);
        expect(delay).toBeLessThanOrEqual(capped);
      }),
      RUNS,
    );
  });

  test("'decorrelated' lies in [initialDelayMs, min(maxDelayMs, 3 × previous)] (both capped)", () => {
    const previous = fc.option(fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.double({ min: 0, max: 1e12, noNaN: true })), {
      nil: undefined,
    });
    fc.assert(
      fc.property(options, attempt, unit, previous, (o, n, r, prev) => {
        const opts = { ...o, jitter: 'decorrelated' as const };
        const { initial, max } = settings(opts);
        const delay = computeBackoffDelay(n, opts, () => r, prev);
        const before = prev ?? (n === 1 ? initial : cappedExponential(opts, n - 1));
        const low = Math.min(initial, max);
        const high = Math.min(max, Math.max(low, 3 * before));
        expect(delay).toBeGreaterThanOrEqual(low);
        expect(delay).toBeLessThanOrEqual(high);
      }),
      RUNS,
    );
  });

  test('the capped exponential never decreases with the attempt number when the multiplier is >= 1', () => {
    fc.assert(
      fc.property(options, fc.integer({ min: 1, max: 4999 }), (o, n) => {
        const opts = { ...o, backoffMultiplier: Math.max(1, o.backoffMultiplier ?? 2), jitter: 'none' as const };
        expect(computeBackoffDelay(n + 1, opts)).toBeGreaterThanOrEqual(computeBackoffDelay(n, opts));
      }),
      RUNS,
    );
  });
});
