// One key per mutation, the same on every retry and failover: the server applies it exactly once.
import { afterEach, describe, expect, test } from 'vitest';
import { createSyncClient, MemoryIdempotencyStore, type SyncResponse } from 'closed-loop';
import { type Fault, faultyFetch, Ledger, type OrderApp, startOrderApp } from './_server.js';

const apps: OrderApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
async function start(options: Parameters<typeof startOrderApp>[0] = {}) {
  const app = await startOrderApp(options);
  apps.push(app);
  return app;
}

// Real HTTP, so real time: waits of a few ms between attempts.
const quickRetry = { maxAttempts: 6, initialDelayMs: 2, maxDelayMs: 5, jitter: 'none' as const };

describe('one key per mutation, kept across retries', () => {
  test('a lost response, a 503 and a refused connection: every attempt sends the same key; the order is created once', async () => {
    const ledger = new Ledger();
    const app = await start({ ledger });
    const faults: Fault[] = ['drop-after', '503', 'refuse', 'ok'];
    const { fetch, seen } = faultyFetch((n) => faults[n] ?? 'ok');
    const api = createSyncClient({ baseUrl: app.url, fetch, retry: quickRetry, breaker: false });

    const response = await api.post<{ id: number }>('/orders', { sku: 'A1', qty: 2 });

    expect(seen.map((s) => s.fault)).toEqual(['drop-after', '503', 'refuse', 'ok']);
    const keys = new Set(seen.map((s) => s.key));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toBe(response.idempotencyKey);
    expect(response.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(ledger.count('POST /orders {"sku":"A1","qty":2}')).toBe(1);
    // The first run's answer, replayed from the store for the attempt that got through.
    expect(response.status).toBe(201);
    expect(response.replayed).toBe(true);
    expect(response.data.id).toBe(1);
  });

  test('PUT, PATCH and DELETE carry a key too; GET carries none', async () => {
    const ledger = new Ledger();
    const app = await start({ ledger });
    const { fetch, seen } = faultyFetch((n) => (n < 6 && n % 2 === 0 ? 'drop-after' : 'ok'));
    const api = createSyncClient({ baseUrl: app.url, fetch, retry: quickRetry, breaker: false });

    await api.put('/orders/9', { qty: 1 });
    await api.patch('/orders/9', { qty: 2 });
    await api.delete('/orders/9');
    await api.get('/orders', { retry: false });

    expect(ledger.count('PUT /orders/9 {"qty":1}')).toBe(1);
    expect(ledger.count('PATCH /orders/9 {"qty":2}')).toBe(1);
    expect(ledger.count('DELETE /orders/9 null')).toBe(1);
    const [put1, put2, patch1, patch2, del1, del2, get] = seen.map((s) => s.key);
    expect(put1).toBe(put2);
    expect(patch1).toBe(patch2);
    expect(del1).toBe(del2);
    expect(new Set([put1, patch1, del1]).size).toBe(3);
    expect(get).toBeNull();
  });

  test('a key given by the caller is sent as it is, and a second call with it is a replay', async () => {
    const ledger = new Ledger();
    const app = await start({ ledger });
    const api = createSyncClient({ baseUrl: app.url, retry: quickRetry });
    const first = await api.post('/orders', { sku: 'B' }, { idempotencyKey: 'checkout-42' });
    const again = await api.post('/orders', { sku: 'B' }, { idempotencyKey: 'checkout-42' });
    expect(first.idempotencyKey).toBe('checkout-42');
    expect(first.replayed).toBe(false);
    expect(again.replayed).toBe(true);
    expect(again.data).toEqual(first.data);
    expect(ledger.keys).toEqual(['checkout-42', 'checkout-42']);
    expect(ledger.count('POST /orders {"sku":"B"}')).toBe(1);
  });

  test('a custom idempotencyHeader carries the key', async () => {
    const sent: string[] = [];
    const spy = (async (input: RequestInfo | URL, init?: RequestInit) => {
      sent.push(new Headers(init?.headers).get('x-request-key') ?? 'none');
      return new Response('{}', { headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const api = createSyncClient({ baseUrl: 'http://127.0.0.1:9', fetch: spy, idempotencyHeader: 'X-Request-Key' });
    const response = await api.post('/x', {});
    expect(sent).toEqual([response.idempotencyKey]);
  });
});

describe('the same key across failover', () => {
  test('the handler ran on A but its answer was lost; B (same store) replays it: one side effect in all', async () => {
    const ledger = new Ledger();
    const store = new MemoryIdempotencyStore();
    const a = await start({ name: 'A', ledger, store });
    const b = await start({ name: 'B', ledger, store });
    const { fetch, seen } = faultyFetch((n) => (n === 0 ? 'drop-after' : 'ok'));
    const api = createSyncClient({ baseUrl: [a.url, b.url], fetch, retry: quickRetry });

    const response = await api.post<{ by: string }>('/orders', { sku: 'C' });

    expect(seen.map((s) => new URL(s.url).origin)).toEqual([a.url, b.url]);
    expect(seen[0]!.key).toBe(seen[1]!.key);
    expect(ledger.count('POST /orders {"sku":"C"}')).toBe(1);
    expect(response.replayed).toBe(true);
    expect(response.data.by).toBe('A');
  });

  test('200 mutations from 10 clients through random faults over two instances: each applied exactly once', async () => {
    const ledger = new Ledger();
    const store = new MemoryIdempotencyStore();
    const a = await start({ name: 'A', ledger, store });
    const b = await start({ name: 'B', ledger, store });
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const faults: Fault[] = ['ok', 'ok', 'ok', 'drop-after', 'refuse', '503'];
    const clients = Array.from({ length: 10 }, (_, c) => {
      const { fetch } = faultyFetch(() => faults[Math.floor(random() * faults.length)]!);
      return createSyncClient({
        baseUrl: [a.url, b.url],
        fetch,
        loadBalancing: c % 2 === 0 ? 'failover' : 'round-robin',
        retry: { ...quickRetry, maxAttempts: 30 },
        breaker: { failureThreshold: 50, resetTimeoutMs: 10 },
      });
    });
    const results: Array<SyncResponse<{ order: { n: number } }>> = await Promise.all(
      Array.from({ length: 200 }, (_, n) => clients[n % 10]!.post<{ order: { n: number } }>('/orders', { n })),
    );

    expect(results.map((r) => r.data.order.n)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    for (let n = 0; n < 200; n++) expect(ledger.count(`POST /orders {"n":${n}}`)).toBe(1);
    expect(ledger.effects).toHaveLength(200);
    // Some got through only as replays: the faults did hit after the handler ran.
    expect(results.some((r) => r.replayed)).toBe(true);
    expect(ledger.hits.A).toBeGreaterThan(0);
    expect(ledger.hits.B).toBeGreaterThan(0);
    // Real HTTP: some 300 requests through two Express servers, about 2 s on an idle machine and up
    // to 20 s seen on a loaded 2-core one. The default 5 s is no bound on the code; this one only
    // catches a hang.
  }, 60_000);
});
