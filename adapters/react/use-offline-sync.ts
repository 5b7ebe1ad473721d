import { useCallback, useEffect, useMemo, useSyncExternalStore } from 'react';
import type { OfflineQueue, ProcessResult } from 'closed-loop';
import { pick, useSyncContext } from './context.js';

/** What {@link useOfflineSync} returns. @category Hooks */
export interface UseOfflineSyncResult {
  /** Whether the browser reports itself online (`navigator.onLine`); `true` on the server. */
  isOnline: boolean;
  /** Items waiting to be sent (in flight included). */
  pending: number;
  /** Items the queue gave up on (see `queue.getDeadLetters()`). */
  deadLettered: number;
  /** Whether the queue is flushing now. */
  isSyncing: boolean;
  /** When the queue's last flush ended (epoch ms), or `undefined`. */
  lastSyncAt: number | undefined;
  /** Flushes the queue now (`queue.process()`); resolves with what the flush did. */
  sync: () => Promise<ProcessResult>;
}

/**
 * Shows an offline queue (pending and dead-lettered items, whether it is flushing) and whether the
 * browser is online, and flushes the queue when the browser comes back online. The queue does the
 * work; this hook renders it.
 *
 * @example
 * ```tsx
 * const { isOnline, pending, sync } = useOfflineSync()
 * return pending > 0 && <button onClick={sync} disabled={!isOnline}>Send {pending} saved changes</button>
 * ```
 *
 * @param queue - the queue to show. Default: the `queue` of the enclosing {@link SyncProvider}.
 * @returns counts, online status and `sync`
 * @category Hooks
 */
export function useOfflineSync(queue?: OfflineQueue): UseOfflineSyncResult {
  const q = pick(queue, useSyncContext().queue, 'useOfflineSync', 'queue', 'queue');
  const store = useMemo(() => ({ subscribe: q.subscribe.bind(q), getState: q.getState.bind(q) }), [q]);
  const state = useSyncExternalStore(store.subscribe, store.getState, store.getState);
  const isOnline = useSyncExternalStore(subscribeOnline, readOnline, serverOnline);

  // Back online: deliver at once, without waiting out the backoff of items that got no answer.
  useEffect(() => {
    const onOnline = (): void => {
      q.process(undefined, { networkRestored: true }).catch(report);
    };
    window.addEventListener('online', onOnline);
    return () => window.removeEventListener('online', onOnline);
  }, [q]);

  const sync = useCallback(() => q.process(), [q]);
  return {
    isOnline,
    pending: state.pending + state.inFlight,
    deadLettered: state.deadLettered,
    isSyncing: state.isSyncing,
    lastSyncAt: state.lastSyncAt,
    sync,
  };
}

// `navigator.onLine` as an external store: read only in the browser (never at import time); the
// server, and the hydrating render, assume online.
function subscribeOnline(onChange: () => void): () => void {
  window.addEventListener('online', onChange);
  window.addEventListener('offline', onChange);
  return () => {
    window.removeEventListener('online', onChange);
    window.removeEventListener('offline', onChange);
  };
}

function readOnline(): boolean {
  return typeof navigator === 'undefined' || navigator.onLine !== false;
}

function serverOnline(): boolean {
  return true;
}

// A failed background flush has no caller to reject to: report it like an uncaught error (the
// console shows it, window 'error' listeners hear it) instead of throwing into a render.
function report(error: unknown): void {
  if (typeof reportError === 'function') reportError(error);
  else console.error(error);
}
