// What is particular to withIdempotency() from closed-loop/fetch, beyond the fifteen behaviours
// (idempotency-memory.test.ts): the wrapped handler keeps its signature, a streamed body is passed
// through as it is made (read once, not gathered), a body that breaks off or a client that leaves
// mid-body, and errors: 'next'. Over real HTTP through @hono/node-server where a client is involved;
// called directly where the caller is a framework (as Next.js calls a route handler).
import http from 'node:http';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createIdempotencyKey, isIdempotencyError, MemoryIdempotencyStore } from 'closed-loop';
import { withIdempotency } from 'closed-loop/fetch';
import { deferred, send } from '../express/idempotency-harness.js';
import { serveFetch } from './web-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  vi.restoreAllMocks();
});

async function served(fetch: (request: Request) => Promise<Response>): Promise<string> {
  const running = await serveFetch(fetch);
  cleanups.push(running.close);
  return running.url;
}

const post = (key: string, body: unknown = { item: 'book' }) =>
  new Request('http://shop.test/orders', { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body) });

const encoder = new TextEncoder();

describe('withIdempotency', () => {
  test('the wrapped handler keeps its signature: a Request subclass and extra arguments reach the handler and scope', async () => {
    class AppRequest extends Request {
      readonly user = 'u-1';
    }
    const seen: unknown[] = [];
    const handler = withIdempotency(
      async (request: AppRequest, context: { params: { shop: string } }, extra: number) => {
        seen.push([request.user, context.params.shop, extra, (await request.json()).item]);
        return Response.json({ shop: context.params.shop }, { status: 201 });
      },
      { scope: (request) => request.user },
    );
    const key = createIdempotencyKey();
    const make = () => new AppRequest(post(key));
    const first = await handler(make(), { params: { shop: 'north' } }, 7);
    const second = await handler(make(), { params: { shop: 'north' } }, 7);
    expect(first.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await second.json()).toEqual({ shop: 'north' });
    expect(seen).toEqual([['u-1', 'north', 7, 'book']]);
  });

  test('a plain Request is read once: the handler gets one made again with the same URL, method, headers, body and signal', async () => {
    const handed: Request[] = [];
    const handler = withIdempotency(async (request: Request) => {
      handed.push(request);
      return Response.json({ item: (await request.json()).item }, { status: 201 });
    });
    const controller = new AbortController();
    const key = createIdempotencyKey();
    const original = new Request('http://shop.test/orders?ref=1', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key, 'x-user': 'u-1' },
      body: JSON.stringify({ item: 'book' }),
      signal: controller.signal,
    });
    const first = await handler(original);
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ item: 'book' });
    const [request] = handed;
    expect(request).not.toBe(original);
    expect([request!.url, request!.method, request!.headers.get('x-user')]).toEqual([original.url, 'POST', 'u-1']);
    expect(request!.signal.aborted).toBe(false);
    controller.abort();
    expect(request!.signal.aborted).toBe(true);
    // The same request again is a replay: the bytes read once made its fingerprint.
    const again = await handler(post(key, { item: 'book' }));
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(handed).toHaveLength(1);
  });

  test('a request with a property of its own, or a fingerprint of the app, reaches the handler as it came', async () => {
    const handed: Request[] = [];
    const answer = async (request: Request) => {
      handed.push(request);
      return Response.json({ item: (await request.json()).item }, { status: 201 });
    };
    const marked = Object.assign(post(createIdempotencyKey()), { user: 'u-1' });
    await withIdempotency(answer)(marked);
    const plain = post(createIdempotencyKey());
    await withIdempotency(answer, { fingerprint: (request) => request.method })(plain);
    expect(handed[0]).toBe(marked);
    expect(handed[1]).toBe(plain);
  });

  test('a streamed body reaches the client as it is made, and is stored whole', async () => {
    let runs = 0;
    const gate = deferred();
    const url = await served(
      withIdempotency(async () => {
        runs++;
        let step = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            step++;
            if (step === 1) controller.enqueue(encoder.encode('first\n'));
            else if (step === 2) {
              await gate.promise;
              controller.enqueue(encoder.encode('second\n'));
            } else controller.close();
          },
        });
        return new Response(body, { status: 200, headers: { 'content-type': 'text/plain' } });
      }),
    );
    const key = createIdempotencyKey();
    const chunks: string[] = [];
    const firstChunk = deferred();
    const done = new Promise<void>((resolve, reject) => {
      const req = http.request(`${url}/export`, { method: 'POST', headers: { 'idempotency-key': key } }, (res) => {
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk.toString());
          firstChunk.resolve();
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    // The first chunk is out while the handler's stream is still waiting for its second.
    await firstChunk.promise;
    expect(chunks.join('')).toBe('first\n');
    gate.resolve();
    await done;
    expect(chunks.join('')).toBe('first\nsecond\n');
    const replay = await send(url, '/export', { method: 'POST', headers: { 'idempotency-key': key } });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.text).toBe('first\nsecond\n');
    expect(runs).toBe(1);
  });

  test('a body that breaks off releases the key: the retry runs the handler again', async () => {
    // @hono/node-server logs the broken stream; that is its business.
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    let runs = 0;
    const url = await served(
      withIdempotency(async () => {
        runs++;
        const failing = runs === 1;
        let step = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            step++;
            await new Promise((resolve) => setImmediate(resolve));
            if (step === 1) controller.enqueue(encoder.encode('part\n'));
            else if (failing) controller.error(new Error('the database went away'));
            else controller.close();
          },
        });
        return new Response(body, { status: 200 });
      }),
    );
    const key = createIdempotencyKey();
    await expect(send(url, '/export', { method: 'POST', headers: { 'idempotency-key': key } })).rejects.toThrow();
    const retry = await send(url, '/export', { method: 'POST', headers: { 'idempotency-key': key } });
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.text).toBe('part\n');
    expect(runs).toBe(2);
  });

  test('a client that leaves mid-body: the rest is read and stored, and its retry is replayed', async () => {
    let runs = 0;
    const produced = deferred();
    const url = await served(
      withIdempotency(async () => {
        runs++;
        let step = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            step++;
            await new Promise((resolve) => setTimeout(resolve, 5));
            if (step <= 20) controller.enqueue(encoder.encode(`line ${step}\n`));
            else {
              controller.close();
              produced.resolve();
            }
          },
        });
        return new Response(body, { status: 200, headers: { 'content-type': 'text/plain' } });
      }),
    );
    const key = createIdempotencyKey();
    await new Promise<void>((resolve) => {
      const req = http.request(`${url}/export`, { method: 'POST', headers: { 'idempotency-key': key } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.end();
    });
    await produced.promise;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const retry = await send(url, '/export', { method: 'POST', headers: { 'idempotency-key': key } });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.text).toBe(Array.from({ length: 20 }, (_, i) => `line ${i + 1}\n`).join(''));
    expect(runs).toBe(1);
  });

  test("a thrown error comes through as itself and releases the key; errors: 'next' rejects with the IdempotencyError", async () => {
    let runs = 0;
    const store = new MemoryIdempotencyStore();
    const failing = withIdempotency(
      async () => {
        runs++;
        if (runs === 1) throw new Error('boom');
        return new Response('ok', { status: 201 });
      },
      { store },
    );
    const key = createIdempotencyKey();
    await expect(failing(post(key))).rejects.toThrow('boom');
    expect((await failing(post(key))).status).toBe(201);
    expect(runs).toBe(2);

    const passing = withIdempotency(async () => new Response('ok', { status: 201 }), { store, errors: 'next', required: true });
    const missing = await passing(new Request('http://shop.test/orders', { method: 'POST' })).catch((error: unknown) => error);
    expect(isIdempotencyError(missing) && [missing.code, missing.status]).toEqual(['KEY_MISSING', 400]);
    const mismatch = await passing(post(key, { item: 'lamp' })).catch((error: unknown) => error);
    expect(isIdempotencyError(mismatch) && mismatch.code).toBe('KEY_MISMATCH');
  });
});
