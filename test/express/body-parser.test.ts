// A body the idempotency middleware cannot see. Its default fingerprint covers the parsed body
// (`req.body`): mounted before express.json(), or with no parser for the request's Content-Type, it
// would see no body, and a retry with the same key and a different body would be replayed instead of
// refused. Such a request is refused (500 problem+json, code BODY_NOT_PARSED), the handler does not
// run, nothing is stored, and the first one logs a warning that says how to mount it. Over real HTTP
// on Express 5 and 4 (Express 4's json parser sets `req.body = {}` for a type it does not parse).
import type { Express, RequestHandler } from 'express';
import { afterEach, beforeEach, describe, expect, test, vi, type MockInstance } from 'vitest';
import { MemoryIdempotencyStore, createIdempotencyKey } from 'closed-loop';
import { createIdempotencyMiddleware, errorHandler, getIdempotencyCacheStats } from 'closed-loop/express';
import { EXPRESS_VERSIONS } from './_extras.js';
import { type HttpResult, listen, open, send } from './idempotency-harness.js';

function expectBodyNotParsed(r: HttpResult): void {
  expect(r.status, r.text).toBe(500);
  expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = r.json();
  expect(problem).toMatchObject({ status: 500, title: 'Internal Server Error', code: 'BODY_NOT_PARSED' });
  expect(problem.detail).toMatch(/body parser/);
}

describe.each(EXPRESS_VERSIONS)('a body the idempotency middleware cannot see (%s)', (_name, express) => {
  const cleanups: Array<() => unknown> = [];
  let warn: MockInstance<typeof console.warn>;
  beforeEach(() => {
    warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    warn.mockRestore();
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  /** POST /orders counts its runs and echoes the body it got. */
  async function start(setup: (app: Express, middleware: RequestHandler) => void, options = {}) {
    const store = new MemoryIdempotencyStore();
    const runs: unknown[] = [];
    const app = express();
    setup(app, createIdempotencyMiddleware({ store, ...options }));
    app.post('/orders', (req, res) => {
      runs.push(req.body);
      res.status(201).json({ run: runs.length, body: req.body ?? null });
    });
    app.use(errorHandler({ onError: () => undefined }));
    const running = await listen(app);
    cleanups.push(running.close);
    const post = (key: string | undefined, body?: unknown, headers: Record<string, string> = {}) =>
      send(running.url, '/orders', { body, headers: key === undefined ? headers : { 'Idempotency-Key': key, ...headers } });
    return { store, runs, post, url: running.url };
  }

  test('mounted before express.json(): a JSON body is refused, the handler does not run, nothing is stored, one warning', async () => {
    const { store, runs, post } = await start((app, idempotency) => {
      app.use(idempotency);
      app.use(express.json());
    });
    const key = createIdempotencyKey();
    expectBodyNotParsed(await post(key, { sku: 'A1', qty: 1 }));
    // The same key with another body: refused too, never a replay of the first.
    const second = await post(key, { sku: 'A1', qty: 100 });
    expectBodyNotParsed(second);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    expectBodyNotParsed(await post(createIdempotencyKey(), { sku: 'B2' }));
    expect(runs).toEqual([]);
    expect(await getIdempotencyCacheStats(store)).toEqual({ entries: 0, inProgress: 0, completed: 0 });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/POST \/orders.*BODY_NOT_PARSED.*after express\.json\(\)/s);
  });

  test('mounted after express.json(): the body is fingerprinted (same body replays, another one is a 422)', async () => {
    const { runs, post } = await start((app, idempotency) => {
      app.use(express.json());
      app.use(idempotency);
    });
    const key = createIdempotencyKey();
    const first = await post(key, { sku: 'A1', qty: 1 });
    expect(first.status).toBe(201);
    expect(first.json()).toEqual({ run: 1, body: { sku: 'A1', qty: 1 } });
    const again = await post(key, { qty: 1, sku: 'A1' });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.text).toBe(first.text);
    const other = await post(key, { sku: 'A1', qty: 100 });
    expect(other.status).toBe(422);
    expect(other.json().code).toBe('KEY_MISMATCH');
    expect(runs).toHaveLength(1);
    expect(warn).not.toHaveBeenCalled();
  });

  test('a request with no body is unaffected, even with the middleware before the parser', async () => {
    const { runs, post } = await start((app, idempotency) => {
      app.use(idempotency);
      app.use(express.json());
    });
    const key = createIdempotencyKey();
    const first = await post(key); // no Content-Length, no Transfer-Encoding
    expect(first.status).toBe(201);
    expect((await post(key)).headers['idempotent-replayed']).toBe('true');
    const empty = createIdempotencyKey();
    expect((await post(empty, '', { 'Content-Length': '0', 'Content-Type': 'application/json' })).status).toBe(201);
    expect(runs).toHaveLength(2);
    expect(warn).not.toHaveBeenCalled();
  });

  test('a body of a Content-Type no parser handled (text/plain with only express.json()) is refused', async () => {
    const { store, runs, post } = await start((app, idempotency) => {
      app.use(express.json());
      app.use(idempotency);
    });
    const key = createIdempotencyKey();
    expectBodyNotParsed(await post(key, 'sku=A1', { 'Content-Type': 'text/plain' }));
    expectBodyNotParsed(await post(key, 'sku=B2', { 'Content-Type': 'text/plain' }));
    expect(runs).toEqual([]);
    expect((await getIdempotencyCacheStats(store)).entries).toBe(0);
    // A JSON body on the same app still works.
    expect((await post(createIdempotencyKey(), { sku: 'A1' })).status).toBe(201);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  test('a chunked body (Transfer-Encoding, no Content-Length) before the parser is refused', async () => {
    const { runs, url } = await start((app, idempotency) => {
      app.use(idempotency);
      app.use(express.json());
    });
    const { req, response } = open(url, '/orders', {
      headers: { 'Idempotency-Key': createIdempotencyKey(), 'Content-Type': 'application/json' },
    });
    req.write('{"sku":');
    req.end('"A1"}');
    const r = await response;
    expect(r.headers['transfer-encoding']).toBeUndefined(); // the answer has a length; the request was chunked
    expectBodyNotParsed(r);
    expect(runs).toEqual([]);
  });

  test('a request without a key passes through untouched, body or not', async () => {
    const { runs, post } = await start((app, idempotency) => {
      app.use(idempotency);
      app.use(express.json());
    });
    expect((await post(undefined, { sku: 'A1' })).status).toBe(201);
    expect(runs).toEqual([{ sku: 'A1' }]);
    expect(warn).not.toHaveBeenCalled();
  });

  test("errors: 'next' hands the error to the app's error handler (500, code BODY_NOT_PARSED)", async () => {
    const { runs, post } = await start(
      (app, idempotency) => {
        app.use(idempotency);
        app.use(express.json());
      },
      { errors: 'next' },
    );
    const r = await post(createIdempotencyKey(), { sku: 'A1' });
    expect(r.status).toBe(500);
    expect(r.json()).toMatchObject({ status: 500, code: 'BODY_NOT_PARSED' });
    expect(runs).toEqual([]);
  });

  test('a fingerprint of its own is not second-guessed: the app decides what identifies a request', async () => {
    const { runs, post } = await start(
      (app, idempotency) => {
        app.use(idempotency);
        app.use(express.json());
      },
      { fingerprint: (req: { method: string; path: string }) => `${req.method} ${req.path}` },
    );
    expect((await post(createIdempotencyKey(), { sku: 'A1' })).status).toBe(201);
    expect(runs).toHaveLength(1);
    expect(warn).not.toHaveBeenCalled();
  });
});
