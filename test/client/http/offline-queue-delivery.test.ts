// Mutations that cannot reach a server go to the OfflineQueue with their key; the queue delivers
// them through the client (syncOfflineQueue, queue.process, startAutoSync) and the server applies
// each exactly once.
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  createSyncClient,
  HttpError,
  isOfflineQueuedError,
  MemoryQueueStorage,
  OfflineQueue,
  OfflineQueuedError,
  RetryExhaustedError,
  SYNC_REQUEST_ITEM_TYPE,
  type SyncClientOptions,
} from 'closed-loop';
import { type Fault, faultyFetch, Ledger, type OrderApp, startOrderApp } from './_server.js';

const apps: OrderApp[] = [];
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  vi.unstubAllGlobals();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

const quickRetry = { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2, jitter: 'none' as const };

async function setup(options: { faults?: (n: number) => Fault; client?: Partial<SyncClientOptions> } = {}) {
  const ledger = new Ledger();
  const app = await startOrderApp({ ledger });
  apps.push(app);
  const network = { down: false };
  const { fetch, seen } = faultyFetch((n) => (network.down ? 'refuse' : (options.faults?.(n) ?? 'ok')));
  const queue = new OfflineQueue({ storage: new MemoryQueueStorage(), retry: { initialDelayMs: 0, maxDelayMs: 0 } });
  // The breaker would open after a few of the network failures these tests cause, and hold the
  // deliveries back for its reset timeout: the tests that are about breakers set their own.
  const api = createSyncClient({
    baseUrl: app.url,
    fetch,
    retry: quickRetry,
    breaker: { failureThreshold: 1000 },
    offlineQueue: queue,
    ...options.client,
  });
  cleanups.push(() => api.close());
  return { api, queue, ledger, network, seen };
}

async function queued(promise: Promise<unknown>): Promise<OfflineQueuedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isOfflineQueuedError(error)).toBe(true);
  return error as OfflineQueuedError;
}

describe('queued when no server can be reached', () => {
  test('network failures: queued with the key the attempts carried; delivered later, applied once', async () => {
    const { api, queue, ledger, network, seen } = await setup();
    network.down = true;
    const error = await queued(api.post('/orders', { sku: 'Q1' }, { queueWhenOffline: true }));

    expect(error).toBeInstanceOf(OfflineQueuedError);
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.key))).toEqual(new Set([error.idempotencyKey]));
    const [item] = await queue.getItems();
    expect(item).toMatchObject({
      id: error.itemId,
      type: SYNC_REQUEST_ITEM_TYPE,
      idempotencyKey: error.idempotencyKey,
      payload: { method: 'POST', path: '/orders', body: { sku: 'Q1' } },
    });
    expect(ledger.effects).toHaveLength(0);

    network.down = false;
    await api.syncOfflineQueue();
    const delivered = (await error.delivery) as { status: number; idempotencyKey: string; data: { order: unknown } };
    expect(delivered.status).toBe(201);
    expect(delivered.idempotencyKey).toBe(error.idempotencyKey);
    expect(delivered.data.order).toEqual({ sku: 'Q1' });
    expect(seen.at(-1)!.key).toBe(error.idempotencyKey);
    expect(ledger.count('POST /orders {"sku":"Q1"}')).toBe(1);
    expect(await queue.getItems()).toEqual([]);
  });

  test('the server applied it but every answer was lost: the queued replay gets the stored answer, not a second order', async () => {
    const control = { fault: 'drop-after' as Fault };
    const { api, ledger } = await setup({ faults: () => control.fault });
    const error = await queued(api.post('/orders', { sku: 'Q2' }, { queueWhenOffline: true }));
    expect(ledger.keys).toEqual([error.idempotencyKey, error.idempotencyKey, error.idempotencyKey]);
    expect(ledger.count('POST /orders {"sku":"Q2"}')).toBe(1);
    control.fault = 'ok';
    await api.syncOfflineQueue();
    const delivered = (await error.delivery) as { replayed: boolean; status: number };
    expect(delivered).toMatchObject({ status: 201, replayed: true });
    expect(ledger.count('POST /orders {"sku":"Q2"}')).toBe(1);
  });

  test('every breaker open: queued at once, without a request', async () => {
    const { api, queue, network, seen } = await setup({ client: { breaker: { failureThreshold: 1 }, retry: false } });
    network.down = true;
    await api.get('/orders').catch(() => {});
    expect(api.getServers()[0]!.state).toBe('OPEN');
    const sent = seen.length;
    const error = await queued(api.put('/orders/4', { qty: 4 }, { queueWhenOffline: true }));
    expect(seen).toHaveLength(sent);
    expect(error.cause).toMatchObject({ name: 'CircuitBreakerError' });
    expect(await queue.getItems()).toHaveLength(1);
  });

  test('an answered failure (503 until attempts run out) is not queued: the server is there', async () => {
    const { api, queue } = await setup({ faults: () => '503' });
    const error = await api.post('/orders', { sku: 'S' }, { queueWhenOffline: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(await queue.getItems()).toEqual([]);
  });

  test('without queueWhenOffline, and for a GET, nothing is queued', async () => {
    const { api, queue, network } = await setup();
    network.down = true;
    expect(await api.post('/orders', {}).catch((e: unknown) => e)).toBeInstanceOf(RetryExhaustedError);
    expect(await api.get('/orders', { queueWhenOffline: true }).catch((e: unknown) => e)).toBeInstanceOf(RetryExhaustedError);
    expect(await queue.getItems()).toEqual([]);
  });
});

