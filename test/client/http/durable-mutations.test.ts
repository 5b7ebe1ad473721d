// Durable mutations: the request is in the offline queue (with its key) before the first send and
// leaves it only on the server's final answer. A page that dies mid-request leaves the item, and the
// next page's flush sends it with the same key: the server runs the handler once. Real Express app
// behind the real idempotency middleware; a "page" is a client plus a queue on shared storage.
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  createSyncClient,
  HttpError,
  isOfflineQueuedError,
  MemoryQueueStorage,
  OfflineQueue,
  OfflineQueuedError,
  SYNC_REQUEST_ITEM_TYPE,
  type SyncClientOptions,
} from 'closed-loop';
import { Ledger, type OrderApp, startOrderApp } from './_server.js';

const apps: OrderApp[] = [];
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  vi.unstubAllGlobals();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

const quickRetry = { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2, jitter: 'none' as const };

/** What a page's fetch does to one request. */
type Plan = 'ok' | 'refuse' | '503' | '400' | 'hang-before' | 'hang-after';

interface Seen {
  key: string | null;
  /** The queue's items, as stored when the request was about to go out. */
  queuedAtSend: Array<{ idempotencyKey: string; state: string }>;
}

async function startApp() {
  const ledger = new Ledger();
  const app = await startOrderApp({ ledger });
  apps.push(app);
  return { app, ledger };
}

/** One page: a queue on `storage` and a client on it, with a fetch that follows `plan`. */
function page(url: string, storage: MemoryQueueStorage, plan: (n: number) => Plan, client: Partial<SyncClientOptions> = {}) {
  const queue = new OfflineQueue({ storage, retry: { initialDelayMs: 0, maxDelayMs: 0 } });
  const seen: Seen[] = [];
  let sent!: () => void;
  const hung = new Promise<void>((resolve) => {
    sent = resolve;
  });
  const fetchFn = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const n = seen.length;
    const items = await queue.getItems();
    seen.push({
      key: new Headers(init.headers).get('idempotency-key'),
      queuedAtSend: items.map((i) => ({ idempotencyKey: i.idempotencyKey, state: i.state })),
    });
    const fault = plan(n);
    if (fault === 'refuse') throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    if (fault === '503') return new Response('{"title":"unavailable"}', { status: 503, headers: { 'content-type': 'application/json' } });
    if (fault === '400') return new Response('{"title":"bad"}', { status: 400, headers: { 'content-type': 'application/json' } });
    if (fault === 'hang-before') {
      // The page dies before the request leaves: it never settles.
      sent();
      return new Promise<Response>(() => {});
    }
    const response = await fetch(input, init);
    if (fault === 'hang-after') {
      // The server ran it; the page dies before the answer arrives.
      await response.arrayBuffer();
      sent();
      return new Promise<Response>(() => {});
    }
    return response;
  }) as typeof fetch;
  const api = createSyncClient({
    baseUrl: url,
    fetch: fetchFn,
    retry: quickRetry,
    breaker: false,
    offlineQueue: queue,
    ...client,
  });
  cleanups.push(() => api.close());
  return { api, queue, seen, hung };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('answered in the same page', () => {
  test('the item is in the queue (in flight, with the key) before the first send; a success leaves nothing', async () => {
    const { app, ledger } = await startApp();
    const { api, queue, seen } = page(app.url, new MemoryQueueStorage(), () => 'ok');
    const response = await api.post('/orders', { sku: 'D1' }, { durable: true });

    expect(response.status).toBe(201);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.queuedAtSend).toEqual([{ idempotencyKey: response.idempotencyKey, state: 'inFlight' }]);
    expect(seen[0]!.key).toBe(response.idempotencyKey);
    expect(await queue.getItems()).toEqual([]);
    expect(ledger.effects).toEqual(['POST /orders {"sku":"D1"}']);
  });

  test('503, 503, 201: one key throughout, then nothing left in the queue', async () => {
    const { app, ledger } = await startApp();
    const { api, queue, seen } = page(app.url, new MemoryQueueStorage(), (n) => (n < 2 ? '503' : 'ok'));
    const response = await api.post('/orders', { sku: 'D2' }, { durable: true });

    expect(seen.map((s) => s.key)).toEqual([response.idempotencyKey, response.idempotencyKey, response.idempotencyKey]);
    expect(await queue.getItems()).toEqual([]);
    expect(ledger.effects).toHaveLength(1);
  });

  test('a final refusal (400) takes it out of the queue and rejects with the HttpError', async () => {
    const { app, ledger } = await startApp();
    const { api, queue, seen } = page(app.url, new MemoryQueueStorage(), () => '400');
    const error = await rejection(api.post('/orders', { sku: 'D3' }, { durable: true }));

    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(400);
    expect(seen).toHaveLength(1);
    expect(await queue.getItems()).toEqual([]);
    expect(await queue.getDeadLetters()).toEqual([]);
    expect(ledger.effects).toEqual([]);
  });

  test('the caller aborting takes it out of the queue', async () => {
    const { app } = await startApp();
    const { api, queue, hung } = page(app.url, new MemoryQueueStorage(), () => 'hang-before');
    const controller = new AbortController();
    const call = api.post('/orders', { sku: 'D4' }, { durable: true, signal: controller.signal });
    await hung;
    expect(await queue.getItems()).toHaveLength(1);
    controller.abort(new Error('user cancelled'));

    expect(((await rejection(call)) as Error).message).toBe('user cancelled');
    expect(await queue.getItems()).toEqual([]);
  });

  test("this page's own flush leaves the item alone while the page is sending it", async () => {
    const { app } = await startApp();
    const { api, queue, seen, hung } = page(app.url, new MemoryQueueStorage(), () => 'hang-before');
    void api.post('/orders', { sku: 'D5' }, { durable: true }).catch(() => {});
    await hung;

    const result = await queue.process();
    expect(result).toMatchObject({ processed: 0, failed: 0, deadLettered: 0, remaining: 1 });
    expect(seen).toHaveLength(1);
  });
});

