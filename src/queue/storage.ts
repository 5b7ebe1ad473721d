import { describeValue } from '../internal/validate.js';
import { QueueStorageError } from './errors.js';

/**
 * Where a queued item stands. `inFlight`: a flush is sending it (or was, when that flush died: the
 * next flush sends it again with the same key). `deadLettered`: it will not be sent again unless
 * {@link OfflineQueue.retryDeadLetter} puts it back.
 * @category Offline queue
 */
export type QueueItemState = 'pending' | 'inFlight' | 'deadLettered';

/**
 * Why an item went to the dead-letter list: the server refused it (`rejected`: a 4xx other than
 * 408/425/429, or `shouldRetry` said no), it ran out of attempts (`exhausted`), it outlived
 * `maxRetentionMs` (`expired`), or its stored entry could not be read (`corrupt`).
 * @category Offline queue
 */
export type DeadLetterReason = 'rejected' | 'exhausted' | 'expired' | 'corrupt';

/** An error as stored with an item: plain data, so it survives JSON and structured cloning. @category Offline queue */
export interface QueueErrorInfo {
  /** The error's `name` (`HttpError`, `NetworkError`, `TypeError`…). */
  readonly name: string;
  /** The error's message, cut to 1000 characters. */
  readonly message: string;
  /** The error's `code`, when it has a string one. */
  readonly code?: string;
  /** The HTTP status, for an `HttpError`. */
  readonly status?: number;
}

/** One queued item, as stored and as handed to handlers and listeners. @category Offline queue */
export interface QueueItem<P = unknown> {
  /** The item's id (a UUID v7), unique in its storage. */
  readonly id: string;
  /** What was passed to {@link OfflineQueue.add}. */
  readonly payload: P;
  /** Selects the handler that delivers it (see `handlers` and {@link OfflineQueue.registerHandler}). */
  readonly type?: string;
  /** Higher first; FIFO within one priority. */
  readonly priority: number;
  /** Sent with every delivery attempt of this item, so the server runs it once. */
  readonly idempotencyKey: string;
  /** Delivery attempts the server answered (failed ones); network failures are not counted. */
  readonly attempts: number;
  /** Failed delivery attempts of any kind, answered or not: drives the backoff. */
  readonly failures: number;
  /** When it was added (or last put back from the dead letters), epoch ms on the queue's clock. */
  readonly createdAt: number;
  /** Where it stands. */
  readonly state: QueueItemState;
  /** After a failure: no attempt before this time (epoch ms). */
  readonly nextAttemptAt?: number;
  /** Whether the last failure got no answer from the server (a network failure). */
  readonly lastFailureUnanswered?: boolean;
  /** The last failure, if any. */
  readonly lastError?: QueueErrorInfo;
  /** While `inFlight`: when the flush that sends it started sending it. */
  readonly inFlightSince?: number;
}

/** An item on the dead-letter list. @category Offline queue */
export interface DeadLetter<P = unknown> extends QueueItem<P> {
  /** Always `deadLettered`. */
  readonly state: 'deadLettered';
  /** Why it is here. */
  readonly reason: DeadLetterReason;
  /** When it went to the dead-letter list (for a `corrupt` entry: when this queue first read it). */
  readonly deadLetteredAt: number;
  /** The error that sent it here. */
  readonly lastError: QueueErrorInfo;
}

/**
 * What a {@link QueueStorage} keeps under an item's id: a pending or in-flight {@link QueueItem}, or a
 * {@link DeadLetter}. Plain data (JSON for {@link LocalStorageQueueStorage}).
 * @category Offline queue
 */
export type QueueRecord<P = unknown> = QueueItem<P> | DeadLetter<P>;

/**
 * One entry as a {@link QueueStorage} read it: the decoded `value` (checked by the queue, which
 * dead-letters values of the wrong shape), or the `error` that kept it from being decoded.
 * @category Offline queue
 */
export interface StoredEntry {
  /** The id the entry is stored under. */
  readonly id: string;
  /** The decoded value; meaningful when `error` is absent. */
  readonly value?: unknown;
  /** Set when the entry could not be decoded (for example corrupt JSON). */
  readonly error?: unknown;
}

/** Options of {@link QueueStorage.put}. @category Offline queue */
export interface QueuePutOptions {
  /**
   * Whether the write must be on disk when `put` resolves (`add` asks for it). Other writes
   * (in-flight marks, attempt counts) may be relaxed: losing one only means an item is sent again
   * with its key.
   */
  readonly durable?: boolean;
}

/**
 * Where an {@link OfflineQueue} keeps its items. Implement it to store items elsewhere; the queue
 * checks everything it reads, so a storage may hand back anything it holds.
 *
 * Each method works on one entry, so a storage shared by tabs never loses another tab's write.
 * @category Offline queue
 */