describe('delivery', () => {
  test('queue.process() and startAutoSync() deliver the client items too: the client is their handler', async () => {
    const { api, queue, ledger, network } = await setup();
    network.down = true;
    const first = await queued(api.post('/orders', { n: 1 }, { queueWhenOffline: true }));
    const second = await queued(api.patch('/orders/2', { n: 2 }, { queueWhenOffline: true }));
    network.down = false;
    await queue.process();
    expect(((await first.delivery) as { status: number }).status).toBe(201);

    network.down = true;
    const third = await queued(api.delete('/orders/3', { queueWhenOffline: true }));
    network.down = false;
    const stop = queue.startAutoSync({ intervalMs: 60_000 });
    cleanups.push(stop);
    await third.delivery;
    await second.delivery;
    expect(ledger.effects.sort()).toEqual(['DELETE /orders/3 null', 'PATCH /orders/2 {"n":2}', 'POST /orders {"n":1}']);
  });

  test('an item stored before a reload (no promise waits for it) is delivered by type, with its key', async () => {
    const { api, queue, ledger, seen } = await setup();
    // What an earlier page left in durable storage.
    await queue.add({ method: 'POST', path: '/orders', body: { restored: true } }, { type: SYNC_REQUEST_ITEM_TYPE, idempotencyKey: 'restored-key-1' });
    const result = await api.syncOfflineQueue();
    expect(result).toMatchObject({ processed: 1, remaining: 0 });
    expect(seen.map((s) => s.key)).toEqual(['restored-key-1']);
    expect(ledger.count('POST /orders {"restored":true}')).toBe(1);
  });

  test('a 4xx on delivery dead-letters the item and rejects delivery with the HttpError', async () => {
    const { api, queue, network } = await setup();
    network.down = true;
    const error = await queued(api.post('/nowhere', { x: 1 }, { queueWhenOffline: true }));
    network.down = false;
    await api.syncOfflineQueue();
    const reason = await error.delivery.catch((e: unknown) => e);
    expect(reason).toBeInstanceOf(HttpError);
    expect((reason as HttpError).status).toBe(404);
    expect(await queue.getDeadLetters()).toHaveLength(1);
  });

  test('delivery failing on the network costs the item no attempt; it waits for the next flush', async () => {
    const { api, queue, network } = await setup();
    network.down = true;
    const error = await queued(api.post('/orders', { later: true }, { queueWhenOffline: true }));
    const result = await api.syncOfflineQueue();
    expect(result).toMatchObject({ processed: 0, remaining: 1 });
    expect((await queue.getItems())[0]!.attempts).toBe(0);
    network.down = false;
    await api.syncOfflineQueue();
    expect(((await error.delivery) as { status: number }).status).toBe(201);
  });

  test('the SyncMutation shows queued, then success when the queue delivers', async () => {
    const { api, network } = await setup();
    const save = api.mutation<{ id: number }>('POST', '/orders', { queueWhenOffline: true });
    const states: string[] = [];
    save.subscribe((s) => states.push(s.status));
    network.down = true;
    await save.mutate({ m: 1 }).catch(() => {});
    expect(save.getState().status).toBe('queued');
    const key = save.getState().idempotencyKey;
    network.down = false;
    await api.syncOfflineQueue();
    await vi.waitFor(() => expect(save.getState().status).toBe('success'));
    expect(save.getState().idempotencyKey).toBe(key);
    expect(save.getState().data).toMatchObject({ order: { m: 1 } });
    expect(states.filter((s, i) => s !== states[i - 1])).toEqual(['pending', 'queued', 'success']);
  });

  test('close() unregisters the client: its items then wait for another handler', async () => {
    const { api, queue, network } = await setup();
    network.down = true;
    await queued(api.post('/orders', { c: 1 }, { queueWhenOffline: true }));
    network.down = false;
    api.close();
    const result = await queue.process();
    expect(result).toMatchObject({ processed: 0, remaining: 1 });
  });
});

