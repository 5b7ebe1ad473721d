import { reportUncaught } from '../internal/report-uncaught.js';
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

/** The name of an {@link OfflineQueueEvents} event. */
export type EventName = keyof OfflineQueueEvents;
type Listeners<P> = { [K in EventName]?: ReadonlyArray<OfflineQueueEvents<P>[K]> };

const EVENT_NAMES: ReadonlySet<string> = new Set(['enqueued', 'processed', 'failed', 'deadLettered', 'drained', 'changed', 'error']);

/**
 * The listeners of one queue. A listener that throws is reported as an uncaught error and the others
 * still run; an `error` with no listener is reported as uncaught. Lists are replaced, never changed
 * in place, so a listener added or removed during an emit takes effect from the next one.
 */
export class QueueEvents<P> {
  private listeners: Listeners<P> = {};
  private readonly onListenersChanged: () => void;

  /** @param onListenersChanged - called after each listener is added or removed */
  constructor(onListenersChanged: () => void) {
    this.onListenersChanged = onListenersChanged;
  }

  /** {@link OfflineQueue.on}: adds a listener; the returned function removes it (idempotent). */
  on<E extends EventName>(event: E, listener: OfflineQueueEvents<P>[E]): () => void {
    if (!EVENT_NAMES.has(event)) {
      throw new TypeError(`closed-loop: unknown OfflineQueue event ${JSON.stringify(String(event))} (use ${[...EVENT_NAMES].join(', ')})`);
    }
    if (typeof listener !== 'function') throw new TypeError('closed-loop: OfflineQueue.on(event, listener): `listener` must be a function');
    const list = (this.listeners[event] ?? []) as ReadonlyArray<OfflineQueueEvents<P>[E]>;
    this.listeners = { ...this.listeners, [event]: [...list, listener] };
    this.onListenersChanged();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const now = (this.listeners[event] ?? []) as ReadonlyArray<OfflineQueueEvents<P>[E]>;
      const index = now.indexOf(listener);
      if (index !== -1) this.listeners = { ...this.listeners, [event]: [...now.slice(0, index), ...now.slice(index + 1)] };
      this.onListenersChanged();
    };
  }

  /** Whether `event` has a listener. */
  has(event: EventName): boolean {
    return (this.listeners[event]?.length ?? 0) > 0;
  }

  /** Calls the listeners of `event` with `args`. */
  emit<E extends EventName>(event: E, ...args: Parameters<OfflineQueueEvents<P>[E]>): void {
    const list = this.listeners[event] as ReadonlyArray<(...a: Parameters<OfflineQueueEvents<P>[E]>) => void> | undefined;
    if (!list || list.length === 0) {
      if (event === 'error') reportUncaught(args[0]);
      return;
    }
    for (const listener of list) {
      try {
        listener(...args);
      } catch (error) {
        reportUncaught(error);
      }
    }
  }
}