describe('the page dies mid-request', () => {
  test.each([
    ['before the request left', 'hang-before' as const],
    ['after the server ran it, before the answer arrived', 'hang-after' as const],
  ])('%s: the next page sends it again with the same key; the handler ran once; the queue ends empty', async (_, fault) => {
    const { app, ledger } = await startApp();
    const storage = new MemoryQueueStorage();
    const first = page(app.url, storage, () => fault);
    void first.api.post('/orders', { sku: 'R1' }, { durable: true }).catch(() => {});
    await first.hung;
    const key = first.seen[0]!.key!;
    // The first page is gone: its client and queue are dropped, the storage (IndexedDB) remains.
    first.api.close();

    const second = page(app.url, storage, () => 'ok');
    const [item] = await second.queue.getItems();
    expect(item).toMatchObject({ idempotencyKey: key, type: SYNC_REQUEST_ITEM_TYPE, payload: { method: 'POST', path: '/orders', body: { sku: 'R1' } } });
    const result = await second.queue.process();

    expect(result).toMatchObject({ processed: 1, remaining: 0 });
    expect(second.seen.map((s) => s.key)).toEqual([key]);
    expect(ledger.effects).toEqual(['POST /orders {"sku":"R1"}']);
    expect(ledger.keys.filter((k) => k === key)).toHaveLength(fault === 'hang-after' ? 2 : 1);
    expect(await second.queue.getItems()).toEqual([]);
  });
});

