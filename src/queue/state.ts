import { Store } from '../internal/store.js';
import type { Snapshot } from './reader.js';
import type { QueueRecord } from './storage.js';

// What a queue reports about itself: stats() on demand, and getState()/subscribe() for UIs.

/** What {@link OfflineQueue.stats} reports. @category Offline queue */
export interface QueueStats {
  /** Items waiting to be sent. */
  pending: number;
  /** Items marked as being sent (by this or another tab, or left so by a flush that died). */
  inFlight: number;
  /** Items on the dead-letter list. */
  deadLettered: number;
  /** Items this queue object delivered since it was created. */
  processed: number;
  /** Failed attempts this queue object saw since it was created (dead-lettered items excluded). */
  failed: number;
  /** Age of the oldest pending or in-flight item in ms, or `undefined` when there is none. */
  oldestAgeMs: number | undefined;
}

/**
 * A snapshot for UIs ({@link OfflineQueue.getState}): the same object until something changes, so
 * React's `useSyncExternalStore` can render it directly.
 * @category Offline queue
 */
export interface QueueState {
  /** Items waiting to be sent. */
  readonly pending: number;
  /** Items marked as being sent. */
  readonly inFlight: number;
  /** Items on the dead-letter list. */
  readonly deadLettered: number;
  /** `createdAt` of the oldest pending or in-flight item, or `undefined`. */
  readonly oldestCreatedAt: number | undefined;
  /** Whether this queue object is flushing. */
  readonly isSyncing: boolean;
  /** When this queue object's last flush ended (epoch ms), or `undefined`. */
  readonly lastSyncAt: number | undefined;
  /** Items this queue object delivered. */
  readonly processed: number;
  /** Failed attempts this queue object saw. */
  readonly failed: number;
}

/** Counts of the pending and in-flight items, and the `createdAt` of the oldest. */
export function countLive(live: readonly QueueRecord[]): { pending: number; inFlight: number; oldest: number | undefined } {
  let pending = 0;
  let inFlight = 0;
  let oldest: number | undefined;
  for (const record of live) {
    if (record.state === 'inFlight') inFlight++;
    else pending++;
    if (oldest === undefined || record.createdAt < oldest) oldest = record.createdAt;
  }
  return { pending, inFlight, oldest };
}

/**
 * A queue object's own counters and its {@link QueueState}. The state object is replaced only when a
 * field changed; while anyone subscribes, the stored counts are re-read after each change.
 */
export class QueueStateStore {
  /** Items this queue object delivered. */
  processed = 0;
  /** Failed attempts this queue object saw. */
  failed = 0;
  /** When this queue object's last flush ended. */
  lastSyncAt: number | undefined;
  private syncing = false;
  private readonly store: Store<QueueState>;
  private refreshing = false;
  private refreshAgain = false;
  private readonly read: () => Promise<Snapshot>;
  private readonly onError: (error: unknown) => void;

  /**
   * @param read - reads the storage
   * @param onError - takes a failed re-read
   * @param onListenersChanged - called after each subscriber is added or removed
   */
  constructor(read: () => Promise<Snapshot>, onError: (error: unknown) => void, onListenersChanged: () => void) {
    this.read = read;
    this.onError = onError;
    this.store = new Store<QueueState>(
      Object.freeze({
        pending: 0,
        inFlight: 0,
        deadLettered: 0,
        oldestCreatedAt: undefined,
        isSyncing: false,
        lastSyncAt: undefined,
        processed: 0,
        failed: 0,
      }),
      'OfflineQueue',
      { onChange: onListenersChanged },
    );
  }

  /** The current state: the same object until something changes. */
  get current(): QueueState {
    return this.store.getState();
  }

  /** Whether anyone subscribes. */
  get watched(): boolean {
    return this.store.watched;
  }

  /** {@link OfflineQueue.subscribe}: the returned function unsubscribes (idempotent). */
  subscribe(listener: () => void): () => void {
    const unsubscribe = this.store.subscribe(listener);
    this.refresh();
    return unsubscribe;
  }

  /** A flush started or ended. */
  setSyncing(syncing: boolean): void {
    this.syncing = syncing;
    this.setState({ ...this.current, isSyncing: syncing, lastSyncAt: this.lastSyncAt, processed: this.processed, failed: this.failed });
  }

  /** The stored items changed: re-read them while anyone subscribes (changes during a read cause one more). */
  refresh(): void {
    if (!this.store.watched) return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    void (async () => {
      try {
        do {
          this.refreshAgain = false;
          try {
            const { live, dead } = await this.read();
            const { pending, inFlight, oldest } = countLive(live);
            this.setState({
              pending,
              inFlight,
              deadLettered: dead.length,
              oldestCreatedAt: oldest,
              isSyncing: this.syncing,
              lastSyncAt: this.lastSyncAt,
              processed: this.processed,
              failed: this.failed,
            });
          } catch (error) {
            this.onError(error);
          }
        } while (this.refreshAgain && this.store.watched);
      } finally {
        this.refreshing = false;
      }
    })();
  }

  private setState(next: QueueState): void {
    const current = this.current;
    for (const key of Object.keys(next) as Array<keyof QueueState>) {
      if (current[key] !== next[key]) {
        this.store.set(Object.freeze(next));
        return;
      }
    }
  }
}
