import { hasBrand } from './brand.js';
import { ClosedLoopError, type ClosedLoopErrorOptions } from './closed-loop-error.js';

/**
 * A mutation could not reach the server and was put in the offline queue. Not a failure: the
 * queue will deliver it with the same idempotency key, and `delivery` settles when it does.
 * @category Errors
 */
export class OfflineQueuedError<T = unknown> extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'OfflineQueuedError';
  /** The queue item's id. */
  readonly itemId: string;
  /** The idempotency key the item will be delivered with. */
  readonly idempotencyKey: string;
  /** Resolves with the response once the queue delivers the item. */
  readonly delivery: Promise<T>;

  /**
   * @param itemId - the queue item's id
   * @param idempotencyKey - the key it carries
   * @param delivery - settles when the queue delivers it
   * @param options - `cause`: why it could not be sent now
   */
  constructor(itemId: string, idempotencyKey: string, delivery: Promise<T>, options: ClosedLoopErrorOptions = {}) {
    super('Offline: the request was queued and will be sent when the server can be reached', 'OFFLINE_QUEUED', {
      retryable: false,
      ...options,
    });
    this.name = 'OfflineQueuedError';
    this.itemId = itemId;
    this.idempotencyKey = idempotencyKey;
    this.delivery = delivery;
  }
}

/**
 * Whether `value` is an {@link OfflineQueuedError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isOfflineQueuedError(value: unknown): value is OfflineQueuedError {
  return hasBrand(value, 'OfflineQueuedError');
}
