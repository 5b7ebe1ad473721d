import type { Clock } from '../clock/clock.js';
import type { CircuitBreakerError, CircuitState } from '../errors/errors.js';

/** Options of {@link CircuitBreaker}. @category Circuit breaker */
export interface CircuitBreakerOptions {
  /**
   * Consecutive failures that open the circuit. Default 5. When `failureRateThreshold` is set and
   * this is not, only the failure rate opens the circuit.
   */
  failureThreshold?: number;
  /**
   * Rolling-window mode: open when the ratio of failures (0..1] over the last `windowMs` reaches
   * this, once at least `minimumCalls` calls have finished in the window. Default: off.
   */
  failureRateThreshold?: number;
  /** Rolling-window mode: calls needed in the window before the rate counts. Default 10. */
  minimumCalls?: number;
  /** Rolling-window mode: the window's length in ms. Default 60000. */
  windowMs?: number;
  /**
   * Rolling-window mode: how many buckets the window is split into; memory is bounded by this,
   * not by the number of calls. Default 10.
   */
  windowBuckets?: number;
  /** Time spent OPEN before probes are admitted (HALF_OPEN), in ms. Default 30000. */
  resetTimeoutMs?: number;
  /** Probes admitted at once in HALF_OPEN; others are rejected at once. Default 1. */
  halfOpenMaxCalls?: number;
  /** Probe successes that close the circuit. Default 1. */
  successThreshold?: number;
  /**
   * Which errors count as failures. Default: every error but an {@link HttpError} with a 4xx
   * status (the server answered; the request was wrong). Errors that are not failures count as
   * successes for the circuit and still reach the caller.
   */
  isFailure?: (error: unknown) => boolean;
  /** The clock. Default {@link realClock}. */
  clock?: Clock;
  /** A name for messages, metrics and errors (e.g. the origin it guards). */
  name?: string;
}

/** What {@link CircuitBreaker.getMetrics} reports. @category Circuit breaker */
export interface CircuitBreakerMetrics {
  /** The current state, read from the clock. */
  state: CircuitState;
  /** Every `execute` call, rejected ones included. */
  totalCalls: number;
  /** Calls that succeeded (or failed with an error that `isFailure` does not count). */
  successes: number;
  /** Calls that failed with an error `isFailure` counts. */
  failures: number;
  /** Calls refused without running. */
  rejections: number;
  /** Failures in a row since the last success. */
  consecutiveFailures: number;
  /** When the circuit last opened (epoch ms), while it is not CLOSED. */
  openedAt?: number;
  /** When probes are (or were) first admitted (epoch ms), while it is OPEN or HALF_OPEN; absent while tripped. */
  nextAttemptAt?: number;
}

/** A serialisable picture of a breaker, from {@link CircuitBreaker.toJSON}. @category Circuit breaker */
export interface CircuitBreakerSnapshot {
  /** The snapshot format. */
  version: 1;
  /** The breaker's state when the snapshot was taken. */
  state: CircuitState;
  /** Whether it was held open by `trip()`. */
  tripped: boolean;
  /** Time left OPEN before probes are admitted, in ms (0 unless OPEN). */
  remainingMs: number;
  /** Failures in a row. */
  consecutiveFailures: number;
  /** Counters at the time of the snapshot. */
  totalCalls: number;
  /** Counters at the time of the snapshot. */
  successes: number;
  /** Counters at the time of the snapshot. */
  failures: number;
  /** Counters at the time of the snapshot. */
  rejections: number;
}

/** The events of a {@link CircuitBreaker}, with their listener signatures. @category Circuit breaker */
export interface CircuitBreakerEvents {
  /** The state changed. */
  stateChange: (from: CircuitState, to: CircuitState) => void;
  /** A call succeeded (or failed with an error that is not a failure). */
  success: () => void;
  /** A call failed with an error `isFailure` counts. */
  failure: (error: unknown) => void;
  /** A call was refused without running. */
  rejected: (error: CircuitBreakerError) => void;
}