describe('cannot get through now', () => {
  test('retries used up on 503s: it stays queued, the call rejects with OfflineQueuedError, and the queue delivers it once', async () => {
    const { app, ledger } = await startApp();
    let down = true;
    const { api, queue, seen } = page(app.url, new MemoryQueueStorage(), () => (down ? '503' : 'ok'));
    const error = await rejection(api.post('/orders', { sku: 'Q1' }, { durable: true }));

    expect(isOfflineQueuedError(error)).toBe(true);
    const queued = error as OfflineQueuedError;
    expect(seen.map((s) => s.key)).toEqual([queued.idempotencyKey, queued.idempotencyKey, queued.idempotencyKey]);
    expect(await queue.getItems()).toMatchObject([{ id: queued.itemId, idempotencyKey: queued.idempotencyKey, state: 'pending' }]);

    down = false;
    await queue.process();
    const delivered = (await queued.delivery) as { status: number; idempotencyKey: string };
    expect(delivered).toMatchObject({ status: 201, idempotencyKey: queued.idempotencyKey });
    expect(ledger.effects).toHaveLength(1);
    expect(await queue.getItems()).toEqual([]);
  });

  test('network failures: queued without queueWhenOffline', async () => {
    const { app, ledger } = await startApp();
    let down = true;
    const { api } = page(app.url, new MemoryQueueStorage(), () => (down ? 'refuse' : 'ok'));
    const error = (await rejection(api.post('/orders', { sku: 'Q2' }, { durable: true }))) as OfflineQueuedError;
    expect(isOfflineQueuedError(error)).toBe(true);

    down = false;
    await api.syncOfflineQueue();
    await expect(error.delivery).resolves.toMatchObject({ status: 201 });
    expect(ledger.effects).toHaveLength(1);
  });

  test('while the browser reports itself offline: queued at once, nothing sent', async () => {
    const { app } = await startApp();
    const { api, queue, seen } = page(app.url, new MemoryQueueStorage(), () => 'ok');
    vi.stubGlobal('navigator', { onLine: false });
    const error = await rejection(api.post('/orders', { sku: 'Q3' }, { durable: true }));

    expect(isOfflineQueuedError(error)).toBe(true);
    expect(seen).toEqual([]);
    expect(await queue.getItems()).toMatchObject([{ state: 'pending' }]);
  });
});

describe('where durable comes from', () => {
  test('the client option makes every mutation durable; a call may opt out; GETs never are', async () => {
    const { app } = await startApp();
    const { api, seen } = page(app.url, new MemoryQueueStorage(), () => 'ok', { durable: true });
    await api.post('/orders', { sku: 'C1' });
    await api.post('/orders', { sku: 'C2' }, { durable: false });
    await api.get('/orders');

    expect(seen.map((s) => s.queuedAtSend.length)).toEqual([1, 0, 0]);
  });

  test('mutation({ durable: true }): each mutate is queued before it is sent', async () => {
    const { app } = await startApp();
    const { api, seen, queue } = page(app.url, new MemoryQueueStorage(), () => 'ok');
    const save = api.mutation('POST', '/orders', { durable: true });
    await save.mutate({ sku: 'M1' });

    expect(seen[0]!.queuedAtSend).toHaveLength(1);
    expect(save.getState().status).toBe('success');
    expect(await queue.getItems()).toEqual([]);
  });
});

describe('bad input', () => {
  test('a durable client needs an offline queue', () => {
    expect(() => createSyncClient({ baseUrl: 'http://127.0.0.1:1', durable: true })).toThrow(/`durable` needs the client's `offlineQueue`/);
    expect(() => createSyncClient({ baseUrl: 'http://127.0.0.1:1', durable: 'yes' as unknown as boolean })).toThrow(TypeError);
  });

  test('a durable call needs a queue, a mutation method and a storable body; nothing is sent', async () => {
    const { app } = await startApp();
    const calls: unknown[] = [];
    const bare = createSyncClient({ baseUrl: app.url, fetch: ((...args: Parameters<typeof fetch>) => (calls.push(args), fetch(...args))) });
    await expect(bare.post('/orders', {}, { durable: true })).rejects.toThrow(/`durable` needs the client's `offlineQueue`/);

    const { api, queue, seen } = page(app.url, new MemoryQueueStorage(), () => 'ok');
    await expect(api.get('/orders', { durable: true })).rejects.toThrow(/only a POST, PUT, PATCH or DELETE can be durable/);
    await expect(api.post('/orders', new Blob(['x']), { durable: true })).rejects.toThrow(/a body the offline queue can store/);
    expect(calls).toEqual([]);
    expect(seen).toEqual([]);
    expect(await queue.getItems()).toEqual([]);
  });

  test('a queue without hold/release/remove is refused for durable calls', () => {
    const minimal = {
      add: async () => ({ id: '1' }),
      registerHandler: () => () => {},
      process: async () => undefined,
      on: () => () => {},
    };
    expect(() => createSyncClient({ baseUrl: 'http://127.0.0.1:1', offlineQueue: minimal, durable: true })).toThrow(/hold, release and remove/);
  });
});
