import { messageOf } from '../internal/message-of.js';
import { hasBrand } from './brand.js';
import { ClosedLoopError } from './closed-loop-error.js';

/** Every allowed attempt failed (or the time budget ran out); `cause` is the last error. @category Errors */
export class RetryExhaustedError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'RetryExhaustedError';
  /** How many attempts ran. */
  readonly attempts: number;
  /** The last attempt's error. */
  declare readonly cause: unknown;

  /**
   * @param attempts - how many attempts ran
   * @param cause - the last attempt's error
   * @param message - overrides the default message
   */
  constructor(attempts: number, cause: unknown, message?: string) {
    super(
      message ?? `Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${messageOf(cause)}`,
      'RETRY_EXHAUSTED',
      { cause, retryable: false },
    );
    this.name = 'RetryExhaustedError';
    this.attempts = attempts;
  }
}

/**
 * Whether `value` is a {@link RetryExhaustedError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isRetryExhaustedError(value: unknown): value is RetryExhaustedError {
  return hasBrand(value, 'RetryExhaustedError');
}
