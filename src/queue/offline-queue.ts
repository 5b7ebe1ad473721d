import { type Clock, realClock, type TimerHandle, unrefTimer } from '../clock/clock.js';
import {
  ClosedLoopError,
  isCircuitBreakerError,
  isHttpError,
  isIdempotencyError,
  isNetworkError,
  isRetryExhaustedError,
  isTimeoutError,
  TimeoutError,
} from '../errors/errors.js';
import { createIdempotencyKey } from '../idempotency/key.js';
import { computeBackoffDelay } from '../retry/backoff.js';
import { checkBackoffOptions, checkNonNegative, DEFAULT_MAX_RETRY_AFTER_MS, type RetryOptions } from '../retry/options.js';
import { isRetryableStatus } from '../retry/should-retry.js';
import { isQuotaExceeded, isUnserializable, QueueStorageError } from './errors.js';
import { defaultLock, type QueueLock, sharedInProcessLock } from './lock.js';
import { MemoryQueueStorage } from './memory-storage.js';
import {
  type DeadLetter,
  decodeEntry,
  errorInfo,
  type QueueItem,
  type QueueRecord,
  type QueueStorage,
  type StoredEntry,
} from './storage.js';
import { reportUncaught } from '../internal/report-uncaught.js';

/** What a handler receives besides the item. @category Offline queue */
export interface QueueHandlerContext {
  /**
   * Aborts when the attempt's deadline (`retry.timeoutMs`) passes; `undefined` when no deadline is
   * set. Pass it on to `fetch`.
   */
  readonly signal: AbortSignal | undefined;
}

/**
 * Delivers one item, with its `idempotencyKey`. Resolve (with anything: it is passed to the
 * `processed` event) once the server has it; throw or reject otherwise — an `HttpError` with the
 * server's status, a `NetworkError` when no answer came (see {@link OfflineQueue} for what each costs).
 * @category Offline queue
 */
export type QueueHandler<P = unknown> = (item: QueueItem<P>, context: QueueHandlerContext) => unknown;

/** Options of {@link OfflineQueue}. @category Offline queue */
export interface OfflineQueueOptions<P = unknown> {
  /**
   * Where items are kept: {@link MemoryQueueStorage} (default; lost on reload),
   * {@link LocalStorageQueueStorage}, {@link IndexedDBQueueStorage}, or any {@link QueueStorage}.
   */
  storage?: QueueStorage;
  /** Delivers items whose `type` has no handler of its own. */
  handler?: QueueHandler<P>;
  /**
   * Handlers by item `type`. Items restored after a reload find their handler by type, since
   * closures do not survive a reload. {@link OfflineQueue.registerHandler} adds more later.
   */
  handlers?: Readonly<Record<string, QueueHandler<P>>>;
  /**
   * The backoff between an item's attempts (`initialDelayMs`, `maxDelayMs`, `backoffMultiplier`,
   * `jitter`, `random`, `respectRetryAfter`, `maxRetryAfterMs`), its attempt budget (`maxAttempts`,
   * default 10 here, counting only attempts the server answered), `shouldRetry(error, attempts)` for
   * answered failures, and `timeoutMs`: a deadline for one handler call (none unless given). Other
   * fields (`signal`, `maxElapsedMs`, `onRetry`) do not apply to a queue.
   */
  retry?: RetryOptions;
  /**
   * How long an item may wait before it goes to the dead-letter list, from `createdAt`, in ms.
   * Default 86400000 (24 h). Keep it at or below the server's idempotency TTL (`ttlMs`, also 24 h by
   * default): an item sent after the server forgot its key could run twice.
   */
  maxRetentionMs?: number;
  /**
   * Keeps flushes apart: only one runs at a time per lock name. Default `navigator.locks` (across
   * tabs and workers) where present, else the {@link StorageLeaseLock} of a storage that offers
   * leases (IndexedDB), else an {@link InProcessLock} shared by the queues of this realm.
   */
  lock?: QueueLock;
  /** The lock's name. Default: derived from the storage's `name`, so queues on one storage share it. */
  lockName?: string;
  /** The clock for `createdAt`, backoff, retention and auto-sync. Default {@link realClock}. */
  clock?: Clock;
}

/** Options of {@link OfflineQueue.add}. @category Offline queue */
export interface QueueAddOptions {
  /** Higher first. Default 0. */
  priority?: number;
  /** The key every delivery attempt carries. Default: a fresh {@link createIdempotencyKey}. */
  idempotencyKey?: string;
  /** Selects the handler (see `handlers`). */
  type?: string;
}