export interface QueueStorage {
  /**
   * Identifies the stored items across tabs and instances: two storages with the same `name` hold the
   * same items, and the flush lock is named after it. Without one, each storage object is its own
   * queue and flushes are not kept apart across tabs.
   */
  readonly name?: string;
  /** Every entry, in any order. */
  load(): Promise<readonly StoredEntry[]>;
  /** One entry, or `undefined` when there is none under `id`. */
  get(id: string): Promise<StoredEntry | undefined>;
  /** Stores `record` under `record.id`, replacing what was there. A full storage rejects (`QuotaExceededError`) and keeps what it had. */
  put(record: QueueRecord, options?: QueuePutOptions): Promise<void>;
  /** Removes the entry under `id` (nothing if there is none). */
  delete(id: string): Promise<void>;
  /** Removes every entry of this queue. */
  clear(): Promise<void>;
  /**
   * Optional: calls `listener` when another tab or instance changed the entries, so the queue can
   * report `changed`. Returns a function that stops it.
   */
  subscribe?(listener: () => void): () => void;
}

const STATES: ReadonlySet<unknown> = new Set(['pending', 'inFlight', 'deadLettered']);
const REASONS: ReadonlySet<unknown> = new Set(['rejected', 'exhausted', 'expired', 'corrupt']);

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function optional(value: unknown, check: (v: unknown) => boolean): boolean {
  return value === undefined || check(value);
}

function isErrorInfo(value: unknown): value is QueueErrorInfo {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.name === 'string' && typeof e.message === 'string';
}

/**
 * Checks an entry a storage handed back. Returns the record, or the reason it cannot be used (as a
 * {@link QueueStorageError} `QUEUE_ENTRY_UNREADABLE`).
 *
 * @internal
 */
export function decodeEntry(entry: StoredEntry): QueueRecord | QueueStorageError {
  const id = entry.id;
  if (entry.error !== undefined) {
    return new QueueStorageError('QUEUE_ENTRY_UNREADABLE', `closed-loop: the stored queue entry ${id} cannot be decoded`, {
      cause: entry.error,
      itemId: id,
    });
  }
  const problem = shapeProblem(entry.value, id);
  if (problem === undefined) return entry.value as QueueRecord;
  return new QueueStorageError('QUEUE_ENTRY_UNREADABLE', `closed-loop: the stored queue entry ${id} is not a queue item: ${problem}`, {
    itemId: id,
  });
}

function shapeProblem(value: unknown, id: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `expected an object, found ${describeStored(value)}`;
  const r = value as Record<string, unknown>;
  if (r.id !== id) return 'its id does not match the key it is stored under';
  if (typeof r.idempotencyKey !== 'string' || r.idempotencyKey === '') return 'no idempotencyKey';
  if (typeof r.priority !== 'number' || !Number.isFinite(r.priority)) return 'no finite priority';
  if (!isCount(r.attempts) || !isCount(r.failures)) return 'attempts or failures is not a count';
  if (!isTime(r.createdAt)) return 'no createdAt time';
  if (!STATES.has(r.state)) return `unknown state ${describeStored(r.state)}`;
  if (!optional(r.type, (t) => typeof t === 'string')) return 'type is not a string';
  if (!optional(r.nextAttemptAt, isTime) || !optional(r.inFlightSince, isTime)) return 'a time field is not a number';
  if (!optional(r.lastError, isErrorInfo)) return 'lastError is not an error description';
  if (r.state === 'deadLettered') {
    if (!REASONS.has(r.reason) || !isTime(r.deadLetteredAt) || !isErrorInfo(r.lastError)) return 'a dead letter without reason, time or error';
  }
  return undefined;
}

/** A stored value described for a message, a long string cut short (a corrupt entry may hold anything). */
function describeStored(value: unknown): string {
  return describeValue(typeof value === 'string' && value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/**
 * A plain-data description of an error, small enough to store with an item.
 *
 * @internal
 */
export function errorInfo(error: unknown): QueueErrorInfo {
  if (typeof error === 'object' && error !== null) {
    const e = error as { name?: unknown; message?: unknown; code?: unknown; status?: unknown };
    const info: { name: string; message: string; code?: string; status?: number } = {
      name: typeof e.name === 'string' ? e.name : 'Error',
      message: cut(typeof e.message === 'string' ? e.message : String(error)),
    };
    if (typeof e.code === 'string') info.code = e.code;
    if (typeof e.status === 'number' && Number.isFinite(e.status)) info.status = e.status;
    return info;
  }
  return { name: 'Error', message: cut(String(error)) };
}

function cut(text: string): string {
  return text.length > 1000 ? `${text.slice(0, 999)}…` : text;
}

/**
 * The record without its in-flight mark (`inFlightSince`), for a record that is no longer being sent.
 *
 * @internal
 */
export function withoutFlight<T extends QueueRecord>(record: T): T {
  if (record.inFlightSince === undefined) return record;
  const { inFlightSince: _dropped, ...rest } = record;
  return rest as T;
}
