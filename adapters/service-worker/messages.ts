import type { DeadLetter, QueueItem } from 'closed-loop';

// What the worker tells the pages: one message per item it delivered or gave up on, so a page that
// is open shows the outcome of work it queued (its own OfflineQueue does not see the worker's flush;
// its sync client settles the calls waiting on these items from the messages).

// The names live in the core: a page's sync client reads these messages too, to settle the calls it
// queued when the worker delivers them.
import { DEAD_LETTERED_MESSAGE, PROCESSED_MESSAGE } from '../../src/client/worker-messages.js';

export { DEAD_LETTERED_MESSAGE, PROCESSED_MESSAGE };

/** Posted to every window client when the worker delivered an item. */
export interface ProcessedMessage<P = unknown> {
  /** `'closed-loop:processed'` */
  readonly type: typeof PROCESSED_MESSAGE;
  /** The sync tag whose handler delivered it. */
  readonly tag: string;
  /** The item as it was sent (its `idempotencyKey` is the one the page gave it). */
  readonly item: QueueItem<P>;
  /**
   * What the item's handler returned, when it can be posted (structured-cloneable): for the sync
   * client's items, the `SyncResponse`; left out otherwise (a `Response` object, say).
   */
  readonly result?: unknown;
}

/** Posted to every window client when the worker moved an item to the dead letters. */
export interface DeadLetteredMessage<P = unknown> {
  /** `'closed-loop:dead-lettered'` */
  readonly type: typeof DEAD_LETTERED_MESSAGE;
  /** The sync tag whose handler dead-lettered it. */
  readonly tag: string;
  /** The dead letter: `reason` and `lastError` say why. */
  readonly item: DeadLetter<P>;
}

/** A message {@link handleBackgroundSync} posts to the pages. */
export type BackgroundSyncMessage<P = unknown> = ProcessedMessage<P> | DeadLetteredMessage<P>;

/**
 * Tells a message from the worker apart from an app's own, in a page's
 * `navigator.serviceWorker.addEventListener('message', (event) => …)`.
 *
 * @param data - `event.data` of a `message` event
 * @returns whether it is a {@link BackgroundSyncMessage}
 */
export function isBackgroundSyncMessage(data: unknown): data is BackgroundSyncMessage {
  if (typeof data !== 'object' || data === null) return false;
  const { type, item } = data as { type?: unknown; item?: unknown };
  return (type === PROCESSED_MESSAGE || type === DEAD_LETTERED_MESSAGE) && typeof item === 'object' && item !== null;
}