/** Options of {@link OfflineQueue.process}. @category Offline queue */
export interface ProcessOptions {
  /**
   * When another flush holds the lock (in this queue or another tab), resolve at once with
   * `skipped: true` instead of waiting for it. Default false.
   */
  ifAvailable?: boolean;
  /**
   * The network just came back: items whose last failure got no answer are due at once, whatever
   * their backoff. `startAutoSync` sets it on the `online` event.
   */
  networkRestored?: boolean;
}

/** What one {@link OfflineQueue.process} call did. @category Offline queue */
export interface ProcessResult {
  /** Items delivered (handler succeeded) and removed. */
  processed: number;
  /** Attempts that failed with the item left pending for a later attempt (or with no handler for it). */
  failed: number;
  /** Items moved to the dead-letter list (including unreadable entries found for the first time). */
  deadLettered: number;
  /** Pending and in-flight items left after the flush (not yet due, failed, or without a handler). */
  remaining: number;
  /** True when `ifAvailable` was set and another flush held the lock, so nothing was tried. */
  skipped: boolean;
}

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

/** Options of {@link OfflineQueue.startAutoSync}. @category Offline queue */
export interface AutoSyncOptions {
  /** Flush this often, in ms (skipped while the browser reports itself offline). Default 30000. */
  intervalMs?: number;
  /** Flush once at start too (items restored after a reload go out at once). Default true. */
  immediate?: boolean;
}

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

type EventName = keyof OfflineQueueEvents;
type Listeners<P> = { [K in EventName]?: ReadonlyArray<OfflineQueueEvents<P>[K]> };

const EVENT_NAMES: ReadonlySet<string> = new Set(['enqueued', 'processed', 'failed', 'deadLettered', 'drained', 'changed', 'error']);
const DEFAULT_MAX_ATTEMPTS = 10;
const DEFAULT_RETENTION_MS = 86_400_000;
const DEFAULT_AUTO_SYNC_MS = 30_000;
const MAX_KEY_LENGTH = 255;
const NO_DEADLINE: QueueHandlerContext = /* @__PURE__ */ Object.freeze({ signal: undefined });

/** How a failed attempt counts. `unanswered`: no attempt spent. `retry`: one spent. `reject`: dead letter. */
type Verdict = 'unanswered' | 'retry' | 'reject';

interface Snapshot {
  readonly live: QueueRecord[];
  readonly dead: DeadLetter[];
  /** Entries the storage returned without a usable id: reported, never addressable. */
  readonly nameless: unknown[];
}

