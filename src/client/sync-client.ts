import { type Clock, realClock } from '../clock/clock.js';
import {
  ClosedLoopError,
  HttpError,
  isCircuitBreakerError,
  isNetworkError,
  isOfflineQueuedError,
  isRetryExhaustedError,
  NetworkError,
  OfflineQueuedError,
  RetryExhaustedError,
} from '../errors/errors.js';
import { createIdempotencyKey } from '../idempotency/key.js';
import { checkBackoffOptions, checkMaxAttempts, checkNonNegative, DEFAULT_MAX_ATTEMPTS, type RetryContext, type RetryOptions } from '../retry/options.js';
import { retryWithBackoff } from '../retry/retry.js';
import { isRetryableError } from '../retry/should-retry.js';
import { EtagCache, type EtagEntry } from './etag-cache.js';
import {
  checkHeaderName,
  checkMethod,
  checkPath,
  type EncodedBody,
  encodeBody,
  headersKey,
  headersRecord,
  isSafeMethod,
  mergeHeaders,
  parseBaseUrls,
  parseBody,
} from './http.js';
import { SyncMutation, type SyncMutationOptions } from './mutation.js';
import type {
  QueuedRequest,
  SyncClientOptions,
  SyncClientQueue,
  SyncHeaders,
  SyncHeadersOption,
  SyncMethod,
  SyncQueueItem,
  SyncRequestOptions,
  SyncResponse,
  SyncServerInfo,
} from './options.js';
import { checkHoldingQueue, forget, queuedRequest } from './durable.js';
import { RetryBudget } from './retry-budget.js';
import { CallerAbort, type Server, ServerPool } from './servers.js';

/** The item type a client stores in its offline queue unless told otherwise. @category Client */
export const SYNC_REQUEST_ITEM_TYPE = 'closed-loop/request';

/** Options of a GET or DELETE helper call. @category Client */
export type SyncGetOptions = Omit<SyncRequestOptions, 'body'>;

/**
 * A fetch client that makes every mutation exactly-once: one idempotency key per call, the same on
 * every retry, failover and offline replay. Made by {@link createSyncClient}.
 * @category Client
 */
export interface SyncClient {
  /**
   * Sends a request, retrying what may succeed on another try.
   *
   * @param method - GET, HEAD, OPTIONS, POST, PUT, PATCH or DELETE
   * @param path - relative to the `baseUrl` (query string included)
   * @param options - body, headers, signal, idempotency key, offline queueing, retry overrides
   * @returns the answer; rejects with `HttpError` (an answer that retrying cannot fix),
   *   `RetryExhaustedError` (retries used up; `cause` is the last error), `CircuitBreakerError`
   *   (every server's breaker open before any attempt), `OfflineQueuedError` (queued), or the
   *   signal's reason
   */
  request<T = unknown>(method: string, path: string, options?: SyncRequestOptions): Promise<SyncResponse<T>>;
  /**
   * A GET: retried freely, shared with identical GETs in flight, revalidated with its ETag.
   * @param path - relative to the `baseUrl`
   * @param options - see {@link SyncRequestOptions}
   */
  get<T = unknown>(path: string, options?: SyncGetOptions): Promise<SyncResponse<T>>;
  /**
   * A DELETE, with an idempotency key.
   * @param path - relative to the `baseUrl`
   * @param options - see {@link SyncRequestOptions}
   */
  delete<T = unknown>(path: string, options?: SyncGetOptions): Promise<SyncResponse<T>>;
  /**
   * A POST, with an idempotency key.
   * @param path - relative to the `baseUrl`
   * @param body - sent as JSON unless a string, Blob, buffer, FormData or URLSearchParams
   * @param options - see {@link SyncRequestOptions}
   */
  post<T = unknown>(path: string, body?: unknown, options?: SyncGetOptions): Promise<SyncResponse<T>>;
  /**
   * A PUT, with an idempotency key.
   * @param path - relative to the `baseUrl`
   * @param body - sent as JSON unless a string, Blob, buffer, FormData or URLSearchParams
   * @param options - see {@link SyncRequestOptions}
   */
  put<T = unknown>(path: string, body?: unknown, options?: SyncGetOptions): Promise<SyncResponse<T>>;
  /**
   * A PATCH, with an idempotency key.
   * @param path - relative to the `baseUrl`
   * @param body - sent as JSON unless a string, Blob, buffer, FormData or URLSearchParams
   * @param options - see {@link SyncRequestOptions}
   */
  patch<T = unknown>(path: string, body?: unknown, options?: SyncGetOptions): Promise<SyncResponse<T>>;
  /**
   * An observer of one mutation endpoint for a UI: `mutate(vars)`, `subscribe`, `getState`.
   * @param method - usually POST, PUT, PATCH or DELETE
   * @param path - relative to the `baseUrl`
   * @param options - headers, retry and offline queueing for every `mutate`
   */
  mutation<TData = unknown, TVars = unknown>(
    method: string,
    path: string,
    options?: SyncMutationOptions,
  ): SyncMutation<TData, TVars>;
  /** Each server with its breaker state and the requests in flight to it. */
  getServers(): SyncServerInfo[];
  /**
   * Delivers the offline queue now (`queue.process()`); resolves with its result. Rejects with a
   * TypeError when the client has no `offlineQueue`.
   */
  syncOfflineQueue(): Promise<unknown>;
  /** The client's retry budget, if it has one (for its stats). */
  readonly retryBudget: RetryBudget | undefined;
  /** Forgets every cached ETag. */
  clearCache(): void;
  /**
   * Unregisters the client from its offline queue and from the `online` event. Items already
   * queued stay in the queue; calls in flight finish.
   */
  close(): void;
}

