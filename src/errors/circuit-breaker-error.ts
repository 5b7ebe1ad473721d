import { hasBrand } from './brand.js';
import { ClosedLoopError } from './closed-loop-error.js';

/** The states of a {@link CircuitBreaker}. @category Circuit breaker */
export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** A circuit breaker refused a call without running it. @category Errors */
export class CircuitBreakerError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'CircuitBreakerError';
  /** The breaker's state when it refused. */
  readonly state: CircuitState;
  /** How long until the breaker may admit a call again, in ms. */
  readonly retryAfterMs: number;
  /** The breaker's `name`, if it has one. */
  readonly breakerName?: string;

  /**
   * @param state - the breaker's state
   * @param retryAfterMs - time until a call may be admitted
   * @param breakerName - the breaker's name
   */
  constructor(state: CircuitState, retryAfterMs: number, breakerName?: string) {
    super(
      `Circuit${breakerName ? ` "${breakerName}"` : ''} is ${state}; retry in ${Math.ceil(retryAfterMs)} ms`,
      'CIRCUIT_OPEN',
    );
    this.name = 'CircuitBreakerError';
    this.state = state;
    this.retryAfterMs = retryAfterMs;
    if (breakerName !== undefined) this.breakerName = breakerName;
  }
}

/**
 * Whether `value` is a {@link CircuitBreakerError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isCircuitBreakerError(value: unknown): value is CircuitBreakerError {
  return hasBrand(value, 'CircuitBreakerError');
}
