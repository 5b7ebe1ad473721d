// docs/server-helpers.md, as a reader meets it: the example app it shows
// (examples/express/server-helpers.ts) served on a free loopback port and called over real HTTP.
// Each test checks what one section of the guide says the client sees.
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import express from 'express';
import { MemoryIdempotencyStore } from 'closed-loop';
import { createIdempotencyMiddleware, errorHandler, getIdempotencyCacheStats, requestId } from 'closed-loop/express';
import { createShop, type Payments } from '../../examples/express/server-helpers.js';
import { serve, type Served } from '../express/_extras.js';
import { deferred } from '../support/deferred.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

let shop: ReturnType<typeof createShop>;
let payments: Payments;
let served: Served;
let url: string;
/** Apps a test serves besides the example. */
const extra: Served[] = [];
let logged: ReturnType<typeof vi.spyOn>;
const nodeEnv = process.env.NODE_ENV;

beforeEach(async () => {
  payments = {
    charge: vi.fn(async () => ({ id: 'pay_1' })),
    receiptUrl: vi.fn(async (id: string) => `https://receipts.example.com/${id}`),
  };
  shop = createShop(payments);
  served = await serve(shop.app);
  url = served.url;
  logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(async () => {
  await served.close();
  await Promise.all(extra.splice(0).map((s) => s.close()));
  process.env.NODE_ENV = nodeEnv;
  vi.restoreAllMocks();
});

function post(path: string, key: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key, ...headers },
    body: JSON.stringify(body),
  });
}

async function stats(): Promise<unknown> {
  return (await fetch(`${url}/admin/idempotency`)).json();
}

describe('requestId() and getRequestId()', () => {
  test('a sane incoming X-Request-ID is kept; otherwise every request gets a new UUID v7', async () => {
    const made = await Promise.all([fetch(`${url}/health`), fetch(`${url}/health`)]);
    const ids = made.map((res) => res.headers.get('x-request-id'));
    expect(ids[0]).toMatch(UUID_V7);
    expect(ids[1]).toMatch(UUID_V7);
    expect(ids[0]).not.toBe(ids[1]);

    const kept = await fetch(`${url}/health`, { headers: { 'X-Request-ID': 'edge-7f3a:42' } });
    expect(kept.headers.get('x-request-id')).toBe('edge-7f3a:42');

    const replaced = await fetch(`${url}/health`, { headers: { 'X-Request-ID': 'two words' } });
    expect(replaced.headers.get('x-request-id')).toMatch(UUID_V7);
  });

  test('the id is in every problem+json body, and getRequestId(req) gives onError the same id', async () => {
    vi.mocked(payments.charge).mockRejectedValueOnce(new Error('card processor timed out'));
    const res = await post('/payments', 'pay-log', { amountCents: 500 }, { 'X-Request-ID': 'edge-99' });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toBe('edge-99');
    expect((await res.json()).requestId).toBe('edge-99');
    expect(logged).toHaveBeenCalledWith('request edge-99 failed:', expect.objectContaining({ message: 'card processor timed out' }));
  });
});

