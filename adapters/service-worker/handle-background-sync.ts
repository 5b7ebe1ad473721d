import { type Clock, type OfflineQueue, type QueueHandler, realClock, type SyncClient } from 'closed-loop';
import { reportUncaught } from '../../src/internal/report-uncaught.js';
import { checkFunction, checkNumber, nonNegative } from '../../src/internal/validate.js';
import { type BackgroundSyncMessage, DEAD_LETTERED_MESSAGE, PROCESSED_MESSAGE } from './messages.js';
import type { ServiceWorkerScopeLike, SyncEventLike } from './scope.js';
import { DEFAULT_SYNC_TAG } from './tag.js';

// The worker's side: a `sync` (or `periodicsync`) event with our tag flushes the queue the page
// filled. The queue object brings everything a page flush has (keys, backoff, dead letters, and the
// Web Lock named after its storage, which the page's queue takes too), so this file only decides
// how long one event keeps the worker alive and what the pages are told.

/** Options of {@link handleBackgroundSync}. */
export interface BackgroundSyncOptions<P = unknown> {
  /**
   * The worker's own queue object on the storage the page's queue uses (an
   * `IndexedDBQueueStorage` with the same database name), so the same lock name too.
   */
  queue: OfflineQueue<P>;
  /**
   * A sync client made in the worker with `offlineQueue: queue`: it registered itself as the handler
   * of the request items a page's client queued (they carry method, path, body, headers and key), so
   * the worker sends them as the page would have. Its `baseUrl` must reach the same servers.
   */
  client?: SyncClient;
  /**
   * For items that have no handler by `type` (see `OfflineQueue.registerHandler`): the worker must
   * know how to send what the page queued without the page's closures.
   */
  handler?: QueueHandler<P>;
  /** The sync tag to answer; the page's {@link registerBackgroundSync} uses the same. Default `'closed-loop'`. */
  tag?: string;
  /**
   * How long one sync event waits, in ms, for items backing off (a 503, a 429's `Retry-After`) to
   * fall due before it hands the rest back to the browser, which fires the event again later.
   * Browsers stop a sync event after a few minutes. Default 60000; 0 never waits.
   */
  maxWaitMs?: number;
  /** The clock for those waits: give it the queue's clock. Default `realClock`. */
  clock?: Clock;
  /** The worker's global scope. Default `globalThis` (`self` in a service worker). */
  scope?: ServiceWorkerScopeLike;
}

/**
 * In a service worker: answers `sync` and `periodicsync` events with `tag` by flushing the offline
 * queue the page filled, so items queued offline are delivered after the tab was closed.
 *
 * - Each item goes with the idempotency key the page gave it, so a delivery that the page (or an
 *   earlier event) already made is answered by the server's replay, not run again.
 * - The flush is the queue's own `process()`: the same order, backoff, attempts and dead letters as
 *   in the page, under the same Web Lock, so a page and the worker never send one item at once.
 * - An item backing off is waited for up to `maxWaitMs`; what is still left makes the event fail, so
 *   the browser fires it again later. On the browser's last try (`lastChance`) nothing is waited for
 *   and the event succeeds: the rest stays queued, and the page's next flush sends it.
 * - Every window of the origin gets a {@link BackgroundSyncMessage} for each item delivered
 *   (`closed-loop:processed`) or dead-lettered (`closed-loop:dead-lettered`).
 *
 * @example
 * ```ts
 * // sw.ts, bundled by your build
 * import { createSyncClient, IndexedDBQueueStorage, OfflineQueue } from 'closed-loop'
 * import { handleBackgroundSync } from 'closed-loop/service-worker'
 *
 * const queue = new OfflineQueue({ storage: new IndexedDBQueueStorage('app-queue') })
 * const client = createSyncClient({ baseUrl: '/api', offlineQueue: queue })
 * handleBackgroundSync({ queue, client })
 * ```
 *
 * @param options - the queue, what delivers its items, the tag
 * @returns a function that stops answering sync events (idempotent)
 */
export function handleBackgroundSync<P>(options: BackgroundSyncOptions<P>): () => void {
  const settings = checkOptions(options);
  const { queue, tag, scope } = settings;
  const offProcessed = queue.on('processed', (item, result) => post(scope, { type: PROCESSED_MESSAGE, tag, item, result }));
  const offDeadLettered = queue.on('deadLettered', (item) => post(scope, { type: DEAD_LETTERED_MESSAGE, tag, item }));
  const onSync = (event: SyncEventLike): void => {
    if (event.tag !== tag) return;
    event.waitUntil(deliver(settings, event.lastChance === true));
  };
  scope.addEventListener('sync', onSync);
  scope.addEventListener('periodicsync', onSync);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    scope.removeEventListener('sync', onSync);
    scope.removeEventListener('periodicsync', onSync);
    offProcessed();
    offDeadLettered();
  };
}

