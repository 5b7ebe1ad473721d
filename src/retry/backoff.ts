import {
  type BackoffOptions,
  checkBackoffOptions,
  DEFAULT_BACKOFF_MULTIPLIER,
  DEFAULT_INITIAL_DELAY_MS,
  DEFAULT_MAX_DELAY_MS,
} from './options.js';

/**
 * The delay after failed attempt `attempt` (1 → the wait before the 2nd call): the exponential
 * `initialDelayMs × backoffMultiplier^(attempt−1)`, capped at `maxDelayMs`, then jittered:
 *
 * - `'full'` (default): uniform in [0, capped]
 * - `'equal'`: capped/2 plus uniform in [0, capped/2]
 * - `'decorrelated'`: uniform in [initialDelayMs, 3 × previous delay], capped
 * - `'none'`: the capped exponential itself
 *
 * The result is always finite, >= 0 and <= `maxDelayMs`, for any attempt number.
 *
 * @param attempt - the attempt that just failed, counting from 1
 * @param options - delay options (defaults as in {@link RetryOptions})
 * @param random - a source of values in [0, 1); defaults to `Math.random`
 * @param previousDelayMs - for `'decorrelated'`: the delay actually used last time; defaults to the
 *   unjittered delay of the previous attempt
 * @returns the delay in milliseconds
 * @category Retry
 */
export function computeBackoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
  previousDelayMs?: number,
): number {
  checkBackoffOptions(options);
  const initial = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const factor = options.backoffMultiplier ?? DEFAULT_BACKOFF_MULTIPLIER;
  const n = Number.isFinite(attempt) && attempt >= 1 ? Math.floor(attempt) : 1;
  const capped = cappedExponential(initial, factor, n, max);
  let delay: number;
  switch (options.jitter ?? 'full') {
    case 'none':
      delay = capped;
      break;
    case 'equal':
      delay = equalJitter(capped, random);
      break;
    case 'decorrelated': {
      const low = Math.min(initial, max);
      const previous =
        previousDelayMs !== undefined && Number.isFinite(previousDelayMs) && previousDelayMs >= 0
          ? previousDelayMs
          : n === 1
            ? initial
            : cappedExponential(initial, factor, n - 1, max);
      const high = Math.min(max, Math.max(low, previous * 3));
      delay = Math.min(high, low + unit(random) * (high - low));
      break;
    }
    default:
      delay = unit(random) * capped;
  }
  // Belt and braces: a custom random or extreme options must never produce NaN or a negative wait.
  return delay >= 0 ? Math.min(delay, max) : 0;
}

/**
 * `initial × factor^(attempt−1)`, capped at `max` (also where it overflows); 0 when `initial` or
 * `max` is. Shared with SseTransport's reconnect delay.
 *
 * @internal
 */
export function cappedExponential(initial: number, factor: number, attempt: number, max: number): number {
  if (initial <= 0 || max <= 0) return 0;
  // factor ** (attempt - 1) overflows to Infinity for large attempts; the cap takes over then.
  const value = initial * factor ** (attempt - 1);
  return Number.isFinite(value) ? Math.min(value, max) : max;
}

/**
 * Equal jitter: half of `capped` plus a random part of the other half, so between half and all of it.
 *
 * @internal
 */
export function equalJitter(capped: number, random: () => number): number {
  // min(): with subnormal values, capped / 2 rounds up and the sum could pass capped.
  return Math.min(capped, capped / 2 + unit(random) * (capped / 2));
}

function unit(random: () => number): number {
  const r = random();
  return r > 0 ? (r < 1 ? r : 1) : 0;
}
