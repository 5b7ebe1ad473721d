import type { Clock } from '../clock/clock.js';
import { createIdempotencyKey } from '../idempotency/key.js';
import type { Listeners } from '../internal/listeners.js';
import { noop } from '../internal/noop.js';
import { startAutoSync, type AutoSyncOptions } from './auto-sync.js';
import { addFailure, QueueStorageError, storageFailure } from './errors.js';
import { type OfflineQueueEvents, queueEvents } from './events.js';
import { flush, type FlushContext, type ProcessOptions, type ProcessResult, skippedResult } from './flush.js';
import { HandlerRegistry, type QueueHandler } from './handlers.js';
import { checkAddOptions, type OfflineQueueOptions, type QueueAddOptions, queueSettings } from './options.js';
import { deadLetterOrder, flushOrder } from './order.js';
import { QueueReader } from './reader.js';
import { countLive, type QueueState, QueueStateStore, type QueueStats } from './state.js';
import { type DeadLetter, decodeEntry, type QueueItem, type QueueStorage, withoutFlight } from './storage.js';

// The offline queue's front door: the public class, which checks each call's arguments and composes
// the concept files of this folder (options, handlers, events, reader, state, flush and attempt,
// failure, auto-sync, order).

export type { AutoSyncOptions } from './auto-sync.js';
export type { OfflineQueueEvents } from './events.js';
export type { ProcessOptions, ProcessResult } from './flush.js';
export type { QueueHandler, QueueHandlerContext } from './handlers.js';
export type { OfflineQueueOptions, QueueAddOptions } from './options.js';
export type { QueueState, QueueStats } from './state.js';

/**
 * A durable queue of mutations to deliver when the server can be reached. Each item carries an
 * idempotency key from the moment it is added; every delivery attempt sends that same key, so the
 * server runs it once however often it arrives.
 *
 * - `add` resolves once the item is stored. `process` delivers due items one at a time, higher
 *   priority first and FIFO within a priority. An item is marked in flight while its handler runs
 *   and removed only after the handler succeeded, so a crash or reload mid-flush sends it again,
 *   with the same key.
 * - A failure with no answer (`NetworkError`, `TimeoutError`, `CircuitBreakerError`, an abort, or a
 *   `409 KEY_IN_USE` that says the first delivery is still running) costs no attempt; an answered one
 *   costs one. 4xx answers other than 408/425/429 (and `IdempotencyError`s other than
 *   `KEY_IN_USE`/`STORE_UNAVAILABLE`, and errors marked `retryable: false`), items past
 *   `maxRetentionMs` and items out of attempts go to the dead-letter list; others wait out a backoff.
 * - One flush at a time per storage, across tabs (see `lock`). An entry that cannot be read is
 *   listed as a dead letter (reason `corrupt`) and left in storage untouched; the others carry on.
 *
 * @example
 * ```ts
 * const queue = new OfflineQueue({ storage: new IndexedDBQueueStorage('orders') })
 * queue.registerHandler('order', (item) => postOrder(item.payload, item.idempotencyKey))
 * await queue.add(order, { type: 'order' })
 * const stop = queue.startAutoSync()
 * ```
 * @category Offline queue
 */
export class OfflineQueue<P = unknown> {
  // Named `storage`: tests reach it by that name.
  private readonly storage: QueueStorage;
  private readonly clock: Clock;
  private readonly handlers: HandlerRegistry<P>;
  private readonly events: Listeners<OfflineQueueEvents<P>>;
  private readonly reader: QueueReader;
  private readonly store: QueueStateStore;
  /** What a flush works with: the parts above, the settings and the in-flight bookkeeping below. */
  private readonly parts: FlushContext<P>;
  private current: Promise<ProcessResult> | undefined;
  private following: Promise<ProcessResult> | undefined;
  /** Ids this object is sending now; `true` once `remove`/`clear` took the item away meanwhile. */
  private readonly flying = new Map<string, boolean>();
  /** Ids of {@link hold}-ed items: their caller is sending them, so this object's flushes skip them. */
  private readonly held = new Set<string>();
  private unsubscribeStorage: (() => void) | undefined;

