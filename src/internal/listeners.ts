import { EventEmitter } from 'eventemitter3';
import { reportUncaught } from './report-uncaught.js';

// The listener mechanism of the queue, the realtime service, the stores (SyncMutation,
// RealtimeObserver, the queue's state) and IndexedDBQueueStorage, on eventemitter3. (The breaker
// is an eventemitter3 itself, its `on` part of its public API; see emitReported below.)

/** What a {@link Listeners} takes besides its listeners. */
export interface ListenersOptions {
  /** The owning class, for error messages (`OfflineQueue`). */
  readonly owner: string;
  /** The event names `on` accepts; default any. */
  readonly events?: readonly string[];
  /** Takes what a listener threw (an `error` listener's throw is always reported as uncaught). Default: reported as uncaught. */
  readonly onThrow?: (error: unknown) => void;
  /** Called after each listener is added or removed. */
  readonly onChange?: () => void;
}

/**
 * The listeners of one object: `on` returns an idempotent remover of that one registration,
 * `emit` calls the listeners in the order they were added, each isolated, so that one that throws
 * (reported through `onThrow`) neither stops the others nor reaches the emitter. A listener added
 * during an emit is called from the next one; one removed during an emit is still called by it.
 * An `error` with no listener is reported as uncaught, as Node's emitters throw it.
 */
export class Listeners<E extends Record<keyof E, (...args: never[]) => void>> {
  private readonly emitter = new EventEmitter();
  private readonly options: ListenersOptions;

  /** @param options - owner, accepted events, where throws go, change hook */
  constructor(options: ListenersOptions) {
    this.options = options;
  }

  /** Adds `listener` to `event`; the returned function removes it (idempotent). */
  on<K extends keyof E & string>(event: K, listener: E[K]): () => void {
    const { owner, events, onThrow, onChange } = this.options;
    if (events !== undefined && !events.includes(event)) {
      throw new TypeError(`closed-loop: unknown ${owner} event ${JSON.stringify(String(event))} (use ${events.join(', ')})`);
    }
    if (typeof listener !== 'function') throw new TypeError(`closed-loop: ${owner}: the listener must be a function`);
    const report = event === 'error' || onThrow === undefined ? reportUncaught : onThrow;
    const fn = listener as unknown as (...args: unknown[]) => void;
    // One wrapper per registration: it isolates the listener, and removing it removes this
    // registration only (eventemitter3 would remove every registration of the same function).
    const call = (...args: unknown[]): void => {
      try {
        fn(...args);
      } catch (error) {
        report(error);
      }
    };
    const emitter = this.emitter.on(event, call);
    onChange?.();
    let active = true;
    return () => {
      if (active) {
        active = false;
        emitter.off(event, call);
        onChange?.();
      }
    };
  }

  /** Calls the listeners of `event` with `args`; false when it has none. */
  emit<K extends keyof E & string>(event: K, ...args: Parameters<E[K]>): boolean {
    if (this.emitter.emit(event, ...args)) return true;
    if (event === 'error') reportUncaught(args[0]);
    return false;
  }

  /** Whether `event` has a listener. */
  has(event: keyof E & string): boolean {
    return this.emitter.listenerCount(event) > 0;
  }

  /** Removes every listener (no `onChange`). */
  clear(): void {
    this.emitter.removeAllListeners();
  }
}

/**
 * `emitter.emit(event, ...args)` that never throws: a listener's throw is reported as uncaught (and
 * ends that emit, as in eventemitter3). For the breaker, whose listeners are added through its own
 * eventemitter3 API: its outcome must not depend on a listener (docs/decisions.md, 9).
 */
export function emitReported<E extends EventEmitter.ValidEventTypes, K extends EventEmitter.EventNames<E>>(
  emitter: EventEmitter<E>,
  event: K,
  ...args: EventEmitter.EventArgs<E, K>
): void {
  try {
    emitter.emit(event, ...args);
  } catch (error) {
    reportUncaught(error);
  }
}