const storageIds = new WeakMap<object, string>();
let nextStorageId = 0;

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
  private readonly storage: QueueStorage;
  private readonly clock: Clock;
  private lock: QueueLock;
  private readonly lockIsDefault: boolean;
  private readonly lockName: string;
  private readonly handler: QueueHandler<P> | undefined;
  private readonly optionHandlers = new Map<string, QueueHandler<P>>();
  private readonly registered = new Map<string, QueueHandler<P>>();
  private readonly retry: RetryOptions;
  private readonly maxAttempts: number;
  private readonly maxRetentionMs: number;
  private readonly timeoutMs: number;
  private listeners: Listeners<P> = {};
  private stateListeners: ReadonlyArray<() => void> = [];
  private current: Promise<ProcessResult> | undefined;
  private following: Promise<ProcessResult> | undefined;
  /** Ids this object is sending now; `true` once `remove`/`clear` took the item away meanwhile. */
  private readonly flying = new Map<string, boolean>();
  /** Ids of {@link hold}-ed items: their caller is sending them, so this object's flushes skip them. */
  private readonly held = new Set<string>();
  /** Unreadable entries: when first read, and whether their `deadLettered` event went out. */
  private readonly corruptSeen = new Map<string, { at: number; reported: boolean }>();
  private processedCount = 0;
  private failedCount = 0;
  private syncing = false;
  private lastSyncAt: number | undefined;
  private state: QueueState;
  private refreshing = false;
  private refreshAgain = false;
  private unsubscribeStorage: (() => void) | undefined;

  /** @param options - storage, handlers, retry, retention, lock and clock */
  constructor(options: OfflineQueueOptions<P> = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('closed-loop: new OfflineQueue(options): `options` must be an object');
    this.storage = options.storage ?? new MemoryQueueStorage();
    checkStorage(this.storage);
    this.clock = options.clock ?? realClock;
    if (options.handler !== undefined && typeof options.handler !== 'function') {
      throw new TypeError('closed-loop: OfflineQueue: `handler` must be a function');
    }
    this.handler = options.handler;
    if (options.handlers !== undefined) {
      if (typeof options.handlers !== 'object' || options.handlers === null) {
        throw new TypeError('closed-loop: OfflineQueue: `handlers` must be an object of functions by item type');
      }
      for (const [type, fn] of Object.entries(options.handlers)) {
        if (typeof fn !== 'function') throw new TypeError(`closed-loop: OfflineQueue: \`handlers.${type}\` must be a function`);
        this.optionHandlers.set(type, fn);
      }
    }
    const retry = options.retry ?? {};
    if (typeof retry !== 'object' || retry === null) throw new TypeError('closed-loop: OfflineQueue: `retry` must be an object (RetryOptions)');
    checkBackoffOptions(retry);
    checkNonNegative('timeoutMs', retry.timeoutMs);
    checkNonNegative('maxRetryAfterMs', retry.maxRetryAfterMs, true);
    if (retry.maxAttempts !== undefined && (typeof retry.maxAttempts !== 'number' || !Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1)) {
      throw new TypeError(`closed-loop: \`maxAttempts\` must be a finite integer >= 1, got ${String(retry.maxAttempts)}`);
    }
    if (retry.shouldRetry !== undefined && typeof retry.shouldRetry !== 'function') {
      throw new TypeError('closed-loop: OfflineQueue: `retry.shouldRetry` must be a function');
    }
    this.retry = retry;
    this.maxAttempts = retry.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.timeoutMs = retry.timeoutMs ?? 0;
    const retention = options.maxRetentionMs ?? DEFAULT_RETENTION_MS;
    if (typeof retention !== 'number' || !Number.isFinite(retention) || retention <= 0) {
      throw new TypeError(`closed-loop: OfflineQueue: \`maxRetentionMs\` must be a finite number > 0 (at most the server's idempotency TTL), got ${String(retention)}`);
    }
    this.maxRetentionMs = retention;
    if (options.lock !== undefined && (typeof options.lock !== 'object' || options.lock === null || typeof options.lock.request !== 'function')) {
      throw new TypeError('closed-loop: OfflineQueue: `lock` must have the Web Locks request(name, options, callback) shape');
    }
    this.lockIsDefault = options.lock === undefined;
    this.lock = options.lock ?? defaultLock(this.storage, this.clock);
    if (options.lockName !== undefined && (typeof options.lockName !== 'string' || options.lockName === '')) {
      throw new TypeError('closed-loop: OfflineQueue: `lockName` must be a non-empty string');
    }
    this.lockName = options.lockName ?? `closed-loop:offline-queue:${storageName(this.storage)}`;
    this.state = Object.freeze({
      pending: 0,
      inFlight: 0,
      deadLettered: 0,
      oldestCreatedAt: undefined,
      isSyncing: false,
      lastSyncAt: undefined,
      processed: 0,
      failed: 0,
    });
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
    this.emit('enqueued', item);
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
    const record = await this.readOne(id);
    if (record === undefined || record.state !== 'inFlight') return;
    const pending = Object.freeze({ ...withoutFlight(record), state: 'pending' }) as QueueItem<P>;
    try {
      await this.storage.put(pending);
    } catch (error) {
      // Still stored in flight: the next flush sends it all the same.
      this.emit('error', storageFailure(`release held queue item ${id}`, error, id));
    }
    this.emit('enqueued', pending);
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
    this.registered.set(type, handler);
    return () => {
      if (this.registered.get(type) === handler) this.registered.delete(type);
    };
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
      if (options.ifAvailable) return this.skippedResult();
      if (handler === undefined && !options.networkRestored) {
        this.following ??= running.then(noop, noop).then(() => {
          this.following = undefined;
          return this.process();
        });
        return this.following;
      }
      return running.then(noop, noop).then(() => this.process(handler, options));
    }
    const run = this.flush(handler, options);
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
    this.corruptSeen.delete(id);
    this.changed();
    return true;
  }

  /** Removes every item, dead letters included. */
  async clear(): Promise<void> {
    for (const id of this.flying.keys()) this.flying.set(id, true);
    this.held.clear();
    await this.storage.clear();
    this.corruptSeen.clear();
    this.changed();
  }

  /** @returns the pending and in-flight items, in the order a flush takes them */
  async getItems(): Promise<Array<QueueItem<P>>> {
    const { live } = await this.read();
    return live.sort(flushOrder) as Array<QueueItem<P>>;
  }

  /**
   * @returns the dead letters, oldest first; unreadable entries among them have reason `corrupt` and
   *   their raw stored value as `payload`
   */
  async getDeadLetters(): Promise<Array<DeadLetter<P>>> {
    const { dead } = await this.read();
    return dead.sort((a, b) => a.deadLetteredAt - b.deadLetteredAt || compareIds(a.id, b.id)) as Array<DeadLetter<P>>;
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

  /** @returns counts of the stored items and of this queue object's deliveries and failures */
  async stats(): Promise<QueueStats> {
    const { live, dead } = await this.read();
    let pending = 0;
    let inFlight = 0;
    let oldest: number | undefined;
    for (const record of live) {
      if (record.state === 'inFlight') inFlight++;
      else pending++;
      if (oldest === undefined || record.createdAt < oldest) oldest = record.createdAt;
    }
    return {
      pending,
      inFlight,
      deadLettered: dead.length,
      processed: this.processedCount,
      failed: this.failedCount,
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
    if (!EVENT_NAMES.has(event)) {
      throw new TypeError(`closed-loop: unknown OfflineQueue event ${JSON.stringify(String(event))} (use ${[...EVENT_NAMES].join(', ')})`);
    }
    if (typeof listener !== 'function') throw new TypeError('closed-loop: OfflineQueue.on(event, listener): `listener` must be a function');
    const list = (this.listeners[event] ?? []) as ReadonlyArray<OfflineQueueEvents<P>[E]>;
    this.listeners = { ...this.listeners, [event]: [...list, listener] };
    this.watchStorage();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const now = (this.listeners[event] ?? []) as ReadonlyArray<OfflineQueueEvents<P>[E]>;
      const index = now.indexOf(listener);
      if (index !== -1) this.listeners = { ...this.listeners, [event]: [...now.slice(0, index), ...now.slice(index + 1)] };
      this.watchStorage();
    };
  }

  /**
   * Subscribes to {@link getState} changes (the `useSyncExternalStore` shape). While anyone is
   * subscribed, the state is re-read from storage after each change.
   *
   * @param listener - called with no arguments when the state object was replaced
   * @returns a function that unsubscribes (idempotent)
   */
  subscribe(listener: () => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('closed-loop: OfflineQueue.subscribe(listener): `listener` must be a function');
    this.stateListeners = [...this.stateListeners, listener];
    this.watchStorage();
    this.refresh();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const index = this.stateListeners.indexOf(listener);
      if (index !== -1) this.stateListeners = [...this.stateListeners.slice(0, index), ...this.stateListeners.slice(index + 1)];
      this.watchStorage();
    };
  }

  /** @returns the current {@link QueueState}: the same object until something changes */
  getState(): QueueState {
    return this.state;
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
    const intervalMs = options.intervalMs ?? DEFAULT_AUTO_SYNC_MS;
    if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new TypeError(`closed-loop: OfflineQueue.startAutoSync: \`intervalMs\` must be a finite number > 0, got ${String(intervalMs)}`);
    }
    let stopped = false;
    let timer: TimerHandle | undefined;
    const flush = (processOptions: ProcessOptions): void => {
      if (stopped || isOffline()) return;
      this.process(undefined, processOptions).catch((error: unknown) => this.emit('error', error));
    };
    const tick = (): void => {
      timer = undefined;
      if (stopped) return;
      flush({ ifAvailable: true });
      schedule();
    };
    const schedule = (): void => {
      timer = unrefTimer(this.clock.setTimeout(tick, intervalMs));
    };
    // Back online: flush at once, after any flush under way, and without waiting out network backoffs.
    const onOnline = (): void => flush({ networkRestored: true });
    const target = globalThis as { addEventListener?: typeof addEventListener; removeEventListener?: typeof removeEventListener };
    const listens = typeof target.addEventListener === 'function' && typeof target.removeEventListener === 'function';
    if (listens) target.addEventListener!('online', onOnline);
    schedule();
    if (options.immediate !== false) flush({ ifAvailable: true });
    return () => {
      if (stopped) return;
      stopped = true;
      if (timer !== undefined) this.clock.clearTimeout(timer);
      if (listens) target.removeEventListener!('online', onOnline);
    };
  }

  // ---------------------------------------------------------------------------------------------

  private async flush(handler: QueueHandler<P> | undefined, options: ProcessOptions): Promise<ProcessResult> {
    let granted = false;
    const body = async (lock: unknown): Promise<ProcessResult> => {
      granted = true;
      if (lock === null && options.ifAvailable) return this.skippedResult();
      return this.pass(handler, options);
    };
    const lockOptions = options.ifAvailable ? { ifAvailable: true } : {};
    try {
      return await this.lock.request(this.lockName, lockOptions, body);
    } catch (error) {
      const fallback = sharedInProcessLock();
      // navigator.locks can refuse outright (a SecurityError in an opaque origin): keep flushing with
      // the in-process lock rather than never.
      if (granted || !this.lockIsDefault || this.lock === fallback) throw error;
      this.lock = fallback;
      return fallback.request(this.lockName, lockOptions, body);
    }
  }

  private async pass(handlerArg: QueueHandler<P> | undefined, options: ProcessOptions): Promise<ProcessResult> {
    const result: ProcessResult = { processed: 0, failed: 0, deadLettered: 0, remaining: 0, skipped: false };
    const tried = new Set<string>();
    this.setSyncing(true);
    try {
      for (let rounds = 0; ; rounds++) {
        const snapshot = await this.read();
        this.reportUnreadable(snapshot, result, rounds === 0);
        const round = snapshot.live.filter((record) => !tried.has(record.id)).sort(flushOrder);
        if (round.length === 0) {
          result.remaining = snapshot.live.length;
          break;
        }
        for (const record of round) {
          tried.add(record.id);
          await this.attempt(record, handlerArg, options, result);
        }
      }
    } finally {
      this.lastSyncAt = this.clock.now();
      this.setSyncing(false);
    }
    if (result.remaining === 0 && result.processed + result.deadLettered > 0) this.emit('drained');
    return result;
  }

  private async attempt(
    seen: QueueRecord,
    handlerArg: QueueHandler<P> | undefined,
    options: ProcessOptions,
    result: ProcessResult,
  ): Promise<void> {
    // Its caller is sending it: not ours to send (unless it is released, or the page dies).
    if (this.held.has(seen.id)) return;
    const now = this.clock.now();
    if (now - seen.createdAt >= this.maxRetentionMs) {
      const error = new ClosedLoopError(
        `closed-loop: queue item ${seen.id} was not delivered within maxRetentionMs (${this.maxRetentionMs} ms)`,
        'QUEUE_ITEM_EXPIRED',
        { retryable: false },
      );
      if (await this.deadLetter(seen, 'expired', error)) result.deadLettered++;
      return;
    }
    // An in-flight mark found while we hold the lock was left by a flush that died: send it again now.
    const due =
      seen.state === 'inFlight' ||
      seen.nextAttemptAt === undefined ||
      seen.nextAttemptAt <= now ||
      (options.networkRestored === true && seen.lastFailureUnanswered === true);
    if (!due) return;
    const handler = (seen.type !== undefined ? (this.registered.get(seen.type) ?? this.optionHandlers.get(seen.type)) : undefined) ?? handlerArg ?? this.handler;
    if (!handler) {
      const error = new ClosedLoopError(
        seen.type === undefined
          ? `closed-loop: no handler for queue item ${seen.id}: pass \`handler\` to the OfflineQueue or to process()`
          : `closed-loop: no handler for queue item ${seen.id} of type ${JSON.stringify(seen.type)}: register one with registerHandler(${JSON.stringify(seen.type)}, handler)`,
        'QUEUE_NO_HANDLER',
      );
      result.failed++;
      this.failedCount++;
      this.emit('failed', seen as QueueItem<P>, error);
      return;
    }
    // Read again: the snapshot may be stale (removed, retried or changed since).
    const fresh = await this.readOne(seen.id);
    if (fresh === undefined || fresh.state === 'deadLettered') return;
    const sending: QueueItem<P> = Object.freeze({ ...(fresh as QueueItem<P>), state: 'inFlight', inFlightSince: now });
    // Registered before the write, so a remove() that lands during it is not undone by it.
    this.flying.set(sending.id, false);
    try {
      await this.storage.put(sending);
    } catch (error) {
      this.flying.delete(sending.id);
      throw storageFailure(`mark queue item ${seen.id} as in flight`, error, seen.id);
    }
    if (this.flying.get(sending.id) === true) {
      this.flying.delete(sending.id);
      await this.deleteQuietly(sending.id);
      return;
    }
    this.changed();
    let value: unknown;
    let failure: { error: unknown } | undefined;
    try {
      value = await this.callHandler(handler, sending);
    } catch (error) {
      failure = { error };
    }
    const removed = this.flying.get(sending.id) === true;
    this.flying.delete(sending.id);
    if (!failure) {
      await this.deleteQuietly(sending.id);
      result.processed++;
      this.processedCount++;
      this.emit('processed', sending, value);
      this.changed();
      return;
    }
    if (removed) {
      await this.deleteQuietly(sending.id);
      return;
    }
    await this.settleFailure(sending, failure.error, result);
  }

  private async settleFailure(sending: QueueItem<P>, error: unknown, result: ProcessResult): Promise<void> {
    const { verdict: classified, retryAfterMs } = classify(error);
    let verdict = classified;
    const attempts = verdict === 'unanswered' ? sending.attempts : sending.attempts + 1;
    if (verdict !== 'unanswered' && this.retry.shouldRetry) {
      try {
        verdict = (await this.retry.shouldRetry(error, attempts)) ? 'retry' : 'reject';
      } catch (thrown) {
        this.emit('error', thrown);
      }
    }
    if (verdict === 'reject' || attempts >= this.maxAttempts) {
      const counted: QueueItem<P> = { ...sending, attempts, failures: sending.failures + 1 };
      if (await this.deadLetter(counted, verdict === 'reject' ? 'rejected' : 'exhausted', error)) result.deadLettered++;
      return;
    }
    const failures = sending.failures + 1;
    const now = this.clock.now();
    const next: QueueItem<P> = Object.freeze({
      ...withoutFlight(sending),
      attempts,
      failures,
      state: 'pending',
      nextAttemptAt: now + this.delay(failures, retryAfterMs),
      lastFailureUnanswered: verdict === 'unanswered',
      lastError: errorInfo(error),
    });
    try {
      await this.storage.put(next);
    } catch (failed) {
      // It stays marked in flight: the next flush sends it again, with its key. Nothing is lost.
      this.emit('error', storageFailure(`record the failed attempt of queue item ${sending.id}`, failed, sending.id));
    }
    result.failed++;
    this.failedCount++;
    this.emit('failed', next, error);
    this.changed();
  }

  private async deadLetter(record: QueueRecord, reason: DeadLetter['reason'], error: unknown): Promise<boolean> {
    const letter = Object.freeze({
      ...withoutFlight(record),
      state: 'deadLettered',
      reason,
      deadLetteredAt: this.clock.now(),
      lastError: errorInfo(error),
    }) as DeadLetter<P>;
    try {
      await this.storage.put(letter);
    } catch (failed) {
      this.emit('error', storageFailure(`move queue item ${record.id} to the dead letters`, failed, record.id));
      return false;
    }
    this.emit('deadLettered', letter, error);
    this.changed();
    return true;
  }

  private delay(failures: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined && this.retry.respectRetryAfter !== false && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
      return Math.min(retryAfterMs, this.retry.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS);
    }
    return computeBackoffDelay(failures, this.retry, this.retry.random ?? Math.random);
  }

  private callHandler(handler: QueueHandler<P>, item: QueueItem<P>): Promise<unknown> {
    const ms = this.timeoutMs;
    if (ms <= 0) {
      try {
        return Promise.resolve(handler(item, NO_DEADLINE));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<unknown>((resolve, reject) => {
      const controller = new AbortController();
      const timer = this.clock.setTimeout(() => {
        const error = new TimeoutError(ms, `closed-loop: the handler of queue item ${item.id} did not settle within ${ms} ms`);
        controller.abort(error);
        reject(error);
      }, ms);
      const settle = (): void => this.clock.clearTimeout(timer);
      try {
        Promise.resolve(handler(item, { signal: controller.signal })).then(
          (value) => {
            settle();
            resolve(value);
          },
          (error: unknown) => {
            settle();
            reject(error);
          },
        );
      } catch (error) {
        settle();
        reject(error);
      }
    });
  }

  private async deleteQuietly(id: string): Promise<void> {
    try {
      await this.storage.delete(id);
    } catch (error) {
      // The item stays stored: it is sent again later with the same key and the server replays.
      this.emit('error', storageFailure(`remove delivered queue item ${id}`, error, id));
    }
  }

  private async readOne(id: string): Promise<QueueRecord | undefined> {
    let entry: StoredEntry | undefined;
    try {
      entry = await this.storage.get(id);
    } catch (error) {
      throw storageFailure(`read queue item ${id}`, error, id);
    }
    if (entry === undefined || entry === null) return undefined;
    const decoded = decodeEntry({ id, value: (entry as StoredEntry).value, error: (entry as StoredEntry).error });
    // Unreadable now: left for the next round, which lists it as a dead letter.
    return decoded instanceof QueueStorageError ? undefined : decoded;
  }

  private async read(): Promise<Snapshot> {
    let entries: unknown;
    try {
      entries = await this.storage.load();
    } catch (error) {
      throw storageFailure('read the queue', error);
    }
    if (!Array.isArray(entries)) {
      throw new QueueStorageError('QUEUE_STORAGE_FAILED', `closed-loop: the queue storage's load() returned ${entries === null ? 'null' : typeof entries}, not a list of entries`);
    }
    const live: QueueRecord[] = [];
    const dead: DeadLetter[] = [];
    const nameless: unknown[] = [];
    const seenIds = new Set<string>();
    for (const entry of entries as unknown[]) {
      const id = typeof entry === 'object' && entry !== null ? (entry as { id?: unknown }).id : undefined;
      if (typeof id !== 'string' || id === '' || seenIds.has(id)) {
        nameless.push(entry);
        continue;
      }
      seenIds.add(id);
      const decoded = decodeEntry(entry as StoredEntry);
      if (decoded instanceof QueueStorageError) dead.push(this.corruptLetter(entry as StoredEntry, decoded));
      else if (decoded.state === 'deadLettered') dead.push(decoded as DeadLetter);
      else live.push(decoded);
    }
    return { live, dead, nameless };
  }

  private corruptLetter(entry: StoredEntry, error: QueueStorageError): DeadLetter {
    let seen = this.corruptSeen.get(entry.id);
    if (!seen) {
      seen = { at: this.clock.now(), reported: false };
      this.corruptSeen.set(entry.id, seen);
    }
    const raw = entry.value;
    const r = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
    return Object.freeze({
      id: entry.id,
      payload: raw,
      ...(typeof r.type === 'string' ? { type: r.type } : {}),
      priority: typeof r.priority === 'number' && Number.isFinite(r.priority) ? r.priority : 0,
      idempotencyKey: typeof r.idempotencyKey === 'string' ? r.idempotencyKey : '',
      attempts: count(r.attempts),
      failures: count(r.failures),
      createdAt: typeof r.createdAt === 'number' && Number.isFinite(r.createdAt) ? r.createdAt : seen.at,
      state: 'deadLettered',
      reason: 'corrupt',
      deadLetteredAt: seen.at,
      lastError: errorInfo(error),
    });
  }

  private reportUnreadable(snapshot: Snapshot, result: ProcessResult, reportNameless: boolean): void {
    for (const letter of snapshot.dead) {
      if (letter.reason !== 'corrupt') continue;
      const seen = this.corruptSeen.get(letter.id);
      if (!seen || seen.reported) continue;
      seen.reported = true;
      result.deadLettered++;
      this.emit(
        'deadLettered',
        letter as DeadLetter<P>,
        new QueueStorageError('QUEUE_ENTRY_UNREADABLE', letter.lastError.message, { itemId: letter.id }),
      );
    }
    // Entries without an id cannot be remembered: they are reported once per flush.
    if (!reportNameless) return;
    for (const entry of snapshot.nameless) {
      this.emit(
        'error',
        new QueueStorageError('QUEUE_ENTRY_UNREADABLE', 'closed-loop: the queue storage returned an entry without a usable id (or a repeated id); it was left where it is', {
          cause: entry,
        }),
      );
    }
  }

  private async skippedResult(): Promise<ProcessResult> {
    const { live } = await this.read();
    return { processed: 0, failed: 0, deadLettered: 0, remaining: live.length, skipped: true };
  }

  private emit<E extends EventName>(event: E, ...args: Parameters<OfflineQueueEvents<P>[E]>): void {
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

  private changed(): void {
    this.emit('changed');
    this.refresh();
  }

  private watchStorage(): void {
    const wanted = this.stateListeners.length > 0 || (this.listeners.changed?.length ?? 0) > 0;
    if (wanted && !this.unsubscribeStorage && typeof this.storage.subscribe === 'function') {
      this.unsubscribeStorage = this.storage.subscribe(() => this.changed());
    } else if (!wanted && this.unsubscribeStorage) {
      this.unsubscribeStorage();
      this.unsubscribeStorage = undefined;
    }
  }

  private setSyncing(syncing: boolean): void {
    this.syncing = syncing;
    this.setState({ ...this.state, isSyncing: syncing, lastSyncAt: this.lastSyncAt, processed: this.processedCount, failed: this.failedCount });
  }

  // Re-reads the counts for getState while anyone subscribes; changes during a read cause one more.
  private refresh(): void {
    if (this.stateListeners.length === 0) return;
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
            let pending = 0;
            let inFlight = 0;
            let oldest: number | undefined;
            for (const record of live) {
              if (record.state === 'inFlight') inFlight++;
              else pending++;
              if (oldest === undefined || record.createdAt < oldest) oldest = record.createdAt;
            }
            this.setState({
              pending,
              inFlight,
              deadLettered: dead.length,
              oldestCreatedAt: oldest,
              isSyncing: this.syncing,
              lastSyncAt: this.lastSyncAt,
              processed: this.processedCount,
              failed: this.failedCount,
            });
          } catch (error) {
            this.emit('error', error);
          }
        } while (this.refreshAgain && this.stateListeners.length > 0);
      } finally {
        this.refreshing = false;
      }
    })();
  }

  private setState(next: QueueState): void {
    const current = this.state;
    let same = true;
    for (const key of Object.keys(next) as Array<keyof QueueState>) {
      if (current[key] !== next[key]) {
        same = false;
        break;
      }
    }
    if (same) return;
    this.state = Object.freeze(next);
    for (const listener of this.stateListeners) {
      try {
        listener();
      } catch (error) {
        reportUncaught(error);
      }
    }
  }
}