describe('the browser reports itself offline', () => {
  test('while navigator.onLine is false a mutation is queued at once: no request, no breaker count', async () => {
    const { api, queue, seen } = await setup({ client: { breaker: { failureThreshold: 1 } } });
    vi.stubGlobal('navigator', { onLine: false });
    const error = await queued(api.post('/orders', { offline: true }, { queueWhenOffline: true }));
    expect(seen).toHaveLength(0);
    expect(api.getServers()[0]!.state).toBe('CLOSED');
    expect(await queue.getItems()).toHaveLength(1);
    vi.stubGlobal('navigator', { onLine: true });
    await api.syncOfflineQueue();
    expect(((await error.delivery) as { status: number }).status).toBe(201);
  });

  test('going offline mid-call stops the retries and queues the call', async () => {
    const { api, network, seen } = await setup({ client: { retry: { ...quickRetry, maxAttempts: 10 } } });
    network.down = true;
    let first = true;
    const stub = { get onLine() {
      // Online for the first attempt, offline from then on.
      if (first) return ((first = false), true);
      return false;
    } };
    vi.stubGlobal('navigator', stub);
    await queued(api.post('/orders', { mid: true }, { queueWhenOffline: true }));
    expect(seen).toHaveLength(1);
  });

  test('the online event closes the breakers network failures opened, not those a 5xx opened', async () => {
    const events = new EventTarget();
    vi.stubGlobal('addEventListener', events.addEventListener.bind(events));
    vi.stubGlobal('removeEventListener', events.removeEventListener.bind(events));
    const ledger = new Ledger();
    const a = await startOrderApp({ ledger, name: 'A' });
    const b = await startOrderApp({ ledger, name: 'B' });
    apps.push(a, b);
    const { fetch } = faultyFetch((_, url) => (url.startsWith(a.url) ? 'refuse' : '503'));
    const api = createSyncClient({ baseUrl: [a.url, b.url], fetch, retry: false, breaker: { failureThreshold: 1 } });
    cleanups.push(() => api.close());
    await api.get('/orders').catch(() => {});
    await api.get('/orders').catch(() => {});
    expect(api.getServers().map((s) => s.state)).toEqual(['OPEN', 'OPEN']);
    events.dispatchEvent(new Event('online'));
    expect(api.getServers().map((s) => s.state)).toEqual(['CLOSED', 'OPEN']);
    api.close();
    await api.get('/orders').catch(() => {});
    expect(api.getServers().map((s) => s.state)).toEqual(['OPEN', 'OPEN']);
    events.dispatchEvent(new Event('online'));
    // Closed clients no longer listen.
    expect(api.getServers().map((s) => s.state)).toEqual(['OPEN', 'OPEN']);
  });
});
