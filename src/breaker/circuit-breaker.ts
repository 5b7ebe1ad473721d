import { EventEmitter } from 'eventemitter3';
import { type Clock, realClock } from '../clock/clock.js';
import { CircuitBreakerError, type CircuitState } from '../errors/errors.js';
import { countsAgainstServer } from '../internal/failure.js';
import { checkNumber, nonNegative, positive, positiveInteger, ratio } from '../internal/validate.js';
import { emitReported } from '../internal/listeners.js';
import type {
  CircuitBreakerEvents,
  CircuitBreakerMetrics,
  CircuitBreakerOptions,
  CircuitBreakerSnapshot,
} from './options.js';
import { RollingWindow } from './rolling-window.js';

const STATES: ReadonlySet<string> = new Set(['CLOSED', 'OPEN', 'HALF_OPEN']);

/**
 * Stops calling a server that keeps failing, and probes it again after a pause.
 *
 * CLOSED lets calls through and counts failures; at `failureThreshold` consecutive failures (or the
 * rolling-window rate) it opens. OPEN rejects at once with {@link CircuitBreakerError}. Once
 * `resetTimeoutMs` has passed it reads HALF_OPEN (derived from the clock; no timer runs) and admits
 * `halfOpenMaxCalls` probes: `successThreshold` successes close it, a failure reopens it.
 *
 * Every transition starts a new period; a call that finishes after its period ended is counted in
 * the totals but never changes the state of the newer period.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 10_000 })
 * breaker.on('stateChange', (from, to) => console.log(`${from} -> ${to}`))
 * const data = await breaker.execute(() => fetchJson('/api/prices'))
 * ```
 * @category Circuit breaker
 */
export class CircuitBreaker extends EventEmitter<CircuitBreakerEvents> {
  /** The name given in the options, if any. */
  readonly name: string | undefined;
  private readonly clock: Clock;
  private readonly isFailure: (error: unknown) => boolean;
  private readonly failureThreshold: number;
  private readonly countConsecutive: boolean;
  private readonly failureRateThreshold: number;
  private readonly minimumCalls: number;
  private readonly resetTimeoutMs: number;
  private readonly halfOpenMaxCalls: number;
  private readonly successThreshold: number;
  private readonly window: RollingWindow | undefined;

  private current: CircuitState = 'CLOSED';
  /** Incremented on every transition; a call remembers the period it started in. */
  private period = 0;
  private tripped = false;
  private openedAt: number | undefined;
  private nextAttemptAt: number | undefined;
  private consecutiveFailures = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  private totalCalls = 0;
  private successes = 0;
  private failures = 0;
  private rejections = 0;
  private settlers: Settlers | undefined;

  /** @param options - see {@link CircuitBreakerOptions} */
  constructor(options: CircuitBreakerOptions = {}) {
    super();
    this.name = options.name;
    this.clock = options.clock ?? realClock;
    this.isFailure = options.isFailure ?? countsAgainstServer;
    this.failureThreshold = checkNumber('failureThreshold', options.failureThreshold, positiveInteger) ?? 5;
    this.resetTimeoutMs = checkNumber('resetTimeoutMs', options.resetTimeoutMs, nonNegative) ?? 30_000;
    this.halfOpenMaxCalls = checkNumber('halfOpenMaxCalls', options.halfOpenMaxCalls, positiveInteger) ?? 1;
    this.successThreshold = checkNumber('successThreshold', options.successThreshold, positiveInteger) ?? 1;
    const rate = checkNumber('failureRateThreshold', options.failureRateThreshold, ratio);
    this.failureRateThreshold = rate ?? 1;
    this.minimumCalls = checkNumber('minimumCalls', options.minimumCalls, positiveInteger) ?? 10;
    this.countConsecutive = rate === undefined || options.failureThreshold !== undefined;
    if (rate !== undefined) {
      const windowMs = checkNumber('windowMs', options.windowMs, positive) ?? 60_000;
      this.window = new RollingWindow(windowMs, checkNumber('windowBuckets', options.windowBuckets, positiveInteger) ?? 10);
    }
  }

  /** The current state. An OPEN breaker reads HALF_OPEN once `resetTimeoutMs` has passed. */
  get state(): CircuitState {
    this.refresh();
    return this.current;
  }

