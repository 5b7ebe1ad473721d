import type { OfflineQueue } from 'closed-loop';
import { reportUncaught } from '../../src/internal/report-uncaught.js';
import { checkFunction, checkNumber, positive } from '../../src/internal/validate.js';
import type { PermissionsLike, ServiceWorkerContainerLike } from './scope.js';
import { DEFAULT_SYNC_TAG } from './tag.js';

// The page's side: make sure the browser will wake the service worker once the network is back
// whenever the queue holds something, so a tab closed while offline still gets its items delivered.

/** Options of {@link registerBackgroundSync}. */
export interface RegisterBackgroundSyncOptions {
  /** The sync tag; the worker's {@link handleBackgroundSync} answers the same. Default `'closed-loop'`. */
  tag?: string;
  /**
   * Periodic Background Sync as well, where the browser has it and the site was granted
   * `periodic-background-sync` (Chromium, for installed apps): the worker also flushes every
   * `minIntervalMs` or so, at the browser's discretion. `false` turns it off. Default
   * `{ minIntervalMs: 43200000 }` (12 hours).
   */
  periodic?:
    | {
        /** The shortest interval to ask for, in ms; the browser may wait longer. */
        minIntervalMs?: number;
      }
    | false;
  /**
   * Takes what the browser refused (a `sync.register` rejected, for example when the user blocked
   * background sync). The page's own auto-sync still delivers. Default: reported like an uncaught error.
   */
  onError?: (error: unknown) => void;
}

/**
 * In the page: asks the browser for a one-off Background Sync (`registration.sync.register(tag)`)
 * whenever the queue holds items: at once if it holds some already, then on every item added and
 * every failed attempt. The service worker's {@link handleBackgroundSync} answers it when the
 * network is back, even if the page was closed meanwhile.
 *
 * Waits for `navigator.serviceWorker.ready` (the app registers its worker itself). Where the browser
 * has no Background Sync (`registration.sync` missing: Firefox, Safari), it does nothing: keep the
 * page's `queue.startAutoSync()` running in every browser, it is the path there and costs nothing
 * where the worker delivers first.
 *
 * @example
 * ```ts
 * await navigator.serviceWorker.register('/sw.js', { type: 'module' })
 * const queue = new OfflineQueue({ storage: new IndexedDBQueueStorage('app-queue') })
 * const api = createSyncClient({ baseUrl: '/api', offlineQueue: queue })
 * queue.startAutoSync()
 * registerBackgroundSync(queue)
 * ```
 *
 * @param queue - the page's queue, on the storage the worker's queue uses
 * @param options - tag, periodic sync, error handler
 * @returns a function that stops asking (idempotent); syncs already asked for stay registered
 */
export function registerBackgroundSync(queue: OfflineQueue, options: RegisterBackgroundSyncOptions = {}): () => void {
  const where = 'registerBackgroundSync';
  if (typeof queue !== 'object' || queue === null || typeof queue.on !== 'function' || typeof queue.getItems !== 'function') {
    throw new TypeError(`closed-loop: ${where}(queue): \`queue\` must be an OfflineQueue`);
  }
  if (typeof options !== 'object' || options === null) throw new TypeError(`closed-loop: ${where}(queue, options): \`options\` must be an object`);
  const tag = options.tag ?? DEFAULT_SYNC_TAG;
  if (typeof tag !== 'string' || tag === '') throw new TypeError(`closed-loop: ${where}: \`tag\` must be a non-empty string`);
  checkFunction('onError', options.onError, where);
  const periodic = options.periodic ?? {};
  if (periodic !== false && (typeof periodic !== 'object' || periodic === null)) {
    throw new TypeError(`closed-loop: ${where}: \`periodic\` must be an object or false`);
  }
  const minIntervalMs = periodic === false ? undefined : (checkNumber('periodic.minIntervalMs', periodic.minIntervalMs, positive, where) ?? 43_200_000);
  const onError = options.onError ?? reportUncaught;

  const navigator = (globalThis as { navigator?: { serviceWorker?: ServiceWorkerContainerLike; permissions?: PermissionsLike } }).navigator;
  const container = navigator?.serviceWorker;
  // No service workers here (an insecure origin, a worker, Node): the page's auto-sync is the path.
  if (container === undefined || container === null) return () => undefined;

  let stopped = false;
  const ask = (): void => {
    void container.ready.then(async (registration) => {
      if (stopped || registration.sync === undefined) return;
      await registration.sync.register(tag);
    }).catch(onError);
  };
  const offEnqueued = queue.on('enqueued', ask);
  const offFailed = queue.on('failed', ask);
  // Items left from before this page (or added by another tab): ask at once.
  queue.getItems().then((items) => {
    if (items.length > 0) ask();
  }, onError);
  if (minIntervalMs !== undefined) {
    void container.ready.then(async (registration) => {
      if (stopped || registration.periodicSync === undefined || navigator?.permissions === undefined) return;
      const { state } = await navigator.permissions.query({ name: 'periodic-background-sync' });
      if (state === 'granted') await registration.periodicSync.register(tag, { minInterval: minIntervalMs });
    }).catch(onError);
  }
  return () => {
    if (stopped) return;
    stopped = true;
    offEnqueued();
    offFailed();
  };
}
