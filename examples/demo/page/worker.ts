// The page's side of the demo's service worker (sw.ts): registers it, asks for a Background Sync
// whenever the queue holds items, and keeps the worker told about this tab's offline switch.
import type { OfflineQueue } from 'closed-loop';
import { registerBackgroundSync } from 'closed-loop/service-worker';
import { isPageOffline } from './offline.js';
import type { DemoWorkerMessage } from './worker-messages.js';

/** Registers /sw.js for `queueName` (the storage name of the page's queue). Does nothing without service workers. */
export function startServiceWorker(queue: OfflineQueue, queueName: string): void {
  if (!('serviceWorker' in navigator)) return;
  let active: ServiceWorker | null = null;
  const tell = (offline: boolean) => active?.postMessage({ type: 'demo:offline', offline } satisfies DemoWorkerMessage);

  navigator.serviceWorker
    .register(`/sw.js?queue=${encodeURIComponent(queueName)}`, { scope: '/' })
    .then(() => navigator.serviceWorker.ready)
    .then((registration) => {
      active = registration.active;
      // Said before any sync is asked for: the worker must know this tab is offline first.
      tell(isPageOffline());
      registerBackgroundSync(queue, { periodic: false });
    })
    .catch((error: unknown) => console.warn('demo: the service worker is not running:', error));

  // setPageOffline fires these; the worker's sends fail while any open tab says offline.
  window.addEventListener('offline', () => tell(isPageOffline()));
  window.addEventListener('online', () => tell(isPageOffline()));
  // The tab's simulated outage ends with the tab: the worker, which has the network, delivers.
  window.addEventListener('pagehide', () => {
    if (isPageOffline()) tell(false);
  });
}
