// In real Chromium: navigator.onLine and the window's `online` event drive the client, and a
// mutation queued in IndexedDB by one page is delivered after a "reload" by a new client with the
// same key.
import { afterEach, expect, test } from 'vitest';
import {
  createSyncClient,
  IndexedDBQueueStorage,
  isOfflineQueuedError,
  OfflineQueue,
  type OfflineQueuedError,
  type SyncClient,
} from 'closed-loop';
import { connectionRefused, fakeFetch, json } from './_fake-fetch.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Makes the browser report itself offline (or online again) the way it does when the network drops. */
function setOnline(online: boolean): void {
  Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => online });
  if (online) window.dispatchEvent(new Event('online'));
  else window.dispatchEvent(new Event('offline'));
}
cleanups.push(() => {
  delete (navigator as { onLine?: boolean }).onLine;
});

function track(client: SyncClient): SyncClient {
  cleanups.push(() => client.close());
  return client;
}

test('offline: a mutation is queued at once, no request, no breaker count; after online it is delivered', async () => {
  const fake = fakeFetch((request) => json({ key: request.headers['idempotency-key'] }, 201));
  const queue = new OfflineQueue();
  const api = track(
    createSyncClient({ baseUrl: 'https://api.test', fetch: fake.fetch, offlineQueue: queue, breaker: { failureThreshold: 1 } }),
  );
  setOnline(false);
  cleanups.push(() => setOnline(true));
  const error = (await api.post('/orders', { sku: 'B1' }, { queueWhenOffline: true }).catch((e: unknown) => e)) as OfflineQueuedError;
  expect(isOfflineQueuedError(error)).toBe(true);
  expect(fake.calls).toHaveLength(0);
  expect(api.getServers()[0]!.state).toBe('CLOSED');

  const stop = queue.startAutoSync({ intervalMs: 60_000, immediate: false });
  cleanups.push(stop);
  setOnline(true);
  const delivered = (await error.delivery) as { status: number; data: { key: string } };
  expect(delivered.status).toBe(201);
  expect(delivered.data.key).toBe(error.idempotencyKey);
  expect(fake.calls).toHaveLength(1);
});

test('the online event closes a breaker that network failures opened', async () => {
  let down = true;
  const fake = fakeFetch(() => (down ? connectionRefused() : json({ ok: true })));
  const api = track(createSyncClient({ baseUrl: 'https://api.test', fetch: fake.fetch, retry: false, breaker: { failureThreshold: 1 } }));
  await api.get('/x').catch(() => {});
  expect(api.getServers()[0]!.state).toBe('OPEN');
  down = false;
  window.dispatchEvent(new Event('online'));
  expect(api.getServers()[0]!.state).toBe('CLOSED');
  expect((await api.get('/x')).data).toEqual({ ok: true });
});

test('queued in IndexedDB by one page, delivered after a reload by a new client with the same key', async () => {
  const dbName = `client-reload-${Math.random().toString(36).slice(2)}`;
  const pageOneFetch = fakeFetch(() => connectionRefused());
  const storageOne = new IndexedDBQueueStorage(dbName);
  const pageOne = track(
    createSyncClient({
      baseUrl: 'https://api.test',
      fetch: pageOneFetch.fetch,
      offlineQueue: new OfflineQueue({ storage: storageOne }),
      retry: { maxAttempts: 2, initialDelayMs: 0, maxDelayMs: 0 },
    }),
  );
  const error = (await pageOne.patch('/orders/7', { qty: 3 }, { queueWhenOffline: true }).catch((e: unknown) => e)) as OfflineQueuedError;
  expect(isOfflineQueuedError(error)).toBe(true);
  pageOne.close();
  await storageOne.close();

  // The reload: a new storage on the same database, a new queue and a new client.
  const pageTwoFetch = fakeFetch((request) => json({ got: JSON.parse(request.body ?? 'null') }));
  const storageTwo = new IndexedDBQueueStorage(dbName);
  cleanups.push(() => storageTwo.close());
  const queueTwo = new OfflineQueue({ storage: storageTwo });
  track(createSyncClient({ baseUrl: 'https://api.test', fetch: pageTwoFetch.fetch, offlineQueue: queueTwo }));
  const result = await queueTwo.process();
  expect(result).toMatchObject({ processed: 1, remaining: 0 });
  expect(pageTwoFetch.calls.map((c) => [c.method, c.path, c.body, c.headers['idempotency-key']])).toEqual([
    ['PATCH', '/orders/7', '{"qty":3}', error.idempotencyKey],
  ]);
  expect(pageOneFetch.calls.every((c) => c.headers['idempotency-key'] === error.idempotencyKey)).toBe(true);
});