  /**
   * Runs `fn` if the circuit admits a call; otherwise rejects with {@link CircuitBreakerError}
   * without calling it. `fn`'s own result or error is passed through.
   *
   * @param fn - the guarded operation
   * @returns what `fn` returns
   */
  execute<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    this.totalCalls++;
    if (this.current !== 'CLOSED') {
      this.refresh();
      if (this.current === 'OPEN' || this.probesInFlight >= this.halfOpenMaxCalls) return Promise.reject(this.reject());
    }
    // Neither an async function nor a closure per call: the settle handlers are made once per
    // period (within a period the state, and so whether a call is a probe, does not change).
    let settlers = this.settlers;
    if (settlers === undefined || settlers.period !== this.period) settlers = this.settlers = this.makeSettlers();
    if (settlers.probe) this.probesInFlight++;
    let result: T | PromiseLike<T>;
    try {
      result = fn();
    } catch (error) {
      try {
        return settlers.failed(error);
      } catch (thrown) {
        // isFailure itself threw: the call rejects with that, as an async execute would.
        return Promise.reject(thrown);
      }
    }
    return Promise.resolve(result).then(settlers.succeeded as (value: T) => T, settlers.failed);
  }

  /** The handlers that settle the calls started in the current period. */
  private makeSettlers(): Settlers {
    const period = this.period;
    const probe = this.current === 'HALF_OPEN';
    return {
      period,
      probe,
      succeeded: (value: unknown) => {
        this.settle(period, probe, undefined, false);
        return value;
      },
      failed: (error: unknown) => {
        this.settle(period, probe, error, true);
        return Promise.reject(error);
      },
    };
  }

  /** Counters and timing, read from the clock. */
  getMetrics(): CircuitBreakerMetrics {
    const metrics: CircuitBreakerMetrics = {
      state: this.state,
      totalCalls: this.totalCalls,
      successes: this.successes,
      failures: this.failures,
      rejections: this.rejections,
      consecutiveFailures: this.consecutiveFailures,
    };
    if (this.openedAt !== undefined) metrics.openedAt = this.openedAt;
    if (this.nextAttemptAt !== undefined) metrics.nextAttemptAt = this.nextAttemptAt;
    return metrics;
  }

  /** Forces the circuit OPEN and holds it there, past `resetTimeoutMs`, until {@link reset}. */
  trip(): void {
    this.tripped = true;
    if (this.current === 'OPEN') {
      this.nextAttemptAt = undefined;
    } else {
      this.transition('OPEN');
    }
  }

  /** Forces the circuit CLOSED with fresh counts, also ending a {@link trip}. */
  reset(): void {
    this.tripped = false;
    this.totalCalls = this.successes = this.failures = this.rejections = 0;
    if (this.current === 'CLOSED') {
      this.period++;
      this.consecutiveFailures = 0;
      this.window?.clear();
    } else {
      this.transition('CLOSED');
    }
  }

  /** A snapshot to persist, holding the state and the time it has left; see {@link CircuitBreaker.fromJSON}. */
  toJSON(): CircuitBreakerSnapshot {
    const state = this.state;
    return {
      version: 1,
      state,
      tripped: this.tripped,
      remainingMs:
        state === 'OPEN' && this.nextAttemptAt !== undefined ? Math.max(0, this.nextAttemptAt - this.clock.now()) : 0,
      consecutiveFailures: this.consecutiveFailures,
      totalCalls: this.totalCalls,
      successes: this.successes,
      failures: this.failures,
      rejections: this.rejections,
    };
  }

  /**
   * Rebuilds a breaker from {@link CircuitBreaker.toJSON}'s snapshot: an OPEN one stays OPEN for the
   * time it had left, measured on the new breaker's clock.
   *
   * @param snapshot - a snapshot, e.g. parsed from storage
   * @param options - the options of the new breaker
   */
  static fromJSON(snapshot: CircuitBreakerSnapshot, options: CircuitBreakerOptions = {}): CircuitBreaker {
    if (typeof snapshot !== 'object' || snapshot === null || snapshot.version !== 1 || !STATES.has(snapshot.state)) {
      throw new TypeError('closed-loop: not a CircuitBreaker snapshot (expected { version: 1, state, ... })');
    }
    const breaker = new CircuitBreaker(options);
    breaker.totalCalls = count(snapshot.totalCalls);
    breaker.successes = count(snapshot.successes);
    breaker.failures = count(snapshot.failures);
    breaker.rejections = count(snapshot.rejections);
    breaker.consecutiveFailures = count(snapshot.consecutiveFailures);
    if (snapshot.state !== 'CLOSED' || snapshot.tripped) {
      const now = breaker.clock.now();
      const remaining =
        snapshot.state === 'OPEN' ? Math.min(count(snapshot.remainingMs), breaker.resetTimeoutMs) : 0;
      breaker.current = 'OPEN';
      breaker.period++;
      breaker.tripped = snapshot.tripped === true;
      breaker.openedAt = now - (breaker.resetTimeoutMs - remaining);
      breaker.nextAttemptAt = breaker.tripped ? undefined : now + remaining;
    }
    return breaker;
  }

  /** Moves OPEN to HALF_OPEN when its time has come. */
  private refresh(): void {
    if (this.current === 'OPEN' && !this.tripped && this.clock.now() >= this.nextAttemptAt!) {
      this.transition('HALF_OPEN');
    }
  }

  private reject(): CircuitBreakerError {
    this.rejections++;
    const retryAfterMs =
      this.current === 'OPEN' && this.nextAttemptAt !== undefined
        ? Math.max(0, this.nextAttemptAt - this.clock.now())
        : // Tripped, or HALF_OPEN with its probes busy: when a call gets in is unknown; a failed probe
          // would reopen for resetTimeoutMs, so that is the honest upper bound.
          this.resetTimeoutMs;
    const error = new CircuitBreakerError(this.current, retryAfterMs, this.name);
    emitReported(this, 'rejected', error);
    return error;
  }

  private settle(period: number, probe: boolean, error: unknown, threw: boolean): void {
    const failed = threw && this.isFailure(error);
    if (failed) this.failures++;
    else this.successes++;
    // The outcome is announced before the transition it causes: failure, then CLOSED -> OPEN.
    if (failed) emitReported(this, 'failure', error);
    else emitReported(this, 'success');
    if (period !== this.period) return;
    if (probe) this.probesInFlight--;
    if (failed) this.onFailure();
    else this.onSuccess();
  }

  private onSuccess(): void {
    this.consecutiveFailures = 0;
    if (this.current === 'HALF_OPEN') {
      if (++this.probeSuccesses >= this.successThreshold) this.transition('CLOSED');
      return;
    }
    // A success can complete `minimumCalls` with the failure ratio already at the threshold.
    if (this.window) this.recordInWindow(false);
  }

  private onFailure(): void {
    this.consecutiveFailures++;
    if (this.current === 'HALF_OPEN') {
      this.transition('OPEN');
      return;
    }
    if (this.countConsecutive && this.consecutiveFailures >= this.failureThreshold) {
      this.transition('OPEN');
      return;
    }
    if (this.window) this.recordInWindow(true);
  }

  /** Records a CLOSED-period outcome in the rolling window and opens when the rate is reached. */
  private recordInWindow(failed: boolean): void {
    const now = this.clock.now();
    this.window!.record(now, failed);
    const { calls, failures } = this.window!.totals(now);
    if (calls >= this.minimumCalls && failures / calls >= this.failureRateThreshold) this.transition('OPEN');
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    this.current = to;
    this.period++;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    if (to === 'OPEN') {
      const now = this.clock.now();
      this.openedAt = now;
      this.nextAttemptAt = this.tripped ? undefined : now + this.resetTimeoutMs;
    } else if (to === 'CLOSED') {
      this.consecutiveFailures = 0;
      this.openedAt = undefined;
      this.nextAttemptAt = undefined;
      this.window?.clear();
    }
    // A listener's throw must not change the call's outcome (docs/decisions.md, 9).
    if (from !== to) emitReported(this, 'stateChange', from, to);
  }
}


interface Settlers {
  period: number;
  probe: boolean;
  succeeded: (value: unknown) => unknown;
  failed: (error: unknown) => Promise<never>;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}
