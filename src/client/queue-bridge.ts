// The bridge between a sync client and its offline queue: calls that cannot get through go in, the
// queue's deliveries come back out through the client, and the callers waiting on them are told.
// Not exported, apart from SYNC_REQUEST_ITEM_TYPE.
import { ClosedLoopError, isCircuitBreakerError, NetworkError, OfflineQueuedError } from '../errors/errors.js';
import { lastError } from '../internal/failure.js';
import { noop } from '../internal/noop.js';
import type { Call } from './call.js';
import { queuedRequest } from './durable.js';
import type { QueuedRequest, SyncClientQueue, SyncQueueItem, SyncRequestOptions, SyncResponse } from './options.js';
import type { QueueErrorInfo } from '../queue/storage.js';
import type { ServerPool } from './servers.js';
import { DEAD_LETTERED_MESSAGE, deadLetterError, PROCESSED_MESSAGE } from './worker-messages.js';

/** The item type a client stores in its offline queue unless told otherwise. @category Client */
export const SYNC_REQUEST_ITEM_TYPE = 'closed-loop/request';

/** A caller whose queued call has not been delivered yet (its OfflineQueuedError's `delivery`). */
interface Waiter {
  resolve: (response: SyncResponse) => void;
  reject: (error: unknown) => void;
}

/** The client's `request`, through which the queue's deliveries go. */
type Request = (method: string, path: string, options: SyncRequestOptions) => Promise<SyncResponse>;

/** One client's side of its offline queue. */
export class QueueBridge {
  /** By idempotency key. */
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(
    private readonly queue: SyncClientQueue,
    private readonly itemType: string,
    private readonly pool: ServerPool,
    private readonly request: Request,
  ) {}

  /** Registers the client's handler and listeners with the queue; returns what undoes it. */
  attach(): Array<() => void> {
    const cleanups: Array<() => void> = [];
    const queue = this.queue;
    const unregister = queue.registerHandler(this.itemType, (item, context) => this.deliver(item, context?.signal));
    if (typeof unregister === 'function') cleanups.push(unregister);
    const offProcessed = queue.on('processed', (item, result) => {
      this.settleWaiters(item, (waiter) => waiter.resolve(result as SyncResponse));
    });
    const offDead = queue.on('deadLettered', (item, error) => {
      this.settleWaiters(item, (waiter) => waiter.reject(error));
    });
    if (typeof offProcessed === 'function') cleanups.push(offProcessed as () => void);
    if (typeof offDead === 'function') cleanups.push(offDead as () => void);
    this.listenToServiceWorker(cleanups);
    return cleanups;
  }

  // A service worker flushing the same queue (closed-loop/service-worker) delivers some items instead
  // of this page: its message per item settles this page's waiters as the queue's own events do.
  private listenToServiceWorker(cleanups: Array<() => void>): void {
    const container = (globalThis as { navigator?: { serviceWorker?: Partial<EventTarget> } }).navigator?.serviceWorker;
    if (typeof container?.addEventListener !== 'function' || typeof container.removeEventListener !== 'function') return;
    const onMessage = (event: Event): void => {
      const data = (event as Event & { data?: unknown }).data as { type?: unknown; item?: SyncQueueItem & { lastError?: QueueErrorInfo }; result?: unknown } | null;
      if (typeof data !== 'object' || data === null || typeof data.item !== 'object' || data.item === null) return;
      const item = data.item;
      if (data.type === PROCESSED_MESSAGE) this.settleWaiters(item, (waiter) => waiter.resolve(data.result as SyncResponse));
      else if (data.type === DEAD_LETTERED_MESSAGE) this.settleWaiters(item, (waiter) => waiter.reject(deadLetterError(item.lastError)));
    };
    container.addEventListener('message', onMessage);
    cleanups.push(() => container.removeEventListener!('message', onMessage));
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
  async enqueue(call: Call, cause: unknown): Promise<never> {
    const key = call.key!;
    let waiter!: Waiter;
    const delivery = new Promise<SyncResponse>((resolve, reject) => {
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
        await this.queue.release!(call.held).catch(noop);
      } else {
        item = await this.queue.add(queuedRequest(call), { idempotencyKey: key, type: this.itemType });
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
  private async deliver(item: SyncQueueItem, signal: AbortSignal | undefined): Promise<SyncResponse> {
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
      let reason = lastError(error);
      // No server reachable is a network failure for the queue: it costs the item no attempt.
      if (isCircuitBreakerError(reason)) {
        reason = new NetworkError('Every server is behind an open circuit breaker', { cause: reason });
      }
      throw reason;
    }
  }
}