/** The options of `add` and `hold`, checked once. */
function checkAddOptions(method: 'add' | 'hold', options: QueueAddOptions): { priority: number; key: string | undefined; type: string | undefined } {
  if (typeof options !== 'object' || options === null) throw new TypeError(`closed-loop: OfflineQueue.${method}(payload, options): \`options\` must be an object`);
  const priority = options.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw new TypeError(`closed-loop: OfflineQueue.${method}: \`priority\` must be a finite number, got ${String(priority)}`);
  }
  const key = options.idempotencyKey;
  if (key !== undefined && (typeof key !== 'string' || key === '' || key.length > MAX_KEY_LENGTH)) {
    throw new TypeError(`closed-loop: OfflineQueue.${method}: \`idempotencyKey\` must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
  }
  if (options.type !== undefined && (typeof options.type !== 'string' || options.type === '')) {
    throw new TypeError(`closed-loop: OfflineQueue.${method}: \`type\` must be a non-empty string`);
  }
  return { priority, key, type: options.type };
}

function classify(error: unknown): { verdict: Verdict; retryAfterMs: number | undefined } {
  let e = error;
  // A handler that retried on its own reports the last error inside RetryExhaustedError.
  for (let depth = 0; depth < 8 && isRetryExhaustedError(e); depth++) e = e.cause;
  const retryAfterMs = readRetryAfter(e) ?? readRetryAfter(error);
  if (isNetworkError(e) || isTimeoutError(e) || isCircuitBreakerError(e) || isAbort(e) || isKeyInUse(e)) {
    return { verdict: 'unanswered', retryAfterMs };
  }
  const marked = typeof e === 'object' && e !== null ? (e as { retryable?: unknown }).retryable : undefined;
  // An explicit mark wins over the status, as in isRetryableError.
  if (marked === true) return { verdict: 'retry', retryAfterMs };
  if (isHttpError(e)) {
    const rejected = e.status >= 400 && e.status < 500 && !isRetryableStatus(e.status);
    return { verdict: rejected ? 'reject' : 'retry', retryAfterMs };
  }
  if (isIdempotencyError(e)) return { verdict: e.code === 'STORE_UNAVAILABLE' ? 'retry' : 'reject', retryAfterMs };
  if (marked === false) return { verdict: 'reject', retryAfterMs };
  return { verdict: 'retry', retryAfterMs };
}

