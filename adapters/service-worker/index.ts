/**
 * `closed-loop/service-worker`: delivers the offline queue from a service worker, so that items
 * queued while offline go out once the network is back even if every tab was closed. The page asks
 * the browser for a Background Sync ({@link registerBackgroundSync}); the worker answers it by
 * flushing the same IndexedDB queue with the same keys, backoff, dead letters and lock
 * ({@link handleBackgroundSync}), and tells the open pages what happened
 * ({@link BackgroundSyncMessage}). Where the browser has no Background Sync, the page's auto-sync
 * remains the path. Its types need no DOM lib: a worker compiled with `lib: ["webworker"]` can use it.
 *
 * @module closed-loop/service-worker
 */

export { handleBackgroundSync } from './handle-background-sync.js';
export type { BackgroundSyncOptions } from './handle-background-sync.js';
export { registerBackgroundSync } from './register-background-sync.js';
export type { RegisterBackgroundSyncOptions } from './register-background-sync.js';
export { DEAD_LETTERED_MESSAGE, isBackgroundSyncMessage, PROCESSED_MESSAGE } from './messages.js';
export type { BackgroundSyncMessage, DeadLetteredMessage, ProcessedMessage } from './messages.js';
export { DEFAULT_SYNC_TAG } from './tag.js';
export type {
  PeriodicSyncManagerLike,
  PermissionsLike,
  ServiceWorkerContainerLike,
  ServiceWorkerScopeLike,
  SyncEventLike,
  SyncManagerLike,
  SyncRegistrationLike,
  WindowClientLike,
} from './scope.js';