/**
 * Makes a {@link SyncClient}.
 *
 * @example
 * ```ts
 * const api = createSyncClient({
 *   baseUrl: ['https://eu.api.example.com', 'https://us.api.example.com'],
 *   headers: async () => ({ authorization: `Bearer ${await getToken()}` }),
 *   retry: { maxAttempts: 4 },
 * })
 * const { data, replayed } = await api.post('/orders', { sku: 'A1', qty: 2 })
 * ```
 *
 * @param options - see {@link SyncClientOptions}
 * @category Client
 */
export function createSyncClient(options: SyncClientOptions): SyncClient {
  return new Client(options);
}

/** Everything one call needs, computed once before its first attempt. */
interface Call {
  method: SyncMethod;
  path: string;
  body: EncodedBody;
  bodyValue: unknown;
  /** The call's own headers, lower-cased. */
  headers: Record<string, string> | undefined;
  key: string | undefined;
  signal: AbortSignal | undefined;
  retry: RetryOptions | false;
  maxAttempts: number;
  onAttempt: ((attempt: number, maxAttempts: number) => void) | undefined;
  queueable: boolean;
  /** Written to the queue before the first send (see `SyncRequestOptions.durable`). */
  durable: boolean;
  /** The id of the queue item a durable call holds while it sends. */
  held: string | undefined;
  /** Path plus call headers: the dedupe and ETag key of a GET. */
  cacheKey: string;
  /** Where the next attempt starts looking for a server. */
  cursor: number;
  /** The ETag entry whose tag the current attempt sent. */
  etagEntry: EtagEntry | undefined;
}

/** An in-flight GET that identical GETs join. */
interface SharedGet {
  promise: Promise<SyncResponse<unknown>>;
  controller: AbortController | undefined;
  interested: number;
}

interface Waiter {
  resolve: (response: SyncResponse<unknown>) => void;
  reject: (error: unknown) => void;
}

const DEFAULT_ETAG_ENTRIES = 500;
const noop = (): void => {};

class Client implements SyncClient {
  readonly retryBudget: RetryBudget | undefined;
  private readonly pool: ServerPool;
  private readonly clock: Clock;
  private readonly fetchOption: typeof globalThis.fetch | undefined;
  private readonly staticHeaders: Record<string, string> | undefined;
  private readonly headersFn: (() => SyncHeaders | undefined | PromiseLike<SyncHeaders | undefined>) | undefined;
  private readonly retry: RetryOptions | false;
  private readonly keyHeader: string;
  private readonly dedupe: boolean;
  private readonly etags: EtagCache | undefined;
  private readonly queue: SyncClientQueue | undefined;
  private readonly itemType: string;
  private readonly durable: boolean;
  private readonly inflight = new Map<string, SharedGet>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly cleanups: Array<() => void> = [];

