// The sync client's front door: createSyncClient and the public methods of a SyncClient. Each call
// is prepared once (call.ts), shared with identical GETs in flight (get-sharing.ts), held in the
// queue while it is sent when durable (durable.ts), sent with retry and failover (send.ts, one
// request per server in exchange.ts), and queued when it cannot get through (queue-bridge.ts).
import { type Call, prepareCall } from './call.js';
import { type ClientConfig, maxAttemptsOf, resolveClientOptions, retryFor } from './config.js';
import { holdWhileSending } from './durable.js';
import { GetSharing } from './get-sharing.js';
import { checkMethod, checkPath } from './http.js';
import { SyncMutation, type SyncMutationOptions } from './mutation.js';
import type { SyncClientOptions, SyncRequestOptions, SyncResponse, SyncServerInfo } from './options.js';
import { QueueBridge } from './queue-bridge.js';
import type { RetryBudget } from './retry-budget.js';
import { sendCall } from './send.js';

export { SYNC_REQUEST_ITEM_TYPE } from './queue-bridge.js';

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

class Client implements SyncClient {
  readonly retryBudget: RetryBudget | undefined;
  private readonly config: ClientConfig;
  private readonly sharing: GetSharing;
  private readonly bridge: QueueBridge | undefined;
  private readonly cleanups: Array<() => void> = [];
  // Only a call of a client with a queue is ever queued, so `bridge` is there when this runs.
  private readonly enqueue = (call: Call, cause: unknown): Promise<never> => this.bridge!.enqueue(call, cause);

  constructor(options: SyncClientOptions) {
    const config = resolveClientOptions(options);
    this.config = config;
    this.retryBudget = config.retryBudget;
    this.sharing = new GetSharing((call) => this.run(call));
    if (config.queue !== undefined) {
      const request = (method: string, path: string, o: SyncRequestOptions) => this.request(method, path, o);
      this.bridge = new QueueBridge(config.queue, config.itemType, config.pool, request);
      this.cleanups.push(...this.bridge.attach());
    }
    const target = globalThis as { addEventListener?: EventTarget['addEventListener']; removeEventListener?: EventTarget['removeEventListener'] };
    if (typeof target.addEventListener === 'function' && typeof target.removeEventListener === 'function') {
      const onOnline = (): void => config.pool.resetNetworkBreakers();
      target.addEventListener('online', onOnline);
      this.cleanups.push(() => target.removeEventListener!('online', onOnline));
    }
  }

  request<T = unknown>(method: string, path: string, options: SyncRequestOptions = {}): Promise<SyncResponse<T>> {
    let call: Call;
    try {
      call = prepareCall(this.config, method, path, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (call.signal?.aborted) return Promise.reject(call.signal.reason);
    if (call.method === 'GET' && this.config.dedupe) return this.sharing.share(call) as Promise<SyncResponse<T>>;
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
      maxAttemptsOf(retryFor(this.config, options.retry)),
      options,
    );
  }

  getServers(): SyncServerInfo[] {
    return this.config.pool.list();
  }

  syncOfflineQueue(): Promise<unknown> {
    const queue = this.config.queue;
    if (queue === undefined) return Promise.reject(new TypeError('closed-loop: this client has no `offlineQueue`'));
    return queue.process();
  }

  clearCache(): void {
    this.config.etags?.clear();
  }

  close(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  /** Sends a call, held in the offline queue meanwhile when it is durable. */
  private run(call: Call): Promise<SyncResponse> {
    return holdWhileSending(call, this.config.queue, this.config.itemType, (c) => sendCall(this.config, c, this.enqueue));
  }
}

function withBody(options: SyncGetOptions | undefined, body: unknown): SyncRequestOptions {
  if (options === undefined) return { body };
  // Not an object: passed on as it is, for request() to reject.
  if (typeof options !== 'object' || options === null) return options;
  return { ...options, body };
}