describe('errorHandler()', () => {
  test('a thrown error with a status: that status as problem+json, message kept in production, never cached', async () => {
    process.env.NODE_ENV = 'production';
    const res = await fetch(`${url}/orders/9`, { headers: { 'X-Request-ID': 'edge-42' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe(PROBLEM_JSON);
    // The route's preset (private, max-age=300) is replaced: an error is never cached.
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.json()).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'No order 9',
      instance: '/orders/9',
      requestId: 'edge-42',
    });
  });

  test('an unknown route reaches the 404 catch-all and is answered as problem+json too', async () => {
    const res = await fetch(`${url}/nope?x=1`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe(PROBLEM_JSON);
    expect(await res.json()).toMatchObject({ status: 404, detail: 'No route for GET /nope', instance: '/nope?x=1' });
  });

  test('outside production the answer carries the stack', async () => {
    process.env.NODE_ENV = 'development';
    const body = await (await fetch(`${url}/orders/9`)).json();
    expect(body.detail).toBe('No order 9');
    expect(body.stack).toMatch(/^Error: No order 9\n/);
  });

  test('a 5xx in production: generic detail, no stack; the key is released, so the retry runs the handler again', async () => {
    process.env.NODE_ENV = 'production';
    vi.mocked(payments.charge).mockRejectedValueOnce(new Error('card processor timed out'));
    const failed = await post('/payments', 'pay-5xx', { amountCents: 500 });
    expect(failed.status).toBe(500);
    expect(failed.headers.get('content-type')).toBe(PROBLEM_JSON);
    expect(await failed.json()).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'The server could not complete the request.',
      instance: '/payments',
      requestId: failed.headers.get('x-request-id'),
    });
    expect(await stats()).toEqual({ entries: 0, inProgress: 0, completed: 0 });

    const retried = await post('/payments', 'pay-5xx', { amountCents: 500 });
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect(payments.charge).toHaveBeenCalledTimes(2);
  });

  test("the idempotency middleware's own refusals have errorHandler()'s shape: instance and requestId included", async () => {
    await post('/orders', 'order-x', { sku: 'tea' });
    const res = await post('/orders', 'order-x', { sku: 'coffee' });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe(PROBLEM_JSON);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(UUID_V7);
    expect(await res.json()).toEqual({
      type: 'about:blank',
      title: 'Unprocessable Entity',
      status: 422,
      detail: 'This Idempotency-Key was used with a different request',
      instance: '/orders',
      code: 'KEY_MISMATCH',
      requestId: id,
    });
  });

  test("with errors: 'next' the refusals are errorHandler()'s problem+json, request id included", async () => {
    const store = new MemoryIdempotencyStore();
    const app = express();
    app.use(requestId());
    app.use(express.json());
    app.use(createIdempotencyMiddleware({ store, errors: 'next' })); // as the guide shows it
    app.post('/orders', (_req, res) => void res.status(201).json({ ok: true }));
    app.use(errorHandler({ onError: () => undefined }));
    const own = await serve(app);
    extra.push(own);
    const send = (sku: string) =>
      fetch(`${own.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'next-1', 'x-request-id': 'edge-7' },
        body: JSON.stringify({ sku }),
      });
    expect((await send('tea')).status).toBe(201);
    const refused = await send('coffee');
    expect(refused.status).toBe(422);
    expect(refused.headers.get('content-type')).toBe(PROBLEM_JSON);
    expect(await refused.json()).toMatchObject({ status: 422, code: 'KEY_MISMATCH', instance: '/orders', requestId: 'edge-7' });
  });

  test('a handler that fails after its response started releases the key: a retry runs the handler again', async () => {
    let runs = 0;
    const app = express();
    app.use(express.json());
    app.use(createIdempotencyMiddleware());
    app.post('/export', async (_req, res) => {
      runs++;
      res.status(200).type('text').write('partial ');
      await new Promise((resolve) => setImmediate(resolve));
      if (runs === 1) throw new Error('failed mid-stream');
      res.end('and the rest');
    });
    app.use(errorHandler({ onError: () => undefined }));
    const own = await serve(app);
    extra.push(own);
    const send = () =>
      fetch(`${own.url}/export`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'stream-1' }, body: '{}' });
    const first = await send();
    expect(first.status).toBe(200);
    await expect(first.text()).rejects.toThrow(); // Express closed the connection mid-body
    const retry = await send();
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(await retry.text()).toBe('partial and the rest');
    expect(runs).toBe(2);
    const replay = await send();
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.text()).toBe('partial and the rest');
    expect(runs).toBe(2);
  });
});

describe('cacheControl()', () => {
  test('each GET route gets its preset and a strong ETag; If-None-Match with it gets 304 and no body', async () => {
    expect((await fetch(`${url}/health`)).headers.get('cache-control')).toBe('public, max-age=30');

    const list = await fetch(`${url}/orders`);
    const text = await list.text();
    const etag = list.headers.get('etag');
    expect(list.headers.get('cache-control')).toBe('private, max-age=300');
    expect(etag).toBe(`"${createHash('sha256').update(text).digest('base64url')}"`);

    const again = await fetch(`${url}/orders`, { headers: { 'If-None-Match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.headers.get('cache-control')).toBe('private, max-age=300');
    expect(again.headers.get('x-request-id')).toMatch(UUID_V7);

    // A new order changes the body, so the old ETag no longer matches.
    await post('/orders', 'order-etag', { sku: 'tea' });
    const changed = await fetch(`${url}/orders`, { headers: { 'If-None-Match': etag! } });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toEqual([{ id: '1', sku: 'tea' }]);
  });

  test('no_cache is no-store; a POST gets no Cache-Control', async () => {
    expect((await fetch(`${url}/admin/idempotency`)).headers.get('cache-control')).toBe('no-store');
    expect((await post('/orders', 'order-cc', { sku: 'tea' })).headers.get('cache-control')).toBeNull();
  });
});

describe('createIdempotencyMiddleware() in the stack', () => {
  test('a retried POST with the same key is replayed with Idempotent-Replayed: true; the handler ran once', async () => {
    const origin = { Origin: 'https://shop.example.com' };
    const first = await post('/orders', 'order-1', { sku: 'tea' }, origin);
    const firstBody = await first.text();
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const retry = await post('/orders', 'order-1', { sku: 'tea' }, origin);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.text()).toBe(firstBody);
    expect(retry.headers.get('location')).toBe('/orders/1');
    // The request id is the retry's own, never the stored one.
    expect(retry.headers.get('x-request-id')).toMatch(UUID_V7);
    expect(retry.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    // cors() runs first, so the page may read the replay marker.
    expect(retry.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(retry.headers.get('access-control-expose-headers')).toContain('Idempotent-Replayed');

    expect(shop.orders).toEqual([{ id: '1', sku: 'tea' }]);
  });
});

describe('storeIdempotentResult()', () => {
  test('once stored, a retry gets the stored answer, even though the rest of the handler failed', async () => {
    vi.mocked(payments.receiptUrl).mockRejectedValueOnce(new Error('receipt service down'));
    const first = await post('/payments', 'pay-1', { amountCents: 500 });
    expect(first.status).toBe(500);

    const retry = await post('/payments', 'pay-1', { amountCents: 500 });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await retry.text()).toBe('{"id":"pay_1"}');
    expect(payments.charge).toHaveBeenCalledTimes(1);
  });

  test('the client that sent the request gets what the handler sends; retries get the stored result', async () => {
    const first = await post('/payments', 'pay-2', { amountCents: 700 });
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ id: 'pay_1', receiptUrl: 'https://receipts.example.com/pay_1' });

    const retry = await post('/payments', 'pay-2', { amountCents: 700 });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.json()).toEqual({ id: 'pay_1' });
    expect(payments.charge).toHaveBeenCalledTimes(1);
  });

  test('a retry while the rest of the handler still runs gets the stored answer, not a 409', async () => {
    const receipt = deferred<string>();
    const asked = deferred<void>();
    vi.mocked(payments.receiptUrl).mockImplementationOnce(() => {
      asked.resolve();
      return receipt.promise;
    });
    const first = post('/payments', 'pay-3', { amountCents: 900 });
    await asked.promise; // charged and stored; the receipt is still on its way
    const retry = await post('/payments', 'pay-3', { amountCents: 900 });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.json()).toEqual({ id: 'pay_1' });
    receipt.resolve('https://receipts.example.com/pay_1');
    expect((await first).status).toBe(201);
    expect(payments.charge).toHaveBeenCalledTimes(1);
  });
});

describe('getIdempotencyCacheStats()', () => {
  test('counts records: claimed (inProgress), then completed; a replay or a released key does not add one', async () => {
    expect(await stats()).toEqual({ entries: 0, inProgress: 0, completed: 0 });

    const charging = deferred<{ id: string }>();
    const charged = deferred<void>();
    vi.mocked(payments.charge).mockImplementationOnce(() => {
      charged.resolve();
      return charging.promise;
    });
    const pending = post('/payments', 'stats-1', { amountCents: 500 });
    await charged.promise;
    expect(await stats()).toEqual({ entries: 1, inProgress: 1, completed: 0 });

    charging.resolve({ id: 'pay_9' });
    expect((await pending).status).toBe(201);
    expect(await stats()).toEqual({ entries: 1, inProgress: 0, completed: 1 });

    expect((await post('/payments', 'stats-1', { amountCents: 500 })).headers.get('idempotent-replayed')).toBe('true');
    expect(await stats()).toEqual({ entries: 1, inProgress: 0, completed: 1 });

    vi.mocked(payments.charge).mockRejectedValueOnce(new Error('declined'));
    expect((await post('/payments', 'stats-2', { amountCents: 500 })).status).toBe(500);
    expect(await stats()).toEqual({ entries: 1, inProgress: 0, completed: 1 });

    // The endpoint and a direct call read the same store.
    expect(await getIdempotencyCacheStats(shop.store)).toEqual(await stats());
  });
});
