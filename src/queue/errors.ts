import { ClosedLoopError, type ClosedLoopErrorOptions } from '../errors/errors.js';

/** The codes of {@link QueueStorageError}. @category Errors */
export type QueueStorageErrorCode =
  /** The storage is full (a `QuotaExceededError`): the item was not queued. */
  | 'QUEUE_QUOTA_EXCEEDED'
  /** The storage failed or is unavailable (private mode, a closed database, a broken custom storage). */
  | 'QUEUE_STORAGE_FAILED'
  /** A stored entry could not be read (corrupt JSON, a value of the wrong shape). */
  | 'QUEUE_ENTRY_UNREADABLE';

/**
 * The offline queue's storage refused or failed an operation, or holds an entry that cannot be read.
 * `cause` is the storage's own error (for a full storage, the `QuotaExceededError` `DOMException`).
 * Items already stored are never lost by such a failure.
 *
 * @example
 * ```ts
 * try { await queue.add(order) } catch (e) {
 *   if (isQueueStorageError(e) && e.code === 'QUEUE_QUOTA_EXCEEDED') showStorageFullMessage()
 * }
 * ```
 * @category Errors
 */
export class QueueStorageError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'QueueStorageError';
  declare readonly code: QueueStorageErrorCode;
  /** The id of the entry concerned, when there is one. */
  readonly itemId?: string;

  /**
   * @param code - what went wrong
   * @param message - human-readable description
   * @param options - `cause` (the storage's error) and `itemId`
   */
  constructor(code: QueueStorageErrorCode, message: string, options: ClosedLoopErrorOptions & { itemId?: string } = {}) {
    super(message, code, { retryable: false, ...options });
    this.name = 'QueueStorageError';
    if (options.itemId !== undefined) this.itemId = options.itemId;
  }
}

/**
 * Whether `value` is a {@link QueueStorageError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isQueueStorageError(value: unknown): value is QueueStorageError {
  if (typeof value !== 'object' || value === null) return false;
  const kinds = (value as Record<symbol, unknown>)[Symbol.for('closed-loop.error')];
  return Array.isArray(kinds) && kinds.includes('QueueStorageError');
}

/** Whether a storage error means "the storage is full", across browsers' names and legacy codes. */
export function isQuotaExceeded(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; code?: unknown };
  // 22: QUOTA_EXCEEDED_ERR; 1014: Firefox's NS_ERROR_DOM_QUOTA_REACHED.
  return e.name === 'QuotaExceededError' || e.name === 'NS_ERROR_DOM_QUOTA_REACHED' || e.code === 22 || e.code === 1014;
}

/** Whether a storage refused a value it cannot serialise (a function, a cycle for JSON, a BigInt). */
export function isUnserializable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: unknown }).name;
  return name === 'DataCloneError' || name === 'TypeError';
}

/** A storage's failure to `what` as a {@link QueueStorageError} (one that already is passes through). */
export function storageFailure(what: string, error: unknown, itemId?: string): QueueStorageError {
  if (error instanceof QueueStorageError) return error;
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new QueueStorageError(
    isQuotaExceeded(error) ? 'QUEUE_QUOTA_EXCEEDED' : 'QUEUE_STORAGE_FAILED',
    `closed-loop: the offline queue storage could not ${what}${detail}`,
    itemId === undefined ? { cause: error } : { cause: error, itemId },
  );
}

/**
 * What `add` (and `hold`, `retryDeadLetter`) rejects with when the storage refused a new item: a full
 * storage, a payload it cannot hold (a `TypeError`), or any other failure.
 */
export function addFailure(error: unknown): Error {
  if (isQuotaExceeded(error)) {
    return new QueueStorageError(
      'QUEUE_QUOTA_EXCEEDED',
      'closed-loop: the offline queue storage is full (QuotaExceededError): the item was not queued; items already queued are kept',
      { cause: error },
    );
  }
  if (isUnserializable(error)) {
    const detail = error instanceof Error ? `: ${error.message}` : '';
    return new TypeError(
      `closed-loop: OfflineQueue.add: the payload cannot be stored (it must be structured-cloneable; JSON for LocalStorageQueueStorage)${detail}`,
      { cause: error },
    );
  }
  return storageFailure('store the item', error);
}
