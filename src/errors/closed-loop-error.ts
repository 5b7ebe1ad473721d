import { BRAND, hasBrand, kindsOf } from './brand.js';

/** Options shared by every closed-loop error constructor. @category Errors */
export interface ClosedLoopErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /**
   * Whether retrying could help. `false` makes the default `shouldRetry` give up at once;
   * `undefined` leaves the decision to the error's kind.
   */
  retryable?: boolean;
}

/**
 * The base class of every error closed-loop throws.
 *
 * @example
 * ```ts
 * try { await client.post('/orders', order) } catch (e) {
 *   if (isClosedLoopError(e)) console.log(e.code)
 * }
 * ```
 * @category Errors
 */
export class ClosedLoopError extends Error {
  /** @internal The kind the guards recognise. */
  static readonly errorKind: string = 'ClosedLoopError';
  /** A stable, machine-readable code, e.g. `HTTP_ERROR` or `KEY_IN_USE`. */
  readonly code: string;
  /** Whether retrying could help; `undefined` when the error's kind decides. */
  readonly retryable?: boolean;

  /** @internal The kinds of this error and its ancestors, read by the guards across copies. */
  get [BRAND](): readonly string[] {
    return kindsOf(this);
  }

  /**
   * @param message - human-readable description
   * @param code - machine-readable code
   * @param options - `cause` and `retryable`
   */
  constructor(message: string, code: string, options: ClosedLoopErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClosedLoopError';
    this.code = code;
    if (options.retryable !== undefined) this.retryable = options.retryable;
  }
}

/**
 * Whether `value` is any closed-loop error (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isClosedLoopError(value: unknown): value is ClosedLoopError {
  return hasBrand(value, 'ClosedLoopError');
}
