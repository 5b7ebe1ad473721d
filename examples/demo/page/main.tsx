// The demo page's setup: one sync client with a durable IndexedDB queue, one realtime service over
// SSE, both handed to React by SyncProvider. Everything below is what an app would write.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createSyncClient, IndexedDBQueueStorage, OfflineQueue, RealtimeSyncService, SseTransport } from 'closed-loop';
import { SyncProvider } from 'closed-loop/react';
import { App } from './App.js';
import { reportFetch, switchableFetch } from './offline.js';
import { startServiceWorker } from './worker.js';
import type { DemoConfig } from './types.js';

async function loadConfig(): Promise<DemoConfig> {
  const res = await reportFetch('/api/config');
  if (!res.ok) throw new Error(`GET /api/config: ${res.status}`);
  return (await res.json()) as DemoConfig;
}

/** Resolves once the service's stream is open (or after `ms`): the config read after it misses nothing. */
function connected(realtime: RealtimeSyncService, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (realtime.status === 'connected') {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    const off = realtime.on('status', (status) => {
      if (status === 'connected' || status === 'resynced') done();
    });
    function done() {
      clearTimeout(timer);
      off();
      resolve();
    }
  });
}

async function start() {
  const realtime = new RealtimeSyncService({ transport: new SseTransport('/events') });
  realtime.subscribe('*', () => {}); // keeps the stream open for the page's lifetime
  await connected(realtime, 3000);
  const config = await loadConfig();

  // One queue per server run: a queue left by an earlier run (whose memory store is gone) stays out.
  const queueName = `closed-loop-demo-${config.bootId}`;
  const queue = new OfflineQueue({
    storage: new IndexedDBQueueStorage(queueName),
    retry: { initialDelayMs: 200, maxDelayMs: 2000 },
  });
  const baseUrl = config.servers.length > 0 ? config.servers.map((s) => `${s}/api`) : `${location.origin}/api`;
  const client = createSyncClient({
    baseUrl,
    fetch: switchableFetch,
    offlineQueue: queue,
    durable: true,
    retry: { maxAttempts: 6, initialDelayMs: 200, maxDelayMs: 2000 },
  });
  // Sends what an earlier page left, flushes when the page is back online, and every 2 s.
  queue.startAutoSync({ intervalMs: 2000 });
  // Delivers what this tab queued after the tab is closed (sw.ts).
  startServiceWorker(queue, queueName);

  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <SyncProvider client={client} queue={queue} realtime={realtime}>
        <App config={config} reload={loadConfig} queue={queue} />
      </SyncProvider>
    </StrictMode>,
  );
}

start().catch((error: unknown) => {
  document.body.textContent = `The demo could not start: ${String(error)}`;
});
