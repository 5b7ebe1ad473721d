// The README's React example (the part between the `readme` markers is copied there verbatim, and
// test/docs/readme-examples.test.ts checks that it still is). Rendered against the real test server
// by test/react/quick-start.browser.test.tsx.
// #region readme
import { createSyncClient, IndexedDBQueueStorage, OfflineQueue } from 'closed-loop';
import { SyncButton, SyncProvider, useOfflineSync } from 'closed-loop/react';

// Mutations are written to IndexedDB before they are sent (durable), so a reload mid-request or a
// dropped connection loses nothing; the server runs each one once, by its Idempotency-Key.
export function createApi(baseUrl: string, dbName = 'my-shop') {
  const queue = new OfflineQueue({ storage: new IndexedDBQueueStorage(dbName) });
  const client = createSyncClient({ baseUrl, offlineQueue: queue, durable: true });
  queue.startAutoSync(); // sends what an earlier page left, and flushes when back online
  return { client, queue };
}

export function Shop({ api }: { api: ReturnType<typeof createApi> }) {
  return (
    <SyncProvider client={api.client} queue={api.queue}>
      <SyncButton endpoint="/orders" body={{ sku: 'A1' }} successMessage="Ordered!">
        Buy
      </SyncButton>
      <PendingOrders />
    </SyncProvider>
  );
}

function PendingOrders() {
  const { isOnline, pending } = useOfflineSync();
  return <p>{isOnline ? 'Online' : 'Offline'} · {pending} waiting to be sent</p>;
}
// #endregion readme
