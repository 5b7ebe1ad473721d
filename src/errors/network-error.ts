import { hasBrand } from './brand.js';
import { ClosedLoopError, type ClosedLoopErrorOptions } from './closed-loop-error.js';

/** The request never got a response: DNS, refused connection, reset, CORS, offline. @category Errors */
export class NetworkError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'NetworkError';
  /**
   * @param message - what failed
   * @param options - `cause`: the fetch failure
   */
  constructor(message = 'Network request failed', options: ClosedLoopErrorOptions = {}) {
    super(message, 'NETWORK_ERROR', options);
    this.name = 'NetworkError';
  }
}

/**
 * Whether `value` is a {@link NetworkError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isNetworkError(value: unknown): value is NetworkError {
  return hasBrand(value, 'NetworkError');
}