interface Settings<P> {
  readonly queue: OfflineQueue<P>;
  readonly handler: QueueHandler<P> | undefined;
  readonly tag: string;
  readonly maxWaitMs: number;
  readonly clock: Clock;
  readonly scope: ServiceWorkerScopeLike;
}

/**
 * One sync event: flushes, waits for the earliest backing-off item while that falls within
 * `maxWaitMs`, flushes again. Rejects when items are left (the browser tries again), except on
 * `lastChance`.
 */
async function deliver<P>(settings: Settings<P>, lastChance: boolean): Promise<void> {
  const { queue, clock, handler } = settings;
  const giveUpAt = clock.now() + (lastChance ? 0 : settings.maxWaitMs);
  // The browser fires `sync` when the network is back: items whose last try got no answer go at once.
  let result = await queue.process(handler, { networkRestored: true });
  for (;;) {
    if (result.remaining === 0 || lastChance) return;
    const dueAt = await nextDueAt(queue);
    const now = clock.now();
    // Nothing falls due within the wait (or an item is due yet was not sent: no handler for it).
    if (dueAt === undefined || dueAt <= now || dueAt > giveUpAt) break;
    // A plain timer on the given clock (the core's sleep helper would bundle a second copy of the clock module).
    await new Promise<void>((resolve) => clock.setTimeout(resolve, dueAt - now));
    result = await queue.process(handler);
  }
  throw new Error(`closed-loop: ${result.remaining} queue item(s) left after the background sync; the browser will try again`);
}

/** When the earliest pending item is due next; `undefined` when none is pending (all in flight elsewhere). */
async function nextDueAt<P>(queue: OfflineQueue<P>): Promise<number | undefined> {
  let earliest: number | undefined;
  for (const item of await queue.getItems()) {
    if (item.state !== 'pending') continue;
    const at = item.nextAttemptAt ?? Number.NEGATIVE_INFINITY;
    if (earliest === undefined || at < earliest) earliest = at;
  }
  return earliest;
}

/** Posts to every window of the origin; a window that cannot be told is no reason to fail the flush. */
function post(scope: ServiceWorkerScopeLike, message: BackgroundSyncMessage): void {
  scope.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
    for (const window of windows) {
      try {
        window.postMessage(message);
      } catch {
        // A handler's result that cannot be cloned (a Response, a function): the message goes without it.
        const { result: _dropped, ...rest } = message as BackgroundSyncMessage & { result?: unknown };
        window.postMessage(rest);
      }
    }
  }).catch(reportUncaught);
}

function checkOptions<P>(options: BackgroundSyncOptions<P>): Settings<P> {
  const where = 'handleBackgroundSync';
  if (typeof options !== 'object' || options === null) throw new TypeError(`closed-loop: ${where}(options): \`options\` must be an object`);
  const { queue, client, handler } = options;
  if (typeof queue !== 'object' || queue === null || typeof queue.process !== 'function' || typeof queue.on !== 'function') {
    throw new TypeError(`closed-loop: ${where}: \`queue\` must be an OfflineQueue`);
  }
  if (client !== undefined && (typeof client !== 'object' || client === null || typeof client.syncOfflineQueue !== 'function')) {
    throw new TypeError(`closed-loop: ${where}: \`client\` must be a sync client made with \`offlineQueue: queue\``);
  }
  checkFunction('handler', handler, where);
  const tag = options.tag ?? DEFAULT_SYNC_TAG;
  if (typeof tag !== 'string' || tag === '') throw new TypeError(`closed-loop: ${where}: \`tag\` must be a non-empty string`);
  const scope = options.scope ?? (globalThis as unknown as Partial<ServiceWorkerScopeLike>);
  if (typeof scope.addEventListener !== 'function' || typeof scope.clients?.matchAll !== 'function') {
    throw new TypeError(`closed-loop: ${where} runs in a service worker: this global scope has no \`clients\` (pass \`scope\` elsewhere)`);
  }
  return {
    queue,
    handler,
    tag,
    maxWaitMs: checkNumber('maxWaitMs', options.maxWaitMs, nonNegative, where) ?? 60_000,
    clock: options.clock ?? realClock,
    scope: scope as ServiceWorkerScopeLike,
  };
}