  /** @param options - storage, handlers, retry, retention, lock and clock */
  constructor(options: OfflineQueueOptions<P> = {}) {
    const settings = queueSettings(options);
    this.storage = settings.storage;
    this.clock = settings.clock;
    this.handlers = new HandlerRegistry(settings.handlers, settings.handler);
    this.events = queueEvents<P>(() => this.watchStorage());
    this.reader = new QueueReader(settings.storage, settings.clock);
    this.store = new QueueStateStore(
      () => this.reader.read(),
      (error) => this.events.emit('error', error),
      () => this.watchStorage(),
    );
    // The settings (their `handlers` map replaced by the registry built from it), and the parts.
    this.parts = {
      ...settings,
      handlers: this.handlers,
      reader: this.reader,
      store: this.store,
      events: this.events,
      held: this.held,
      flying: this.flying,
      changed: () => this.changed(),
    };
  }

  /**
   * Stores an item. The promise resolves once it is stored (durably, for a persistent storage), with
   * the item as stored; it rejects, storing nothing, when the storage is full
   * ({@link QueueStorageError} `QUEUE_QUOTA_EXCEEDED`) or cannot hold the payload (`TypeError`).
   *
   * @param payload - what the handler will deliver: structured-cloneable (JSON for localStorage)
   * @param options - `priority` (default 0), `idempotencyKey` (default: a fresh one), `type`
   * @returns the stored item
   */
  async add(payload: P, options: QueueAddOptions = {}): Promise<QueueItem<P>> {
    const { priority, key, type } = checkAddOptions('add', options);
    const item = await this.storePending(createIdempotencyKey(), payload, type, priority, key ?? createIdempotencyKey());
    this.events.emit('enqueued', item);
    this.changed();
    return item;
  }

  /**
   * Stores an item that the caller is sending itself right now (the sync client's durable
   * mutations): it is stored in flight, and this queue object's flushes leave it alone until
   * {@link release} hands it over or {@link remove} takes it away once the server has answered. If
   * the page dies first (a reload, a closed tab, a crash), the item stays stored and the next flush
   * sends it with its key. (A flush in another tab may send it meanwhile; the key makes the server
   * run it once.)
   *
   * @param payload - what the handler will deliver if the caller cannot
   * @param options - as for {@link add}
   * @returns the stored item, durable when the promise resolves
   */
  async hold(payload: P, options: QueueAddOptions = {}): Promise<QueueItem<P>> {
    const { priority, key, type } = checkAddOptions('hold', options);
    const id = createIdempotencyKey();
    // Held before the write: a flush that reads the entry as soon as it exists must skip it.
    this.held.add(id);
    try {
      const item = await this.storePending(id, payload, type, priority, key ?? createIdempotencyKey(), true);
      this.changed();
      return item;
    } catch (error) {
      this.held.delete(id);
      throw error;
    }
  }

  /**
   * Hands a {@link hold}-ed item over to the flushes: it becomes pending and due now, like an item
   * that was {@link add}-ed. Does nothing when it is not stored any more.
   *
   * @param id - the held item's id
   */
  async release(id: string): Promise<void> {
    if (typeof id !== 'string') throw new TypeError('closed-loop: OfflineQueue.release(id): `id` must be a string');
    this.held.delete(id);
    const record = await this.reader.readOne(id);
    if (record === undefined) return;
    // Already pending: a flush elsewhere (a service worker, another tab) tried it and put it back.
    // It is queued all the same, so this queue's listeners hear of it.
    if (record.state === 'pending') {
      this.events.emit('enqueued', record as QueueItem<P>);
      this.changed();
      return;
    }
    if (record.state !== 'inFlight') return;
    const pending = Object.freeze({ ...withoutFlight(record), state: 'pending' }) as QueueItem<P>;
    try {
      await this.storage.put(pending);
    } catch (error) {
      // Still stored in flight: the next flush sends it all the same.
      this.events.emit('error', storageFailure(`release held queue item ${id}`, error, id));
    }
    this.events.emit('enqueued', pending);
    this.changed();
  }

