import { Listeners } from '../internal/listeners.js';
import type { DeadLetter, QueueItem } from './storage.js';

/** The events of an {@link OfflineQueue}, for {@link OfflineQueue.on}. @category Offline queue */
export interface OfflineQueueEvents<P = unknown> {
  /** An item was stored by {@link OfflineQueue.add}. */
  enqueued: (item: QueueItem<P>) => void;
  /** An item was delivered: `result` is what its handler returned. */
  processed: (item: QueueItem<P>, result: unknown) => void;
  /** An attempt failed and the item waits for the next one (or no handler was found for it). */
  failed: (item: QueueItem<P>, error: unknown) => void;
  /** An item went to the dead-letter list (or an unreadable entry was found), with the reason's error. */
  deadLettered: (item: DeadLetter<P>, error: unknown) => void;
  /** A flush delivered or dead-lettered something and left no pending item. */
  drained: () => void;
  /** The stored items changed (here, or in another tab where the storage can tell). */
  changed: () => void;
  /**
   * Something failed that no caller awaits: an auto-sync flush, a storage write after a delivery, an
   * entry the storage returned without an id. With no listener, reported as an uncaught error.
   */
  error: (error: unknown) => void;
}

const EVENT_NAMES = ['enqueued', 'processed', 'failed', 'deadLettered', 'drained', 'changed', 'error'];

/**
 * The listeners of one queue (see Listeners): a listener that throws is reported as an uncaught
 * error and the others still run; an `error` with no listener is reported as uncaught.
 *
 * @param onChange - called after each listener is added or removed
 */
export function queueEvents<P>(onChange: () => void): Listeners<OfflineQueueEvents<P>> {
  return new Listeners({ owner: 'OfflineQueue', events: EVENT_NAMES, onChange });
}
