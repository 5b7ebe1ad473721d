import type { CircuitBreakerOptions } from '../breaker/options.js';
import type { Clock } from '../clock/clock.js';
import type { CircuitState } from '../errors/errors.js';
import type { RetryOptions } from '../retry/options.js';
import type { RetryBudget, RetryBudgetOptions } from './retry-budget.js';

/** HTTP methods the client sends. Others are refused with a TypeError before anything is sent. @category Client */
export type SyncMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Header values as a plain object, a `Headers` object or a list of name/value pairs. @category Client */
export type SyncHeaders = Headers | Record<string, string | undefined> | ReadonlyArray<readonly [string, string]>;

/**
 * Headers added to every attempt: an object, or a function (sync or async) read again before every
 * attempt, so a token refreshed after a 401 or between retries is the one the next attempt sends.
 * @category Client
 */
export type SyncHeadersOption = SyncHeaders | (() => SyncHeaders | undefined | PromiseLike<SyncHeaders | undefined>);

/** How a call picks among several `baseUrl`s. @category Client */
export type LoadBalancing = 'failover' | 'round-robin';

/**
 * The part of an `OfflineQueue` the client uses. The queue of `closed-loop` fits it; so does any
 * object with the same methods.
 * @category Client
 */
export interface SyncClientQueue {
  /** Stores an item durably. */
  add(
    payload: unknown,
    options?: { priority?: number; idempotencyKey?: string; type?: string },
  ): Promise<{
    /** The stored item's id. */
    id: string;
    /** The key it will be delivered with. */
    idempotencyKey?: string;
  }>;
  /** Registers the handler of every item of `type`; returns a function that unregisters it. */
  registerHandler(type: string, handler: (item: SyncQueueItem, context?: { signal?: AbortSignal | undefined }) => unknown): () => void;
  /** Delivers the stored items. */
  process(handler?: (item: SyncQueueItem) => unknown): Promise<unknown>;
  /**
   * Stores an item its caller is sending itself, which the queue's flushes leave alone until
   * `release` (durable mutations need it, with `release` and `remove`).
   */
  hold?(
    payload: unknown,
    options?: { priority?: number; idempotencyKey?: string; type?: string },
  ): Promise<{
    /** The stored item's id. */
    id: string;
  }>;
  /** Hands a held item over to the flushes. */
  release?(id: string): Promise<unknown>;
  /** Removes an item. */
  remove?(id: string): Promise<unknown>;
  /** Subscribes to `processed` and `deadLettered`; returns an unsubscribe function. */
  on(event: 'processed', listener: (item: SyncQueueItem, result: unknown) => void): unknown;
  /** Subscribes to `processed` and `deadLettered`; returns an unsubscribe function. */
  on(event: 'deadLettered', listener: (item: SyncQueueItem, error: unknown) => void): unknown;
}

/** A queue item as the client's handler receives it. @category Client */
export interface SyncQueueItem {
  /** The item's id. */
  id: string;
  /** What the client stored: {@link QueuedRequest} for items of the client's type. */
  payload: unknown;
  /** The item's type. */
  type?: string;
  /** The idempotency key it is delivered with. */
  idempotencyKey?: string;
}

/** What the client stores in its offline queue for one mutation. @category Client */
export interface QueuedRequest {
  /** The HTTP method. */
  method: SyncMethod;
  /** The path, relative to a `baseUrl`. */
  path: string;
  /** The body: a string is sent as it is, anything else as JSON; absent for none. */
  body?: unknown;
  /**
   * The call's own headers (never the client-level `headers`, which may hold credentials and are
   * read again when the item is delivered).
   */
  headers?: Record<string, string>;
}