// The first delivery with this key is still running on the server (problem+json code KEY_IN_USE).
function isKeyInUse(error: unknown): boolean {
  if (isIdempotencyError(error)) return error.code === 'KEY_IN_USE';
  if (isHttpError(error) && error.status === 409) {
    const body = error.body as { code?: unknown } | null | undefined;
    return typeof body === 'object' && body !== null && body.code === 'KEY_IN_USE';
  }
  return false;
}

function isAbort(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

function readRetryAfter(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function flushOrder(a: QueueRecord, b: QueueRecord): number {
  return b.priority - a.priority || a.createdAt - b.createdAt || compareIds(a.id, b.id);
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function withoutFlight<T extends QueueRecord>(record: T): T {
  if (record.inFlightSince === undefined) return record;
  const { inFlightSince: _dropped, ...rest } = record;
  return rest as T;
}

function addFailure(error: unknown): Error {
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

function storageFailure(what: string, error: unknown, itemId?: string): QueueStorageError {
  if (error instanceof QueueStorageError) return error;
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new QueueStorageError(
    isQuotaExceeded(error) ? 'QUEUE_QUOTA_EXCEEDED' : 'QUEUE_STORAGE_FAILED',
    `closed-loop: the offline queue storage could not ${what}${detail}`,
    itemId === undefined ? { cause: error } : { cause: error, itemId },
  );
}

function checkStorage(storage: QueueStorage): void {
  const s = storage as Partial<QueueStorage> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.load !== 'function' ||
    typeof s.get !== 'function' ||
    typeof s.put !== 'function' ||
    typeof s.delete !== 'function' ||
    typeof s.clear !== 'function'
  ) {
    throw new TypeError('closed-loop: OfflineQueue: `storage` must implement QueueStorage (load, get, put, delete, clear)');
  }
}

function storageName(storage: QueueStorage): string {
  if (typeof storage.name === 'string' && storage.name !== '') return storage.name;
  let id = storageIds.get(storage);
  if (id === undefined) {
    id = `unnamed:${++nextStorageId}`;
    storageIds.set(storage, id);
  }
  return id;
}

function isOffline(): boolean {
  return (globalThis as { navigator?: { onLine?: unknown } }).navigator?.onLine === false;
}

function noop(): void {}

