// What is particular to idempotency() from closed-loop/hono, beyond the fifteen behaviours
// (idempotency-memory.test.ts): it works with Hono's own middleware around it (requestId, cors, a
// middleware that sets the user for `scope`), handlers read the body through Hono's cache, and a
// thrown HTTPException releases the key. Over real HTTP through @hono/node-server.
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { afterEach, describe, expect, test } from 'vitest';
import { createIdempotencyKey } from 'closed-loop';
import { idempotency } from 'closed-loop/hono';
import { send } from '../express/idempotency-harness.js';
import { serveFetch } from '../fetch/web-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function served(app: { fetch: (request: Request) => Response | Promise<Response> }): Promise<string> {
  const running = await serveFetch(app.fetch);
  cleanups.push(running.close);
  return running.url;
}

describe('idempotency() in a Hono app', () => {
  test("Hono's requestId and cors: a replay carries the retry's own request id and the CORS headers; a refusal names its request id", async () => {
    let runs = 0;
    const app = new Hono();
    app.use('/api/*', cors({ origin: 'https://shop.example.com', exposeHeaders: ['Idempotent-Replayed', 'Retry-After'] }));
    app.use('/api/*', requestId());
    app.use('/api/*', idempotency());
    app.post('/api/orders', async (c) => c.json({ run: ++runs, item: (await c.req.json<{ item: string }>()).item }, 201));
    const url = await served(app);
    const key = createIdempotencyKey();
    const headers = (id: string) => ({ 'Idempotency-Key': key, Origin: 'https://shop.example.com', 'X-Request-Id': id });
    const first = await send(url, '/api/orders', { method: 'POST', body: { item: 'tea' }, headers: headers('first') });
    const replay = await send(url, '/api/orders', { method: 'POST', body: { item: 'tea' }, headers: headers('second') });
    expect(first.json()).toEqual({ run: 1, item: 'tea' });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.text).toBe(first.text);
    expect(first.headers['x-request-id']).toBe('first');
    expect(replay.headers['x-request-id']).toBe('second');
    for (const r of [first, replay]) {
      expect(r.headers['access-control-allow-origin']).toBe('https://shop.example.com');
      expect(r.headers['access-control-expose-headers']).toContain('Idempotent-Replayed');
    }
    const refused = await send(url, '/api/orders', { method: 'POST', body: { item: 'coffee' }, headers: headers('third') });
    expect(refused.status).toBe(422);
    expect(refused.headers['x-request-id']).toBe('third');
    expect(refused.json()).toMatchObject({ code: 'KEY_MISMATCH', instance: '/api/orders', requestId: 'third' });
    expect(runs).toBe(1);
  });

  test('scope reads what an earlier middleware set on the context; paths outside the mount pass untouched', async () => {
    let runs = 0;
    const app = new Hono<{ Variables: { userId: string } }>();
    app.use('*', async (c, next) => {
      c.set('userId', c.req.header('x-user') ?? 'anonymous');
      await next();
    });
    app.use('/api/*', idempotency({ scope: (_request, c) => c.get('userId') }));
    app.post('/api/orders', (c) => c.json({ run: ++runs, user: c.get('userId') }, 201));
    app.post('/public/ping', (c) => c.json({ run: ++runs }));
    const url = await served(app);
    const key = createIdempotencyKey();
    const order = (user: string) => send(url, '/api/orders', { method: 'POST', body: {}, headers: { 'Idempotency-Key': key, 'X-User': user } });
    const a = await order('a');
    const b = await order('b');
    expect([a.json().user, b.json().user]).toEqual(['a', 'b']);
    expect((await order('a')).headers['idempotent-replayed']).toBe('true');
    const ping = await send(url, '/public/ping', { method: 'POST', body: {}, headers: { 'Idempotency-Key': key } });
    const again = await send(url, '/public/ping', { method: 'POST', body: {}, headers: { 'Idempotency-Key': key } });
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(again.json().run).toBe((ping.json().run as number) + 1);
  });

  test('handlers read the body through the cache: c.req.parseBody() of a form, c.req.text()', async () => {
    const app = new Hono();
    app.use('*', idempotency());
    app.post('/form', async (c) => c.json(await c.req.parseBody(), 201));
    app.post('/text', async (c) => c.text((await c.req.text()).toUpperCase(), 201));
    const url = await served(app);
    const form = await send(url, '/form', {
      method: 'POST',
      body: 'sku=tea&qty=2',
      headers: { 'Idempotency-Key': createIdempotencyKey(), 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(form.json()).toEqual({ sku: 'tea', qty: '2' });
    const text = await send(url, '/text', { method: 'POST', body: 'shout', headers: { 'Idempotency-Key': createIdempotencyKey(), 'Content-Type': 'text/plain' } });
    expect(text.text).toBe('SHOUT');
  });

  test("an HTTPException thrown by the handler reaches app.onError and releases the key, whatever status onError answers", async () => {
    let runs = 0;
    const app = new Hono();
    app.use('*', idempotency());
    app.post('/pay', (c) => {
      runs++;
      if (runs === 1) throw new HTTPException(402, { message: 'card declined' });
      return c.json({ paid: true }, 201);
    });
    app.onError((error, c) => c.json({ error: error.message }, error instanceof HTTPException ? error.status : 500));
    const url = await served(app);
    const key = createIdempotencyKey();
    const declined = await send(url, '/pay', { method: 'POST', body: {}, headers: { 'Idempotency-Key': key } });
    expect(declined.status).toBe(402);
    const retry = await send(url, '/pay', { method: 'POST', body: {}, headers: { 'Idempotency-Key': key } });
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(runs).toBe(2);
  });
});
