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
  let maxAttempts: number;
  try {
    maxAttempts = checkRetryOptions(options);
  } catch (error) {
    return Promise.reject(error);
  }
  if (options.signal !== undefined || attemptTimeoutMs(options) > 0) {
    return new RetryRun(fn, options, maxAttempts).start();
  }
  // Fast path (no deadline, no caller signal): the first attempt runs without a RetryRun and without
  // a p-retry call. Only when it fails does a RetryRun take over; it hands that failure to p-retry
  // as p-retry's own first attempt, so every retry decision, count and wait still goes through
  // p-retry. (p-retry copies and validates its options and reads performance.now() on every call.)
  const startedAt = options.maxElapsedMs !== undefined ? (options.clock ?? realClock).now() : 0;
  let result: T | PromiseLike<T>;
  try {
    result = fn(new BareAttempt(1));
  } catch (error) {
    return new RetryRun(fn, options, maxAttempts, startedAt).continueAfter(error);
  }
  return Promise.resolve(result).then(undefined, (error: unknown) =>
    new RetryRun(fn, options, maxAttempts, startedAt).continueAfter(error),
  );
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

/** One retryWithBackoff call. p-retry drives the attempt loop; this object supplies what it cannot. */
class RetryRun<T> {
  private readonly clock: Clock;
  private readonly signal: AbortSignal | undefined;
  private readonly maxAttempts: number;
  readonly timeoutMs: number;
  private startedAt = 0;
  private lastDelay: number | undefined;
  private stoppedBy: AttemptFailure | undefined;
  /** The latest guarded attempt; set by the attempt itself before `fn` runs. */
  current: Attempt<T> | undefined;
  private pendingWait: { timer: TimerHandle; reject: (reason: unknown) => void } | undefined;
  private readonly onAbort: (() => void) | undefined;
  private rejectOnAbort: ((reason: unknown) => void) | undefined;
  /** The number of the latest attempt started. */
  attemptsRun = 0;

  constructor(
    readonly fn: (context: RetryContext) => T | PromiseLike<T>,
    private readonly options: RetryOptions,
    maxAttempts: number,
    startedAt?: number,
  ) {
    this.maxAttempts = maxAttempts;
    this.timeoutMs = attemptTimeoutMs(options);
    this.clock = options.clock ?? realClock;
    this.signal = options.signal;
    if (this.signal) this.onAbort = () => this.abort();
    if (startedAt !== undefined) this.startedAt = startedAt;
  }

  /** Runs every attempt, the first included: the path with a deadline or a caller signal. */
  start(): Promise<T> {
    if (this.options.maxElapsedMs !== undefined) this.startedAt = this.clock.now();
    if (this.signal) return this.startWithSignal(this.signal);
    // A deadline but no caller signal: the first attempt runs outside p-retry as on the fast path
    // (no listener to remove, so no async function either).
    let first: T | PromiseLike<T>;
    try {
      first = this.attempt(1);
    } catch (error) {
      return this.continueAfter(error);
    }
    return Promise.resolve(first).then(undefined, (error: unknown) => this.continueAfter(error));
  }

  /** Takes over after a failed first attempt, run by {@link start} or by the fast path. */
  async continueAfter(error: unknown): Promise<T> {
    this.attemptsRun = 1;
    try {
      return await this.engine(error instanceof AttemptFailure ? error : new AttemptFailure(error));
    } catch (failure) {
      throw this.outcome(failure);
    }
  }

  private async startWithSignal(signal: AbortSignal): Promise<T> {
    if (signal.aborted) throw signal.reason;
    signal.addEventListener('abort', this.onAbort!, { once: true });
    try {
      // Made before the first attempt runs, so that an abort raised inside it is seen too.
      const aborted = new Promise<never>((_, reject) => {
        this.rejectOnAbort = reject;
      });
      // An abort settles the call at once, even while user code (an async shouldRetry) is pending;
      // the engine then stops by itself at its next abort check.
      return await Promise.race([this.engine(undefined), aborted]);
    } catch (error) {
      throw this.outcome(error);
    } finally {
      signal.removeEventListener('abort', this.onAbort!);
    }
  }

