import { hasBrand } from './brand.js';
import { ClosedLoopError, type ClosedLoopErrorOptions } from './closed-loop-error.js';

/** The codes of {@link IdempotencyError}. @category Errors */
export type IdempotencyErrorCode =
  | 'KEY_MISSING'
  | 'KEY_INVALID'
  | 'KEY_IN_USE'
  | 'KEY_MISMATCH'
  | 'STORE_UNAVAILABLE';

// Pure: a bundle that never reads it leaves it out.
/** The HTTP status that answers each {@link IdempotencyErrorCode}. @category Errors */
export const IDEMPOTENCY_ERROR_STATUS: Readonly<Record<IdempotencyErrorCode, number>> = /* @__PURE__ */ Object.freeze({
  KEY_MISSING: 400,
  KEY_INVALID: 400,
  KEY_IN_USE: 409,
  KEY_MISMATCH: 422,
  STORE_UNAVAILABLE: 503,
});

const IDEMPOTENCY_MESSAGES: Record<IdempotencyErrorCode, string> = {
  KEY_MISSING: 'An Idempotency-Key header is required',
  KEY_INVALID: 'The Idempotency-Key is empty, too long or malformed',
  KEY_IN_USE: 'A request with this Idempotency-Key is still being processed',
  KEY_MISMATCH: 'This Idempotency-Key was used with a different request',
  STORE_UNAVAILABLE: 'The idempotency store is unavailable',
};

/** Options of {@link IdempotencyError}. @category Errors */
export interface IdempotencyErrorOptions extends ClosedLoopErrorOptions {
  /** For `KEY_IN_USE`: when the key may be free, in ms (sent as `Retry-After`). */
  retryAfterMs?: number;
}

/** An idempotency check refused a request; `status` is the HTTP status that answers it. @category Errors */
export class IdempotencyError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'IdempotencyError';
  declare readonly code: IdempotencyErrorCode;
  /** The HTTP status for this code: 400, 400, 409, 422 or 503. */
  readonly status: number;
  /** For `KEY_IN_USE`: when to try again, in ms. */
  readonly retryAfterMs?: number;

  /**
   * @param code - what went wrong
   * @param message - overrides the default message
   * @param options - `cause`, `retryable` and `retryAfterMs`
   */
  constructor(code: IdempotencyErrorCode, message?: string, options: IdempotencyErrorOptions = {}) {
    super(message ?? IDEMPOTENCY_MESSAGES[code], code, options);
    this.name = 'IdempotencyError';
    this.status = IDEMPOTENCY_ERROR_STATUS[code];
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * Whether `value` is an {@link IdempotencyError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isIdempotencyError(value: unknown): value is IdempotencyError {
  return hasBrand(value, 'IdempotencyError');
}
