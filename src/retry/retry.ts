import pRetry, { type RetryContext as PRetryContext } from 'p-retry';
import { type Clock, realClock, type TimerHandle } from '../clock/clock.js';
import { RetryExhaustedError, TimeoutError } from '../errors/errors.js';
import { retryAfterOf } from '../internal/failure.js';
import { retryDelay } from '../internal/retry-delay.js';
import { attemptTimeoutMs, checkRetryOptions, type RetryContext, type RetryOptions } from './options.js';
import { isRetryableError } from './should-retry.js';

/**
 * Calls `fn` until it succeeds, waiting with exponential backoff and jitter between attempts.
 *
 * Each attempt gets `{ attempt, signal }`; the signal aborts at the attempt's deadline
 * (`timeoutMs`) or when the caller's `signal` aborts. Resolves with the first success; rejects with
 * the error itself when `shouldRetry` says no, with {@link RetryExhaustedError} (its `cause` the last
 * error) when attempts or `maxElapsedMs` run out, and with `signal.reason` when the caller aborts.
 *
 * @example
 * ```ts
 * const user = await retryWithBackoff(async ({ signal }) => {
 *   const res = await fetch('/api/user', { signal })
 *   if (!res.ok) throw new HttpError(res.status, { headers: res.headers })
 *   return res.json()
 * }, { maxAttempts: 5, initialDelayMs: 200 })
 * ```
 *
 * @param fn - the operation; sync or async
 * @param options - see {@link RetryOptions}
 * @returns what `fn` returned on its first success
 * @category Retry
 */
export function retryWithBackoff<T>(
  fn: (context: RetryContext) => T | PromiseLike<T>,
  options: RetryOptions = {},
): Promise<T> {
  let run: RetryRun<T>;
  try {
    run = new RetryRun(fn, options, checkRetryOptions(options));
  } catch (error) {
    return Promise.reject(error);
  }
  return run.start();
}

/**
 * Carries an attempt's error through p-retry, which refuses to retry a TypeError and turns
 * non-Error values into one; the original error is unwrapped again before anyone sees it.
 */
class AttemptFailure extends Error {
  constructor(readonly error: unknown) {
    super('attempt failed');
  }
}

/**
 * One retryWithBackoff call. The first attempt runs here, without p-retry (most calls succeed at
 * once, and entering p-retry costs microseconds: docs/decisions.md, 7). When it fails, p-retry takes
 * that failure as its own attempt 1 and drives the rest: every retry decision, count and wait goes
 * through its loop, with the hooks below supplying what it cannot (our classification, delays on the
 * clock, deadlines, the caller's signal).
 */
class RetryRun<T> {
  /** The clock for waits and deadlines. */
  readonly clock: Clock;
  /** The caller's signal. */
  readonly signal: AbortSignal | undefined;
  /** The per-attempt deadline in ms; 0 for none. */
  readonly timeoutMs: number;
  /** Whether attempts need an {@link Attempt} (a deadline or a caller signal) or a bare context does. */
  private readonly guarded: boolean;
  private startedAt = 0;
  private lastDelay: number | undefined;
  private stoppedBy: AttemptFailure | undefined;
  /** The latest guarded attempt; set by the attempt itself before `fn` runs. */
  current: Attempt<T> | undefined;
  private pendingWait: { timer: TimerHandle; reject: (reason: unknown) => void } | undefined;
  private readonly onAbort: (() => void) | undefined;
  private rejectOnAbort: ((reason: unknown) => void) | undefined;
  /** The number of the latest attempt started. */
  private attemptsRun = 0;

  constructor(
    readonly fn: (context: RetryContext) => T | PromiseLike<T>,
    private readonly options: RetryOptions,
    private readonly maxAttempts: number,
  ) {
    this.timeoutMs = attemptTimeoutMs(options);
    this.clock = options.clock ?? realClock;
    this.signal = options.signal;
    this.guarded = this.timeoutMs > 0 || this.signal !== undefined;
    if (this.signal) this.onAbort = () => this.abort();
  }

  /** Runs the first attempt, and hands a failure of it to p-retry. */
  start(): Promise<T> {
    const signal = this.signal;
    if (signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      // One listener per call, not per attempt, removed when the call settles.
      signal.addEventListener('abort', this.onAbort!, { once: true });
    }
    if (this.options.maxElapsedMs !== undefined) this.startedAt = this.clock.now();
    let first: T | PromiseLike<T>;
    try {
      first = this.attempt(1);
    } catch (error) {
      first = Promise.reject(error);
    }
    const result = Promise.resolve(first).then(undefined, (error: unknown) => this.retry(error));
    return signal ? result.finally(() => signal.removeEventListener('abort', this.onAbort!)) : result;
  }

  /** Attempt `attempt`: `fn` with a bare context, or guarded by its deadline and the caller's signal. */
  private attempt(attempt: number): T | PromiseLike<T> {
    this.attemptsRun = attempt;
    return this.guarded ? new Attempt<T>(this, attempt).promise : this.fn(new BareAttempt(attempt));
  }

  /** The attempts after a failed first one, driven by p-retry; rejects with what the caller sees. */
  private async retry(firstError: unknown): Promise<T> {
    try {
      return await pRetry(
        async (attempt: number) => {
          if (attempt === 1) throw new AttemptFailure(firstError);
          try {
            return await this.attempt(attempt);
          } catch (error) {
            throw new AttemptFailure(error);
          }
        },
        {
          retries: this.maxAttempts - 1,
          // Delays are computed and waited here, on the injected clock: p-retry's own backoff has no
          // full jitter, no Retry-After and uses the global timers. Zero makes it start no timer.
          minTimeout: 0,
          maxTimeout: 0,
          factor: 1,
          // Every option p-retry would default is given: p-retry copies the options with a spread and
          // then adds the missing ones, and on Node 20 (V8 11.3) adding properties to such a copy costs
          // several microseconds per call.
          maxRetryTime: Number.POSITIVE_INFINITY,
          randomize: false,
          onFailedAttempt: (context: PRetryContext) => this.classify(context),
          shouldRetry: (context: PRetryContext) => this.beforeRetry(context),
          shouldConsumeRetry: alwaysTrue,
          signal: this.signal,
        },
      );
    } catch (error) {
      throw this.outcome(error);
    }
  }