  /**
   * Registers (or replaces) the handler for items of `type`. It takes precedence over `handlers`,
   * the `process(handler)` argument and `handler`.
   *
   * @param type - the item type
   * @param handler - delivers items of that type
   * @returns a function that unregisters it (if it is still the registered one)
   */
  registerHandler(type: string, handler: QueueHandler<P>): () => void {
    if (typeof type !== 'string' || type === '') throw new TypeError('closed-loop: OfflineQueue.registerHandler(type, handler): `type` must be a non-empty string');
    if (typeof handler !== 'function') throw new TypeError('closed-loop: OfflineQueue.registerHandler(type, handler): `handler` must be a function');
    return this.handlers.register(type, handler);
  }

  /**
   * Delivers every due item, one at a time: higher priority first, FIFO within a priority. Items
   * added meanwhile are picked up in a further round; each item is tried at most once per call.
   * Waits while another flush holds the lock (unless `ifAvailable`); a call made while this queue
   * is flushing runs after that flush (calls without arguments share one such run).
   *
   * Rejects with a {@link QueueStorageError} when the storage cannot be read or an item cannot be
   * marked in flight; nothing is lost then.
   *
   * @param handler - for items with no handler by type; default the `handler` option
   * @param options - `ifAvailable`, `networkRestored`
   * @returns counts of what happened
   */
  process(handler?: QueueHandler<P>, options: ProcessOptions = {}): Promise<ProcessResult> {
    if (handler !== undefined && typeof handler !== 'function') {
      return Promise.reject(new TypeError('closed-loop: OfflineQueue.process(handler): `handler` must be a function'));
    }
    const running = this.current;
    if (running) {
      if (options.ifAvailable) return skippedResult(this.parts);
      if (handler === undefined && !options.networkRestored) {
        this.following ??= running.then(noop, noop).then(() => {
          this.following = undefined;
          return this.process();
        });
        return this.following;
      }
      return running.then(noop, noop).then(() => this.process(handler, options));
    }
    const run = flush(this.parts, handler, options);
    this.current = run;
    const clear = (): void => {
      if (this.current === run) this.current = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  /**
   * Removes an item (pending, in flight or dead-lettered). An item being sent right now by this
   * queue is not stopped, but is not stored again after its attempt.
   *
   * @param id - the item's id
   * @returns whether there was an entry under that id
   */
  async remove(id: string): Promise<boolean> {
    if (typeof id !== 'string') throw new TypeError('closed-loop: OfflineQueue.remove(id): `id` must be a string');
    this.held.delete(id);
    if (this.flying.has(id)) this.flying.set(id, true);
    const existing = await this.storage.get(id);
    if (existing === undefined) return false;
    await this.storage.delete(id);
    this.reader.forget(id);
    this.changed();
    return true;
  }

  /** Removes every item, dead letters included. */
  async clear(): Promise<void> {
    for (const id of this.flying.keys()) this.flying.set(id, true);
    this.held.clear();
    await this.storage.clear();
    this.reader.forgetAll();
    this.changed();
  }

  /** @returns the pending and in-flight items, in the order a flush takes them */
  async getItems(): Promise<Array<QueueItem<P>>> {
    const { live } = await this.reader.read();
    return live.sort(flushOrder) as Array<QueueItem<P>>;
  }

  /**
   * @returns the dead letters, oldest first; unreadable entries among them have reason `corrupt` and
   *   their raw stored value as `payload`
   */
  async getDeadLetters(): Promise<Array<DeadLetter<P>>> {
    const { dead } = await this.reader.read();
    return dead.sort(deadLetterOrder) as Array<DeadLetter<P>>;
  }

  /**
   * Puts a dead letter back in the queue with its key, no attempts spent, and `createdAt` set to now
   * (retention counts again from here: if the server's TTL for its key has passed, the server will
   * treat it as new).
   *
   * @param id - the dead letter's id
   * @returns the pending item, or `undefined` if there is no dead letter with that id
   * @throws {@link QueueStorageError} `QUEUE_ENTRY_UNREADABLE` for an unreadable entry: read it with
   *   {@link getDeadLetters}, `add` its payload again and `remove` it
   */
  async retryDeadLetter(id: string): Promise<QueueItem<P> | undefined> {
    if (typeof id !== 'string') throw new TypeError('closed-loop: OfflineQueue.retryDeadLetter(id): `id` must be a string');
    const entry = await this.storage.get(id);
    if (entry === undefined) return undefined;
    const decoded = decodeEntry({ ...entry, id });
    if (decoded instanceof QueueStorageError) throw decoded;
    if (decoded.state !== 'deadLettered') return undefined;
    const item = await this.storePending(id, decoded.payload as P, decoded.type, decoded.priority, decoded.idempotencyKey);
    this.changed();
    return item;
  }

  /** @returns counts of the stored items and of this queue object's deliveries and failures */
  async stats(): Promise<QueueStats> {
    const { live, dead } = await this.reader.read();
    const { pending, inFlight, oldest } = countLive(live);
    return {
      pending,
      inFlight,
      deadLettered: dead.length,
      processed: this.store.processed,
      failed: this.store.failed,
      oldestAgeMs: oldest === undefined ? undefined : Math.max(0, this.clock.now() - oldest),
    };
  }

  /**
   * Listens to an event (see {@link OfflineQueueEvents}). A listener that throws is reported as an
   * uncaught error and changes nothing in the queue.
   *
   * @param event - the event's name
   * @param listener - called with the event's arguments
   * @returns a function that removes the listener (idempotent)
   */
  on<E extends keyof OfflineQueueEvents<P>>(event: E, listener: OfflineQueueEvents<P>[E]): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Subscribes to {@link getState} changes (the `useSyncExternalStore` shape). While anyone is
   * subscribed, the state is re-read from storage after each change.
   *
   * @param listener - called with no arguments when the state object was replaced
   * @returns a function that unsubscribes (idempotent)
   */
  subscribe(listener: () => void): () => void {
    return this.store.subscribe(listener);
  }

  /** @returns the current {@link QueueState}: the same object until something changes */
  getState(): QueueState {
    return this.store.current;
  }

  /**
   * Flushes in the background: when the `online` event fires (where `globalThis` has events), every
   * `intervalMs` (skipped while `navigator.onLine` is false, and when another flush holds the lock),
   * and once at start unless `immediate: false`. The interval timer is unref'd: it never holds a Node
   * process open. Flush failures go to the `error` event.
   *
   * @param options - `intervalMs` (default 30000), `immediate` (default true)
   * @returns a function that stops it (idempotent)
   */
  startAutoSync(options: AutoSyncOptions = {}): () => void {
    return startAutoSync(
      this.clock,
      (processOptions) => this.process(undefined, processOptions),
      (error) => this.events.emit('error', error),
      options,
    );
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Stores an item as pending with no attempts spent and `createdAt` now (a new one, or a dead
   * letter put back); resolves once it is durable, rejects (storing nothing) with the storage's
   * failure as `add` reports it.
   */
  private async storePending(
    id: string,
    payload: P,
    type: string | undefined,
    priority: number,
    idempotencyKey: string,
    inFlight = false,
  ): Promise<QueueItem<P>> {
    const now = this.clock.now();
    const record: QueueItem<P> = {
      id,
      payload,
      ...(type !== undefined ? { type } : {}),
      priority,
      idempotencyKey,
      attempts: 0,
      failures: 0,
      createdAt: now,
      ...(inFlight ? { state: 'inFlight', inFlightSince: now } : { state: 'pending' }),
    };
    try {
      await this.storage.put(record, { durable: true });
    } catch (error) {
      throw addFailure(error);
    }
    return Object.freeze(record);
  }

  // The stored items changed: tell listeners, and re-read the state for subscribers.
  private changed(): void {
    this.events.emit('changed');
    this.store.refresh();
  }

  // The storage's own change feed (other tabs) is followed only while someone listens for it.
  private watchStorage(): void {
    const wanted = this.store.watched || this.events.has('changed');
    if (wanted && !this.unsubscribeStorage && typeof this.storage.subscribe === 'function') {
      this.unsubscribeStorage = this.storage.subscribe(() => this.changed());
    } else if (!wanted && this.unsubscribeStorage) {
      this.unsubscribeStorage();
      this.unsubscribeStorage = undefined;
    }
  }
}
