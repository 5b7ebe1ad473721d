import { type Clock, realClock } from '../clock/clock.js';
import { checkFunction, checkNumber, finiteNumber, hasMethods, nonNegative, type NumberRule, optionError, positive } from '../internal/validate.js';
import { checkAttemptsAndDelays, type RetryOptions } from '../retry/options.js';
import type { QueueHandler } from './handlers.js';
import { defaultLock, type QueueLock } from './lock.js';
import { MemoryQueueStorage } from './memory-storage.js';
import type { QueueStorage } from './storage.js';

// The options of an OfflineQueue and of its add/hold, checked once (a wrong one throws a TypeError
// at construction or at the call, never later in a flush) and turned into settings.

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

/** {@link OfflineQueueOptions} checked, with their defaults filled in. */
export interface QueueSettings<P> {
  readonly storage: QueueStorage;
  readonly clock: Clock;
  readonly handler: QueueHandler<P> | undefined;
  readonly handlers: ReadonlyMap<string, QueueHandler<P>>;
  readonly retry: RetryOptions;
  readonly maxAttempts: number;
  readonly maxRetentionMs: number;
  /** A deadline for one handler call in ms; 0 for none. */
  readonly timeoutMs: number;
  readonly lock: QueueLock;
  /** Whether `lock` is the default one, which a flush may swap for the in-process lock. */
  readonly lockIsDefault: boolean;
  readonly lockName: string;
}

const DEFAULT_MAX_ATTEMPTS = 10;
const DEFAULT_RETENTION_MS = 86_400_000;
const RETENTION: NumberRule = { text: "a finite number > 0 (at most the server's idempotency TTL)", test: (value) => positive.test(value) };
const MAX_KEY_LENGTH = 255;

const storageIds = new WeakMap<object, string>();
let nextStorageId = 0;

/** Checks the options of `new OfflineQueue(options)`, in the order they are documented, and fills in defaults. */
export function queueSettings<P>(options: OfflineQueueOptions<P>): QueueSettings<P> {
  if (typeof options !== 'object' || options === null) throw new TypeError('closed-loop: new OfflineQueue(options): `options` must be an object');
  const storage = options.storage ?? new MemoryQueueStorage();
  checkStorage(storage);
  const clock = options.clock ?? realClock;
  checkFunction('handler', options.handler, 'OfflineQueue');
  const handlers = new Map<string, QueueHandler<P>>();
  if (options.handlers !== undefined) {
    if (typeof options.handlers !== 'object' || options.handlers === null) {
      throw new TypeError('closed-loop: OfflineQueue: `handlers` must be an object of functions by item type');
    }
    for (const [type, fn] of Object.entries(options.handlers)) {
      if (typeof fn !== 'function') throw optionError(`handlers.${type}`, 'a function', 'OfflineQueue');
      handlers.set(type, fn);
    }
  }
  const retry = options.retry ?? {};
  if (typeof retry !== 'object' || retry === null) throw new TypeError('closed-loop: OfflineQueue: `retry` must be an object (RetryOptions)');
  const maxAttempts = checkAttemptsAndDelays(retry, DEFAULT_MAX_ATTEMPTS);
  // The deadline of one handler call: finite here (0, the default, is none).
  checkNumber('timeoutMs', retry.timeoutMs, nonNegative);
  checkFunction('retry.shouldRetry', retry.shouldRetry, 'OfflineQueue');
  const maxRetentionMs = options.maxRetentionMs ?? DEFAULT_RETENTION_MS;
  checkNumber('maxRetentionMs', maxRetentionMs, RETENTION, 'OfflineQueue');
  if (options.lock !== undefined && !hasMethods(options.lock, ['request'])) {
    throw new TypeError('closed-loop: OfflineQueue: `lock` must have the Web Locks request(name, options, callback) shape');
  }
  const lock = options.lock ?? defaultLock(storage, clock);
  if (options.lockName !== undefined && (typeof options.lockName !== 'string' || options.lockName === '')) {
    throw new TypeError('closed-loop: OfflineQueue: `lockName` must be a non-empty string');
  }
  return {
    storage,
    clock,
    handler: options.handler,
    handlers,
    retry,
    maxAttempts,
    maxRetentionMs,
    timeoutMs: retry.timeoutMs ?? 0,
    lock,
    lockIsDefault: options.lock === undefined,
    lockName: options.lockName ?? `closed-loop:offline-queue:${storageName(storage)}`,
  };
}

/** The options of `add` and `hold`, checked once. */
export function checkAddOptions(method: 'add' | 'hold', options: QueueAddOptions): { priority: number; key: string | undefined; type: string | undefined } {
  if (typeof options !== 'object' || options === null) throw new TypeError(`closed-loop: OfflineQueue.${method}(payload, options): \`options\` must be an object`);
  const priority = options.priority ?? 0;
  checkNumber('priority', priority, finiteNumber, `OfflineQueue.${method}`);
  const key = options.idempotencyKey;
  if (key !== undefined && (typeof key !== 'string' || key === '' || key.length > MAX_KEY_LENGTH)) {
    throw new TypeError(`closed-loop: OfflineQueue.${method}: \`idempotencyKey\` must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
  }
  if (options.type !== undefined && (typeof options.type !== 'string' || options.type === '')) {
    throw new TypeError(`closed-loop: OfflineQueue.${method}: \`type\` must be a non-empty string`);
  }
  return { priority, key, type: options.type };
}

function checkStorage(storage: QueueStorage): void {
  if (!hasMethods(storage, ['load', 'get', 'put', 'delete', 'clear'])) {
    throw new TypeError('closed-loop: OfflineQueue: `storage` must implement QueueStorage (load, get, put, delete, clear)');
  }
}

// The default lock name: queues on storages of one name share it; an unnamed storage object is its own queue.
function storageName(storage: QueueStorage): string {
  if (typeof storage.name === 'string' && storage.name !== '') return storage.name;
  let id = storageIds.get(storage);
  if (id === undefined) {
    id = `unnamed:${++nextStorageId}`;
    storageIds.set(storage, id);
  }
  return id;
}