  /** Decides, for every failed attempt, whether retrying is allowed at all (p-retry's onFailedAttempt). */
  private async classify(context: PRetryContext): Promise<void> {
    this.throwIfAborted();
    const failure = context.error as unknown as AttemptFailure;
    const shouldRetry = this.options.shouldRetry ?? isRetryableError;
    let verdict = shouldRetry(failure.error, context.attemptNumber);
    // An abort settles the call at once, even while an async shouldRetry is pending.
    if (typeof verdict !== 'boolean' && this.signal) verdict = Promise.race([verdict, this.aborted(this.signal)]);
    if (!(await verdict)) {
      this.stoppedBy = failure;
      throw failure;
    }
  }

  /** Runs only when another attempt is allowed: computes the delay and waits on the clock. */
  private async beforeRetry(context: PRetryContext): Promise<boolean> {
    // The signal may have aborted while an async shouldRetry was pending.
    this.throwIfAborted();
    const { error } = context.error as unknown as AttemptFailure;
    const { options } = this;
    const delay = retryDelay(context.attemptNumber, retryAfterOf(error), options, this.lastDelay);
    this.lastDelay = delay;
    if (options.maxElapsedMs !== undefined && this.clock.now() + delay - this.startedAt > options.maxElapsedMs) {
      return false;
    }
    options.onRetry?.(context.attemptNumber, error, delay);
    if (delay > 0) await this.wait(delay);
    this.throwIfAborted();
    return true;
  }

  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // onRetry may have aborted the signal: then no wait starts at all.
      if (this.signal?.aborted) {
        reject(this.signal.reason);
        return;
      }
      const timer = this.clock.setTimeout(() => {
        this.pendingWait = undefined;
        resolve();
      }, ms);
      if (this.signal) this.pendingWait = { timer, reject };
    });
  }

  /** Rejects when the caller's signal aborts (at once if it has). */
  private aborted(signal: AbortSignal): Promise<never> {
    return new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      else this.rejectOnAbort = reject;
    });
  }

  private throwIfAborted(): void {
    if (this.signal?.aborted) throw this.signal.reason;
  }

  private abort(): void {
    const reason: unknown = this.signal!.reason;
    this.rejectOnAbort?.(reason);
    this.current?.interrupt(reason);
    const wait = this.pendingWait;
    if (wait) {
      this.pendingWait = undefined;
      this.clock.clearTimeout(wait.timer);
      wait.reject(reason);
    }
  }

  /** What the caller sees: the abort reason, a non-retryable error as itself, or RetryExhaustedError. */
  private outcome(error: unknown): unknown {
    if (this.signal?.aborted) return this.signal.reason;
    if (error instanceof AttemptFailure) {
      if (error === this.stoppedBy) return error.error;
      return new RetryExhaustedError(this.attemptsRun, error.error);
    }
    return error;
  }
}

const alwaysTrue = (): boolean => true;

/** The context of an attempt with neither a deadline nor a caller signal: its signal never aborts. */
class BareAttempt implements RetryContext {
  private controller: AbortController | undefined;

  constructor(readonly attempt: number) {}

  /** Created on first read. */
  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }
}

/** One attempt: its context for `fn`, its deadline, and its settlement. */
class Attempt<T> implements RetryContext {
  private controller: AbortController | undefined;
  private timer?: TimerHandle;
  private settled = false;
  private failure: unknown;
  private reject!: (reason: unknown) => void;
  readonly promise!: Promise<T>;

  constructor(
    private readonly run: RetryRun<T>,
    readonly attempt: number,
  ) {
    // Before fn runs: an abort raised while fn is still running synchronously must reach this attempt.
    run.current = this;
    this.promise = new Promise<T>((resolve, reject) => {
      this.reject = reject;
      if (run.timeoutMs > 0) this.timer = run.clock.setTimeout(() => this.expire(), run.timeoutMs);
      let result: T | PromiseLike<T>;
      try {
        result = run.fn(this);
      } catch (error) {
        this.fail(error);
        return;
      }
      Promise.resolve(result).then(
        (value) => {
          if (this.finish()) resolve(value);
        },
        (error: unknown) => this.fail(error),
      );
    });
  }

  /** Created on first read, so an attempt that never looks at its signal pays nothing for it. */
  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const caller = this.run.signal;
    if (this.run.timeoutMs === 0 && caller) return caller;
    this.controller = new AbortController();
    if (this.failure !== undefined) this.controller.abort(this.failure);
    else if (caller?.aborted) this.controller.abort(caller.reason);
    return this.controller.signal;
  }

  interrupt(reason: unknown): void {
    if (this.settled) return;
    this.controller?.abort(reason);
    this.fail(reason);
  }

  private expire(): void {
    this.timer = undefined;
    if (this.settled) return;
    const error = new TimeoutError(this.run.timeoutMs, `Attempt ${this.attempt} timed out after ${this.run.timeoutMs} ms`);
    this.failure = error;
    this.controller?.abort(error);
    this.fail(error);
  }

  private fail(error: unknown): void {
    if (this.finish()) this.reject(error);
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== undefined) this.run.clock.clearTimeout(this.timer);
    return true;
  }
}