  /**
   * The attempt loop, driven by p-retry. Given the failure of a first attempt that already ran, it
   * hands it to p-retry as p-retry's own first attempt.
   */
  private engine(first: AttemptFailure | undefined): Promise<T> {
    return pRetry((attempt: number) => (attempt === 1 && first ? Promise.reject(first) : this.attempt(attempt)), {
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
    });
  }

  private attempt(attempt: number): T | Promise<T> {
    const guarded = this.timeoutMs > 0 || this.signal !== undefined;
    if (!guarded) return this.runBare(attempt);
    return new Attempt<T>(this, attempt).promise;
  }

  // The common case with timeoutMs: 0 and no signal: no promise of our own beyond `fn`'s.
  private async runBare(attempt: number): Promise<T> {
    try {
      this.attemptsRun = attempt;
      return await this.fn(new BareAttempt(attempt));
    } catch (error) {
      throw new AttemptFailure(error);
    }
  }

  /** Decides, for every failed attempt, whether retrying is allowed at all (p-retry's onFailedAttempt). */
  private async classify(context: PRetryContext): Promise<void> {
    if (this.signal?.aborted) throw this.signal.reason;
    const failure = context.error as unknown as AttemptFailure;
    const shouldRetry = this.options.shouldRetry ?? isRetryableError;
    if (!(await shouldRetry(failure.error, context.attemptNumber))) {
      this.stoppedBy = failure;
      throw failure;
    }
  }

  /** Runs only when another attempt is allowed: computes the delay and waits on the clock. */
  private async beforeRetry(context: PRetryContext): Promise<boolean> {
    // The signal may have aborted while an async shouldRetry was pending.
    if (this.signal?.aborted) throw this.signal.reason;
    const failure = context.error as unknown as AttemptFailure;
    const { error } = failure;
    const { options } = this;
    const delay = retryDelay(context.attemptNumber, retryAfterOf(error), options, this.lastDelay);
    this.lastDelay = delay;
    if (options.maxElapsedMs !== undefined && this.clock.now() + delay - this.startedAt > options.maxElapsedMs) {
      return false;
    }
    options.onRetry?.(context.attemptNumber, error, delay);
    if (delay > 0) await this.wait(delay);
    if (this.signal?.aborted) throw this.signal.reason;
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

  private abort(): void {
    const reason = this.signal!.reason;
    this.rejectOnAbort?.(reason);
    this.current?.interrupt(reason);
    const wait = this.pendingWait;
    if (wait) {
      this.pendingWait = undefined;
      this.clock.clearTimeout(wait.timer);
      wait.reject(reason);
    }
  }

  private outcome(error: unknown): unknown {
    if (this.signal?.aborted) return this.signal.reason;
    if (error instanceof AttemptFailure) {
      if (error === this.stoppedBy) return error.error;
      return new RetryExhaustedError(this.attemptsRun, error.error);
    }
    return error;
  }

  /** Starts a timer on the run's clock (used by attempts for their deadline). */
  startTimer(callback: () => void, ms: number): TimerHandle {
    return this.clock.setTimeout(callback, ms);
  }

  /** Cancels a timer started by {@link startTimer}. */
  cancelTimer(handle: TimerHandle): void {
    this.clock.clearTimeout(handle);
  }

  get callerSignal(): AbortSignal | undefined {
    return this.signal;
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
  private timer: TimerHandle | undefined;
  private settled = false;
  private failure: unknown;
  private reject!: (reason: unknown) => void;
  readonly promise!: Promise<T>;

  constructor(
    private readonly run: RetryRun<T>,
    readonly attempt: number,
  ) {
    run.attemptsRun = attempt;
    // Before fn runs: an abort raised while fn is still running synchronously must reach this attempt.
    run.current = this;
    this.promise = new Promise<T>((resolve, reject) => {
      this.reject = reject;
      if (run.timeoutMs > 0) this.timer = run.startTimer(() => this.expire(), run.timeoutMs);
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
    const caller = this.run.callerSignal;
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
    if (this.finish()) this.reject(new AttemptFailure(error));
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== undefined) this.run.cancelTimer(this.timer);
    return true;
  }
}