  constructor(options: SyncClientOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('closed-loop: createSyncClient needs an options object with a `baseUrl`');
    }
    const urls = parseBaseUrls(options.baseUrl);
    this.clock = checkClock(options.clock) ?? realClock;
    if (options.fetch !== undefined && typeof options.fetch !== 'function') {
      throw new TypeError('closed-loop: `fetch` must be a function');
    }
    this.fetchOption = options.fetch;
    const headers: SyncHeadersOption | undefined = options.headers;
    if (typeof headers === 'function') this.headersFn = headers;
    else if (headers !== undefined) this.staticHeaders = mergeHeaders({}, headers);
    const retry = options.retry;
    if (retry !== undefined && retry !== false && (typeof retry !== 'object' || retry === null)) {
      throw new TypeError('closed-loop: `retry` must be retry options or false');
    }
    this.retry = retry === false ? false : checkRetry({ clock: this.clock, ...retry });
    this.keyHeader = checkHeaderName(options.idempotencyHeader ?? 'Idempotency-Key');
    const mode = options.loadBalancing ?? 'failover';
    if (mode !== 'failover' && mode !== 'round-robin') {
      throw new TypeError(`closed-loop: \`loadBalancing\` must be 'failover' or 'round-robin', got ${String(mode)}`);
    }
    const breaker = options.breaker;
    if (breaker !== undefined && breaker !== false && (typeof breaker !== 'object' || breaker === null)) {
      throw new TypeError('closed-loop: `breaker` must be circuit breaker options or false');
    }
    this.pool = new ServerPool(urls, breaker === false ? false : (breaker ?? {}), this.clock, mode);
    this.dedupe = options.dedupe !== false;
    const etag = options.etagCache ?? true;
    if (etag !== false && etag !== true && (typeof etag !== 'object' || etag === null)) {
      throw new TypeError('closed-loop: `etagCache` must be true, false or { maxEntries }');
    }
    if (etag !== false) {
      const maxEntries = etag === true ? DEFAULT_ETAG_ENTRIES : (etag.maxEntries ?? DEFAULT_ETAG_ENTRIES);
      if (!Number.isInteger(maxEntries) || maxEntries < 1) {
        throw new TypeError(`closed-loop: \`etagCache.maxEntries\` must be an integer >= 1, got ${String(maxEntries)}`);
      }
      this.etags = new EtagCache(maxEntries);
    }
    const budget = options.retryBudget;
    if (isRetryBudget(budget)) this.retryBudget = budget;
    else if (budget === true) this.retryBudget = new RetryBudget({ clock: this.clock });
    else if (budget !== undefined && budget !== false) {
      if (typeof budget !== 'object' || budget === null) {
        throw new TypeError('closed-loop: `retryBudget` must be budget options, a RetryBudget, true or false');
      }
      this.retryBudget = new RetryBudget({ clock: this.clock, ...budget });
    }
    this.itemType = options.queueItemType ?? SYNC_REQUEST_ITEM_TYPE;
    if (typeof this.itemType !== 'string' || this.itemType === '') {
      throw new TypeError('closed-loop: `queueItemType` must be a non-empty string');
    }
    const queue = options.offlineQueue;
    if (queue !== undefined && queue !== false) {
      checkQueue(queue);
      this.queue = queue;
      this.attachQueue(queue);
    }
    if (options.durable !== undefined && typeof options.durable !== 'boolean') {
      throw new TypeError('closed-loop: `durable` must be true or false');
    }
    this.durable = options.durable === true;
    if (this.durable) checkHoldingQueue(this.queue);
    const target = globalThis as { addEventListener?: EventTarget['addEventListener']; removeEventListener?: EventTarget['removeEventListener'] };
    if (typeof target.addEventListener === 'function' && typeof target.removeEventListener === 'function') {
      const onOnline = (): void => this.pool.resetNetworkBreakers();
      target.addEventListener('online', onOnline);
      this.cleanups.push(() => target.removeEventListener!('online', onOnline));
    }
  }

  request<T = unknown>(method: string, path: string, options: SyncRequestOptions = {}): Promise<SyncResponse<T>> {
    let call: Call;
    try {
      call = this.prepare(method, path, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (call.signal?.aborted) return Promise.reject(call.signal.reason);
    if (call.method === 'GET' && this.dedupe) return this.shared(call) as Promise<SyncResponse<T>>;
    return this.run(call) as Promise<SyncResponse<T>>;
  }

  get<T = unknown>(path: string, options?: SyncGetOptions): Promise<SyncResponse<T>> {
    return this.request<T>('GET', path, options);
  }

  delete<T = unknown>(path: string, options?: SyncGetOptions): Promise<SyncResponse<T>> {
    return this.request<T>('DELETE', path, options);
  }

  post<T = unknown>(path: string, body?: unknown, options?: SyncGetOptions): Promise<SyncResponse<T>> {
    return this.request<T>('POST', path, withBody(options, body));
  }

  put<T = unknown>(path: string, body?: unknown, options?: SyncGetOptions): Promise<SyncResponse<T>> {
    return this.request<T>('PUT', path, withBody(options, body));
  }

  patch<T = unknown>(path: string, body?: unknown, options?: SyncGetOptions): Promise<SyncResponse<T>> {
    return this.request<T>('PATCH', path, withBody(options, body));
  }

  mutation<TData = unknown, TVars = unknown>(
    method: string,
    path: string,
    options: SyncMutationOptions = {},
  ): SyncMutation<TData, TVars> {
    const m = checkMethod(method);
    checkPath(path);
    return new SyncMutation<TData, TVars>(
      (vars, requestOptions) => this.request<TData>(m, path, { ...requestOptions, body: vars }),
      this.maxAttemptsOf(options.retry),
      options,
    );
  }

  getServers(): SyncServerInfo[] {
    return this.pool.list();
  }

  syncOfflineQueue(): Promise<unknown> {
    if (this.queue === undefined) return Promise.reject(new TypeError('closed-loop: this client has no `offlineQueue`'));
    return this.queue.process();
  }

  clearCache(): void {
    this.etags?.clear();
  }

  close(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  // --- one call ---

  private prepare(method: string, rawPath: string, options: SyncRequestOptions): Call {
    if (typeof options !== 'object' || options === null) throw new TypeError('closed-loop: request options must be an object');
    const m = checkMethod(method);
    const path = checkPath(rawPath);
    const safe = isSafeMethod(m);
    if ((m === 'GET' || m === 'HEAD') && options.body !== undefined) {
      throw new TypeError(`closed-loop: a ${m} request cannot have a body`);
    }
    const body = encodeBody(options.body);
    const headers = options.headers === undefined ? undefined : mergeHeaders({}, options.headers);
    let key = options.idempotencyKey;
    if (key !== undefined) checkKey(key);
    else if (!safe) key = createIdempotencyKey();
    const retry = this.retryFor(options.retry);
    const durable = this.isDurable(options.durable, m, body);
    const signal = options.signal;
    if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.aborted !== 'boolean')) {
      throw new TypeError('closed-loop: `signal` must be an AbortSignal');
    }
    return {
      method: m,
      path,
      body,
      bodyValue: options.body,
      headers,
      key,
      signal,
      retry,
      maxAttempts: retry === false ? 1 : (retry.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
      onAttempt: options.onAttempt,
      queueable: options.queueWhenOffline === true && !safe && this.queue !== undefined && body.storable,
      durable,
      held: undefined,
      cacheKey: headers === undefined ? path : `${path}\n${headersKey(headers)}`,
      cursor: 0,
      etagEntry: undefined,
    };
  }

  /** Whether a call is durable: asked for explicitly (and then possible), or the client's default. */
  private isDurable(option: unknown, method: SyncMethod, body: EncodedBody): boolean {
    if (option !== undefined && typeof option !== 'boolean') throw new TypeError('closed-loop: `durable` must be true or false');
    if (option === false) return false;
    const mutation = !isSafeMethod(method);
    if (option === undefined) return this.durable && mutation && body.storable;
    if (!mutation) throw new TypeError(`closed-loop: only a POST, PUT, PATCH or DELETE can be durable, not a ${method}`);
    checkHoldingQueue(this.queue);
    if (!body.storable) throw new TypeError('closed-loop: a durable call needs a body the offline queue can store (JSON or a string)');
    return true;
  }

  private retryFor(override: RetryOptions | false | undefined): RetryOptions | false {
    if (override === undefined) return this.retry;
    if (override === false) return false;
    if (typeof override !== 'object' || override === null) throw new TypeError('closed-loop: `retry` must be retry options or false');
    return checkRetry(this.retry === false ? { clock: this.clock, ...override } : { ...this.retry, ...override });
  }

  private maxAttemptsOf(override: RetryOptions | false | undefined): number {
    const retry = this.retryFor(override);
    return retry === false ? 1 : (retry.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  }

  /** Joins an identical GET in flight, or starts one that later identical GETs join. */
  private shared(call: Call): Promise<SyncResponse<unknown>> {
    const key = call.cacheKey;
    const callerSignal = call.signal;
    let entry = this.inflight.get(key);
    if (entry === undefined) {
      // The shared request has a signal of its own only when its first caller can abort: it aborts
      // once every caller has aborted (a caller without a signal keeps it alive).
      const controller = callerSignal === undefined ? undefined : new AbortController();
      call.signal = controller?.signal;
      const created: SharedGet = { promise: undefined!, controller, interested: 0 };
      created.promise = this.run(call).finally(() => {
        if (this.inflight.get(key) === created) this.inflight.delete(key);
      });
      created.promise.catch(noop);
      this.inflight.set(key, created);
      entry = created;
    }
    return this.join(entry, key, callerSignal);
  }

  private join(entry: SharedGet, key: string, signal: AbortSignal | undefined): Promise<SyncResponse<unknown>> {
    if (signal === undefined) {
      entry.interested = Number.POSITIVE_INFINITY;
      return entry.promise.then(copyResponse);
    }
    entry.interested++;
    return new Promise<SyncResponse<unknown>>((resolve, reject) => {
      const onAbort = (): void => {
        reject(signal.reason);
        if (--entry.interested === 0 && entry.controller !== undefined) {
          if (this.inflight.get(key) === entry) this.inflight.delete(key);
          entry.controller.abort(signal.reason);
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      entry.promise.then(
        (response) => {
          signal.removeEventListener('abort', onAbort);
          resolve(copyResponse(response));
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /**
   * Runs a call. A durable one is held in the queue while it is sent: taken out on a final answer,
   * left to the queue (and the call rejects with OfflineQueuedError) when it cannot get through.
   */
  private async run(call: Call): Promise<SyncResponse<unknown>> {
    if (!call.durable) return this.attempts(call);
    const queue = this.queue!;
    const item = await queue.hold!(queuedRequest(call), { idempotencyKey: call.key!, type: this.itemType });
    call.held = item.id;
    let response: SyncResponse<unknown>;
    try {
      response = await this.attempts(call);
    } catch (error) {
      if (!isOfflineQueuedError(error)) await forget(queue, item.id);
      throw error;
    }
    await forget(queue, item.id);
    return response;
  }

  /** Attempts with retries and failover, then the offline queue if the call cannot get through. */
  private async attempts(call: Call): Promise<SyncResponse<unknown>> {
    const queueable = call.queueable || call.held !== undefined;
    if (queueable && isOffline()) {
      return this.enqueue(call, new NetworkError('The browser is offline'));
    }
    const budget = this.retryBudget;
    budget?.deposit();
    call.cursor = this.pool.startIndex();
    let reached = 0;
    let lastServerError: unknown;
    let stop: 'budget' | 'offline' | undefined;
    const retry = call.retry;
    const base = retry === false ? undefined : (retry.shouldRetry ?? isRetryableError);
    let lastAttempt = false;
    const decide = (verdict: boolean): boolean => {
      // After the last attempt nothing follows: spend no retry on it, and let it end as exhausted.
      if (!verdict || lastAttempt) return verdict;
      if (queueable && isOffline()) {
        stop = 'offline';
        return false;
      }
      if (budget !== undefined && !budget.tryWithdraw()) {
        stop = 'budget';
        return false;
      }
      return true;
    };
    const shouldRetry = (error: unknown, attempt: number): boolean | PromiseLike<boolean> => {
      // Every breaker open: fail fast (that is what breakers are for) rather than wait for one.
      if (isCircuitBreakerError(error) || base === undefined) return false;
      lastAttempt = attempt >= call.maxAttempts;
      const verdict = base(error, attempt);
      return typeof verdict === 'boolean' ? decide(verdict) : Promise.resolve(verdict).then(decide);
    };
    const attempt = async (context: RetryContext): Promise<SyncResponse<unknown>> => {
      call.onAttempt?.(context.attempt, call.maxAttempts);
      const fetchFn = this.fetchOption ?? globalThis.fetch;
      if (typeof fetchFn !== 'function') {
        // Not the server's fault and not worth a retry.
        throw Object.assign(new TypeError('closed-loop: no `fetch` here; pass one in the options'), { retryable: false });
      }
      const headers = await this.headersFor(call);
      // Reading the context's signal makes an AbortController; only a deadline or a caller needs one.
      const signal = call.signal !== undefined || deadlineOf(call.retry) > 0 ? context.signal : undefined;
      try {
        return await this.pool.run(
          call.cursor,
          (index) => {
            call.cursor = index + 1;
          },
          (server) => this.send(fetchFn, server, call, headers, signal),
        );
      } catch (error) {
        if (!isCircuitBreakerError(error)) {
          reached++;
          lastServerError = error;
        }
        throw error instanceof CallerAbort ? error.reason : error;
      }
    };
    const options: RetryOptions =
      retry === false
        ? { maxAttempts: 1, timeoutMs: 0, clock: this.clock, shouldRetry }
        : { ...retry, shouldRetry };
    if (call.signal !== undefined) options.signal = call.signal;
    try {
      return await retryWithBackoff(attempt, options);
    } catch (error) {
      if (call.signal?.aborted && error === call.signal.reason) throw error;
      let final = error;
      if (retry === false && isRetryExhaustedError(error)) final = error.cause;
      if (stop === 'budget') {
        final = new RetryExhaustedError(
          reached,
          error,
          `Retry budget exhausted: gave up after ${reached} attempt${reached === 1 ? '' : 's'}: ${messageOf(error)}`,
        );
      } else if (isCircuitBreakerError(error) && reached > 0) {
        final = new RetryExhaustedError(reached, lastServerError);
      }
      // A held (durable) call is already queued: it stays there unless the server said no for good.
      const queueIt =
        call.held !== undefined
          ? stop !== undefined || isRetryExhaustedError(final) || cannotReach(error)
          : call.queueable && (stop === 'offline' || cannotReach(error));
      if (queueIt) return this.enqueue(call, final);
      throw final;
    }
  }

  /** The headers of one attempt: the client's (read again each time), the call's, the key, the ETag. */
  private async headersFor(call: Call): Promise<Record<string, string>> {
    const out: Record<string, string> = this.staticHeaders === undefined ? {} : { ...this.staticHeaders };
    if (this.headersFn !== undefined) {
      const produced = await this.headersFn();
      try {
        mergeHeaders(out, produced);
      } catch (cause) {
        throw new ClosedLoopError(`The \`headers\` function returned invalid headers: ${messageOf(cause)}`, 'INVALID_HEADERS', {
          cause,
          retryable: false,
        });
      }
    }
    if (call.headers !== undefined) Object.assign(out, call.headers);
    if (call.body.contentType !== undefined && out['content-type'] === undefined) out['content-type'] = call.body.contentType;
    if (call.key !== undefined) out[this.keyHeader] = call.key;
    call.etagEntry = undefined;
    if (call.method === 'GET' && this.etags !== undefined && out['if-none-match'] === undefined) {
      const entry = this.etags.get(call.cacheKey);
      if (entry !== undefined) {
        out['if-none-match'] = entry.etag;
        call.etagEntry = entry;
      }
    }
    return out;
  }

  /** One request to one server. */
  private async send(
    fetchFn: typeof globalThis.fetch,
    server: Server,
    call: Call,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<SyncResponse<unknown>> {
    const init: RequestInit = { method: call.method, headers };
    if (call.body.body !== undefined) init.body = call.body.body;
    if (signal !== undefined) init.signal = signal;
    const url = server.url + call.path;
    server.inFlight++;
    try {
      let response: Response;
      try {
        // Called as a plain function: a browser's fetch refuses a `this` other than the window.
        response = await fetchFn(url, init);
      } catch (error) {
        throw this.failure(error, call, signal);
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        throw this.failure(error, call, signal);
      }
      return this.answer(response, text, call);
    } finally {
      server.inFlight--;
    }
  }

  /** What a failed fetch means: the deadline, the caller's abort, or a network failure. */
  private failure(error: unknown, call: Call, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) {
      return call.signal?.aborted ? new CallerAbort(call.signal.reason) : signal.reason;
    }
    return new NetworkError(`Request failed: ${messageOf(error)}`, { cause: error });
  }

  private answer(response: Response, text: string, call: Call): SyncResponse<unknown> {
    const status = response.status;
    const headers = headersRecord(response.headers);
    const etags = this.etags;
    if (status === 304 && call.etagEntry !== undefined) {
      const entry = call.etagEntry;
      return {
        status: entry.status,
        headers: { ...entry.headers, ...headers },
        data: entry.data,
        idempotencyKey: call.key,
        replayed: false,
        fromCache: true,
      };
    }
    const ok = status < 400;
    const data = parseBody(text, headers['content-type'], ok);
    if (!ok) {
      throw new HttpError(status, {
        headers,
        body: data,
        now: this.clock.now(),
        // The first request with this key is still running: wait as told, like a 503.
        ...(status === 409 && isKeyInUse(data) ? { retryable: true } : {}),
      });
    }
    if (etags !== undefined && status >= 200 && status < 300) {
      if (call.method === 'GET') {
        const etag = headers.etag;
        if (etag !== undefined) etags.set(call.cacheKey, { etag, status, headers, data });
        else etags.delete(call.cacheKey);
      } else if (!isSafeMethod(call.method) && etags.size > 0) {
        etags.deleteUrl(call.path);
      }
    }
    return {
      status,
      headers,
      data,
      idempotencyKey: call.key,
      replayed: headers['idempotent-replayed'] === 'true',
      fromCache: false,
    };
  }

  // --- offline queue ---

  private attachQueue(queue: SyncClientQueue): void {
    const unregister = queue.registerHandler(this.itemType, (item, context) => this.deliver(item, context?.signal));
    if (typeof unregister === 'function') this.cleanups.push(unregister);
    const offProcessed = queue.on('processed', (item, result) => {
      this.settleWaiters(item, (waiter) => waiter.resolve(result as SyncResponse<unknown>));
    });
    const offDead = queue.on('deadLettered', (item, error) => {
      this.settleWaiters(item, (waiter) => waiter.reject(error));
    });
    if (typeof offProcessed === 'function') this.cleanups.push(offProcessed as () => void);
    if (typeof offDead === 'function') this.cleanups.push(offDead as () => void);
  }

  private settleWaiters(item: SyncQueueItem, settle: (waiter: Waiter) => void): void {
    if (item.type !== undefined && item.type !== this.itemType) return;
    const key = item.idempotencyKey;
    if (key === undefined) return;
    const waiters = this.waiters.get(key);
    if (waiters === undefined) return;
    this.waiters.delete(key);
    for (const waiter of waiters) settle(waiter);
  }

  /**
   * Queues a call that could not get through (a held one is handed to the queue's flushes) and
   * rejects with {@link OfflineQueuedError}.
   */
  private async enqueue(call: Call, cause: unknown): Promise<never> {
    const key = call.key!;
    let waiter!: Waiter;
    const delivery = new Promise<SyncResponse<unknown>>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    // Nobody has to look at `delivery`: its rejection must not be reported as unhandled.
    delivery.catch(noop);
    // Registered before `add`: a queue syncing on its own may deliver the item before `add` resolves.
    const list = this.waiters.get(key);
    if (list === undefined) this.waiters.set(key, [waiter]);
    else list.push(waiter);
    let item: { id: string };
    try {
      if (call.held !== undefined) {
        item = { id: call.held };
        // If this fails the item is still stored (in flight): the next flush sends it all the same.
        await this.queue!.release!(call.held).catch(noop);
      } else {
        item = await this.queue!.add(queuedRequest(call), { idempotencyKey: key, type: this.itemType });
      }
    } catch (error) {
      const remaining = this.waiters.get(key)?.filter((w) => w !== waiter);
      if (remaining === undefined || remaining.length === 0) this.waiters.delete(key);
      else this.waiters.set(key, remaining);
      throw error;
    }
    throw new OfflineQueuedError(item.id, key, delivery, { cause });
  }

  /** The queue's handler for the client's items: one pass over the servers, errors as the queue reads them. */
  private async deliver(item: SyncQueueItem, signal: AbortSignal | undefined): Promise<SyncResponse<unknown>> {
    const request = item.payload as Partial<QueuedRequest> | null;
    if (typeof request !== 'object' || request === null || typeof request.method !== 'string' || typeof request.path !== 'string') {
      throw new ClosedLoopError('The queued item is not a request the client stored', 'INVALID_QUEUE_ITEM', {
        retryable: false,
      });
    }
    const options: SyncRequestOptions = {
      // The queue is already holding it.
      durable: false,
      // Each server once, no waits: the queue does the backing off between deliveries.
      retry: {
        maxAttempts: this.pool.servers.length,
        initialDelayMs: 0,
        maxDelayMs: 0,
        respectRetryAfter: false,
      },
    };
    if (request.body !== undefined) options.body = request.body;
    if (request.headers !== undefined) options.headers = request.headers;
    if (item.idempotencyKey !== undefined) options.idempotencyKey = item.idempotencyKey;
    // The queue's deadline for this delivery, if it has one.
    if (signal !== undefined) options.signal = signal;
    try {
      return await this.request(request.method, request.path, options);
    } catch (error) {
      let reason = isRetryExhaustedError(error) ? error.cause : error;
      // No server reachable is a network failure for the queue: it costs the item no attempt.
      if (isCircuitBreakerError(reason)) {
        reason = new NetworkError('Every server is behind an open circuit breaker', { cause: reason });
      }
      throw reason;
    }
  }
}

/** A RetryBudget, also one from another copy of the package (ESM and CJS side by side). */
function isRetryBudget(value: unknown): value is RetryBudget {
  if (value instanceof RetryBudget) return true;
  const v = value as Partial<Record<'deposit' | 'tryWithdraw' | 'getStats', unknown>> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.deposit === 'function' &&
    typeof v.tryWithdraw === 'function' &&
    typeof v.getStats === 'function'
  );
}

/** Network failures, or every breaker open: the server was not reached. */
function cannotReach(error: unknown): boolean {
  const root = isRetryExhaustedError(error) ? error.cause : error;
  return isNetworkError(root) || isCircuitBreakerError(root) || isCircuitBreakerError(error);
}

function isOffline(): boolean {
  const nav = (globalThis as { navigator?: { onLine?: unknown } }).navigator;
  return nav !== undefined && nav.onLine === false;
}

function isKeyInUse(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { code?: unknown }).code === 'KEY_IN_USE';
}

function deadlineOf(retry: RetryOptions | false): number {
  if (retry === false) return 0;
  const timeoutMs = retry.timeoutMs ?? 30_000;
  return Number.isFinite(timeoutMs) ? timeoutMs : 0;
}

function copyResponse(response: SyncResponse<unknown>): SyncResponse<unknown> {
  return { ...response };
}

function withBody(options: SyncGetOptions | undefined, body: unknown): SyncRequestOptions {
  if (options === undefined) return { body };
  // Not an object: passed on as it is, for request() to reject.
  if (typeof options !== 'object' || options === null) return options as SyncRequestOptions;
  return { ...options, body };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const KEY = /^[\x21-\x7e]{1,255}$/;

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new TypeError('closed-loop: `idempotencyKey` must be 1-255 visible ASCII characters');
  }
}

function checkRetry(options: RetryOptions): RetryOptions {
  checkMaxAttempts(options.maxAttempts);
  checkBackoffOptions(options);
  checkNonNegative('timeoutMs', options.timeoutMs, true);
  checkNonNegative('maxElapsedMs', options.maxElapsedMs, true);
  checkNonNegative('maxRetryAfterMs', options.maxRetryAfterMs, true);
  return options;
}

function checkClock(clock: Clock | undefined): Clock | undefined {
  if (clock === undefined) return undefined;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    throw new TypeError('closed-loop: `clock` must have now(), setTimeout() and clearTimeout()');
  }
  return clock;
}

function checkQueue(queue: unknown): void {
  const q = queue as Partial<Record<'add' | 'registerHandler' | 'process' | 'on', unknown>> | null;
  if (
    typeof q !== 'object' ||
    q === null ||
    typeof q.add !== 'function' ||
    typeof q.registerHandler !== 'function' ||
    typeof q.process !== 'function' ||
    typeof q.on !== 'function'
  ) {
    throw new TypeError('closed-loop: `offlineQueue` must be an OfflineQueue (add, registerHandler, process, on) or false');
  }
}
