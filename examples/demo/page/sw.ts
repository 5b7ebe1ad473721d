/// <reference lib="webworker" />
// The demo's service worker: it delivers what a tab queued after that tab is gone, from the same
// IndexedDB queue, with the same keys (closed-loop/service-worker). Built by ../build.mjs into sw.js.
//
// The demo's offline switch is a simulated network, one per tab (offline.ts): the real network
// stays up. So the worker must honour it, or Chromium would fire the sync at once and the worker
// would deliver while the page says "offline". Each tab tells the worker its switch's state; while
// any open tab says offline, the worker's sends fail as a network failure would (the items stay
// queued, the sync event fails and the browser fires it again later). A tab's simulated outage
// ends with the tab: on `pagehide` it says so, and the worker delivers at once.
import { createSyncClient, IndexedDBQueueStorage, OfflineQueue } from 'closed-loop';
import { handleBackgroundSync } from 'closed-loop/service-worker';
import { type DemoWorkerMessage, OFFLINE_TABS_CACHE } from './worker-messages.js';

declare const self: ServiceWorkerGlobalScope;

// The page registers /sw.js?queue=<name>: the storage name of its queue (one per server run).
const queueName = new URL(self.location.href).searchParams.get('queue') ?? 'closed-loop-demo';
const queue = new OfflineQueue({
  storage: new IndexedDBQueueStorage(queueName),
  retry: { initialDelayMs: 200, maxDelayMs: 2000 },
});

// The tabs whose switch is on, kept in Cache Storage: the browser stops an idle worker after about
// 30 s, and a set held in memory would be forgotten with it.
async function offlineTabs(): Promise<Cache> {
  return caches.open(OFFLINE_TABS_CACHE);
}
const tabKey = (clientId: string) => `/offline-tab/${encodeURIComponent(clientId)}`;

/** Whether an open tab has its switch on; the entries of closed tabs are dropped. */
async function anyTabOffline(): Promise<boolean> {
  const cache = await offlineTabs();
  const open = new Set((await self.clients.matchAll({ type: 'window', includeUncontrolled: true })).map((c) => tabKey(c.id)));
  let offline = false;
  for (const request of await cache.keys()) {
    const key = new URL(request.url).pathname;
    if (open.has(key)) offline = true;
    else await cache.delete(request);
  }
  return offline;
}

const client = createSyncClient({
  baseUrl: `${self.location.origin}/api`,
  offlineQueue: queue,
  retry: { maxAttempts: 1 },
  // The queue backs off already; a breaker opened by the simulated outage would keep failing sends
  // for its cool-down after the tab that caused it is gone.
  breaker: false,
  fetch: async (input, init) => {
    if (await anyTabOffline()) throw new TypeError('Failed to fetch (a demo tab is offline)');
    return fetch(input, init);
  },
});

handleBackgroundSync({ queue, client, maxWaitMs: 10_000 });

self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('message', (event) => {
  const data = event.data as DemoWorkerMessage | undefined;
  const source = event.source;
  if (data?.type !== 'demo:offline' || source === null || !('id' in source)) return;
  event.waitUntil(
    (async () => {
      const cache = await offlineTabs();
      if (data.offline) {
        await cache.put(tabKey(source.id), new Response(''));
        return;
      }
      await cache.delete(tabKey(source.id));
      // Back online (or closed): deliver what the tabs queued, unless another tab is still offline.
      if (!(await anyTabOffline())) await queue.process(undefined, { networkRestored: true });
    })(),
  );
});
