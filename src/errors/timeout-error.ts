import { hasBrand } from './brand.js';
import { ClosedLoopError, type ClosedLoopErrorOptions } from './closed-loop-error.js';

/** An attempt or a wait ran past its deadline. @category Errors */
export class TimeoutError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'TimeoutError';
  /** The deadline that passed, in ms. */
  readonly timeoutMs: number;

  /**
   * @param timeoutMs - the deadline that passed
   * @param message - overrides the default message
   * @param options - `cause` and `retryable`
   */
  constructor(timeoutMs: number, message?: string, options: ClosedLoopErrorOptions = {}) {
    super(message ?? `Timed out after ${timeoutMs} ms`, 'TIMEOUT', options);
    this.name = 'TimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Whether `value` is a {@link TimeoutError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isTimeoutError(value: unknown): value is TimeoutError {
  return hasBrand(value, 'TimeoutError');
}
