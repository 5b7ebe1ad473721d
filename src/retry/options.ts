import type { Clock } from '../clock/clock.js';

/** How a backoff delay is randomised. See {@link computeBackoffDelay}. @category Retry */
export type JitterMode = 'full' | 'equal' | 'decorrelated' | 'none';

/** What each attempt of {@link retryWithBackoff} receives. @category Retry */
export interface RetryContext {
  /** This attempt's number, counting from 1. */
  readonly attempt: number;
  /**
   * Aborts when the attempt's deadline (`timeoutMs`) passes, with a {@link TimeoutError} as its
   * reason, or when the caller's `signal` aborts, with the caller's reason. Pass it on to `fetch`.
   */
  readonly signal: AbortSignal;
}

/** The delay options shared by {@link computeBackoffDelay} and {@link retryWithBackoff}. @category Retry */
export interface BackoffOptions {
  /** Base delay before the 2nd attempt, in ms. Default 1000. */
  initialDelayMs?: number;
  /** Cap of any computed (backoff) delay, in ms. Default 30000. */
  maxDelayMs?: number;
  /** Exponential factor. Default 2. */
  backoffMultiplier?: number;
  /** How the delay is randomised. Default `'full'`. */
  jitter?: JitterMode;
}

/** Options of {@link retryWithBackoff}. @category Retry */
export interface RetryOptions extends BackoffOptions {
  /** Total calls, the first included. Default 3. Must be a finite integer >= 1. */
  maxAttempts?: number;
  /**
   * Per-attempt deadline in ms. Default 30000; `0` disables it. On expiry the attempt's `signal`
   * aborts and the attempt fails with a (retryable) {@link TimeoutError}.
   */
  timeoutMs?: number;
  /** No new attempt starts once this much time (ms) has passed since the first. Default: none. */
  maxElapsedMs?: number;
  /**
   * Whether an error's `retryAfterMs` (from `Retry-After`, or a breaker's wait) sets the next delay,
   * unjittered and capped by `maxRetryAfterMs`. Default true.
   */
  respectRetryAfter?: boolean;
  /** Cap of a delay taken from `retryAfterMs`, in ms. Default 60000. */
  maxRetryAfterMs?: number;
  /**
   * Whether to retry after `error`, which ended attempt number `attempt`. Sync or async; `false`
   * stops at once and rejects with that error. Default {@link isRetryableError}.
   */
  shouldRetry?: (error: unknown, attempt: number) => boolean | PromiseLike<boolean>;
  /** Called before each wait: `attempt` just failed with `error`; `nextDelayMs` follows. */
  onRetry?: (attempt: number, error: unknown, nextDelayMs: number) => void;
  /** Aborting it rejects promptly with `signal.reason`; no attempt starts afterwards. */
  signal?: AbortSignal;
  /** The clock for waits and deadlines. Default {@link realClock}. */
  clock?: Clock;
  /** The random source for jitter, returning values in [0, 1). Default `Math.random`. */
  random?: () => number;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_INITIAL_DELAY_MS = 1000;
export const DEFAULT_MAX_DELAY_MS = 30_000;
export const DEFAULT_BACKOFF_MULTIPLIER = 2;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

const JITTER_MODES: ReadonlySet<string> = new Set(['full', 'equal', 'decorrelated', 'none']);

/** Refuses an option that is not a finite number >= 0 (or, with `allowInfinity`, Infinity). */
export function checkNonNegative(name: string, value: number | undefined, allowInfinity = false): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new TypeError(`closed-loop: \`${name}\` must be a ${allowInfinity ? '' : 'finite '}number >= 0, got ${String(value)}`);
  }
}

export function checkBackoffOptions(options: BackoffOptions): void {
  checkNonNegative('initialDelayMs', options.initialDelayMs);
  checkNonNegative('maxDelayMs', options.maxDelayMs);
  checkNonNegative('backoffMultiplier', options.backoffMultiplier);
  if (options.jitter !== undefined && !JITTER_MODES.has(options.jitter)) {
    throw new TypeError(`closed-loop: \`jitter\` must be one of full, equal, decorrelated, none; got ${String(options.jitter)}`);
  }
}

export function checkMaxAttempts(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_ATTEMPTS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`closed-loop: \`maxAttempts\` must be a finite integer >= 1, got ${String(value)}`);
  }
  return value;
}
