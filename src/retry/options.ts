import type { Clock } from '../clock/clock.js';
import { checkNumber, nonNegative, nonNegativeOrInfinity, optionError, positiveInteger } from '../internal/validate.js';

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

/** Checks the delay options (TypeError on a bad one). */
export function checkBackoffOptions(options: BackoffOptions): void {
  checkNumber('initialDelayMs', options.initialDelayMs, nonNegative);
  checkNumber('maxDelayMs', options.maxDelayMs, nonNegative);
  checkNumber('backoffMultiplier', options.backoffMultiplier, nonNegative);
  if (options.jitter !== undefined && !JITTER_MODES.has(options.jitter)) {
    throw optionError('jitter', `one of full, equal, decorrelated, none; got ${String(options.jitter)}`);
  }
}

/**
 * Checks the options every user of {@link RetryOptions} reads (`maxAttempts`, the delay options,
 * `maxRetryAfterMs`) and returns `maxAttempts`, or `defaultMaxAttempts` when it is absent.
 */
export function checkAttemptsAndDelays(options: RetryOptions, defaultMaxAttempts = DEFAULT_MAX_ATTEMPTS): number {
  const maxAttempts = checkNumber('maxAttempts', options.maxAttempts, positiveInteger) ?? defaultMaxAttempts;
  checkBackoffOptions(options);
  checkNumber('maxRetryAfterMs', options.maxRetryAfterMs, nonNegativeOrInfinity);
  return maxAttempts;
}

/** Checks the options of {@link retryWithBackoff} (TypeError on a bad one) and returns `maxAttempts`. */
export function checkRetryOptions(options: RetryOptions): number {
  const maxAttempts = checkAttemptsAndDelays(options);
  checkNumber('timeoutMs', options.timeoutMs, nonNegativeOrInfinity);
  checkNumber('maxElapsedMs', options.maxElapsedMs, nonNegativeOrInfinity);
  return maxAttempts;
}

/** The per-attempt deadline in effect: `timeoutMs` (default 30000), 0 (none) for `0` and for `Infinity`. */
export function attemptTimeoutMs(options: RetryOptions): number {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return Number.isFinite(timeoutMs) ? timeoutMs : 0;
}