/** Options of {@link createSyncClient}. @category Client */
export interface SyncClientOptions {
  /**
   * The server, or a list of servers tried in turn (see `loadBalancing`). Relative URLs are resolved
   * against `location` in browsers.
   */
  baseUrl: string | readonly string[];
  /** The fetch function. Default `globalThis.fetch`, read at each attempt. */
  fetch?: typeof globalThis.fetch;
  /** Headers for every attempt; a function is read again before every attempt (token refresh). */
  headers?: SyncHeadersOption;
  /**
   * Retry options for every call (a call may override them), or `false` for a single attempt. The
   * client's `clock` is used unless one is given here. Default: {@link RetryOptions}' defaults.
   */
  retry?: RetryOptions | false;
  /** Options of the circuit breaker kept for each server, or `false` for none. Default: the breaker's defaults. */
  breaker?: CircuitBreakerOptions | false;
  /** Where mutations that cannot reach a server are kept for later delivery. Default: none. */
  offlineQueue?: SyncClientQueue | false;
  /**
   * Make every POST, PUT, PATCH and DELETE durable (see {@link SyncRequestOptions.durable}); a call or
   * a `mutation()` may say otherwise. Needs `offlineQueue`. Default false.
   */
  durable?: boolean;
  /** The item `type` the client stores in (and handles from) `offlineQueue`. Default `'closed-loop/request'`. */
  queueItemType?: string;
  /** The header carrying the idempotency key. Default `'Idempotency-Key'`. */
  idempotencyHeader?: string;
  /** `'failover'` (default) starts every call at the first healthy server; `'round-robin'` rotates. */
  loadBalancing?: LoadBalancing;
  /** Identical GETs in flight at once share one request. Default true. */
  dedupe?: boolean;
  /**
   * Remembers the `ETag` of GET responses and revalidates with `If-None-Match`; a 304 answers with
   * the cached data. `{ maxEntries }` bounds it (default 500). Default true.
   */
  etagCache?:
    | boolean
    | {
        /** How many GET answers are kept, least recently used out first. Default 500. */
        maxEntries?: number;
      };
  /**
   * A retry budget shared by every call of this client (or by several clients, when given a
   * {@link RetryBudget}): retries spend it, first attempts earn it, and when it is empty a failed
   * call fails at once instead of retrying. `true` for the defaults. Default: off.
   */
  retryBudget?: RetryBudgetOptions | RetryBudget | boolean;
  /** The clock for backoff, breakers and the retry budget. Default the real one. */
  clock?: Clock;
}

/** Options of one call. @category Client */
export interface SyncRequestOptions {
  /** The body: a string, `Blob`, `FormData`, `URLSearchParams` or buffer is sent as it is; anything else as JSON. */
  body?: unknown;
  /** Headers of this call, on top of the client's. */
  headers?: SyncHeaders;
  /** Aborting it rejects the call with `signal.reason` and stops its retries. */
  signal?: AbortSignal;
  /** The idempotency key of a POST, PUT, PATCH or DELETE. Default: a fresh one per call. */
  idempotencyKey?: string;
  /**
   * For a mutation: when no server can be reached (network failures, every breaker open, or the
   * browser offline), put it in the client's `offlineQueue` and reject with `OfflineQueuedError`.
   */
  queueWhenOffline?: boolean;
  /**
   * For a mutation: write it to the client's `offlineQueue` (with its key) before the first send, and
   * take it out only when the server has given a final answer (a success, or an error that will not
   * be retried). If the page is reloaded, closed or crashes meanwhile, the queue's next flush sends it
   * again with the same key, so the server runs it once. When it cannot get through now (offline,
   * network failures, or retries used up), it stays queued and the call rejects with
   * `OfflineQueuedError`, whose `delivery` settles when the queue delivers it. Aborting the call's
   * `signal` takes it out of the queue. The body must be storable (JSON or a string). Default: the
   * client's `durable`.
   */
  durable?: boolean;
  /** Retry options of this call, merged over the client's; `false` for a single attempt. */
  retry?: RetryOptions | false;
  /** Called as each attempt starts, with its number and the most attempts the call may make. */
  onAttempt?: (attempt: number, maxAttempts: number) => void;
}

/** A successful answer. @category Client */
export interface SyncResponse<T = unknown> {
  /** The HTTP status (for a 304 served from the ETag cache: the cached response's status). */
  status: number;
  /** Response headers, names lower-cased. */
  headers: Record<string, string>;
  /** The body: parsed JSON when the response says JSON, text otherwise, `undefined` when empty. */
  data: T;
  /** The idempotency key the call carried (POST, PUT, PATCH, DELETE). */
  idempotencyKey?: string;
  /** Whether the server answered from its idempotency store (`Idempotent-Replayed: true`). */
  replayed: boolean;
  /** Whether the data came from the ETag cache after a 304. */
  fromCache: boolean;
}

/** One server as {@link SyncClient.getServers} reports it. @category Client */
export interface SyncServerInfo {
  /** The base URL. */
  url: string;
  /** Its breaker's state (`'CLOSED'` when breakers are off). */
  state: CircuitState;
  /** Requests to it in flight now. */
  inFlight: number;
}
