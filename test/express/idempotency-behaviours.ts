// The contract's fifteen idempotency behaviours, over real HTTP against real servers, for any
// server (Express 5 and 4, withIdempotency from closed-loop/fetch, Hono's middleware) and any
// IdempotencyStore. Routes are written once, server-neutrally (server-under-test.ts); each server
// translates them. Run by test/express, test/redis, test/fetch and test/hono with a server and a
// store factory; not a test file itself.
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { type Clock, type IdempotencyStore, ManualClock, createIdempotencyKey } from 'closed-loop';
import {
  type HttpResult,
  deferred,
  downStore,
  eventually,
  hangingStoreWithTimeout,
  open,
  overrideStore,
  pause,
  send,
  slowStore,
  spyStore,
} from './idempotency-harness.js';
import type { GuardOptions, Route, RouteHandler, ServeExtras, ServerUnderTest } from './server-under-test.js';

/** A store made for one test; `close` is called after it. */
export interface MadeStore {
  store: IdempotencyStore;
  close?: () => Promise<void>;
}

/** What the suite runs against. */
export interface IdempotencySuiteSetup {
  /** The server, with its guard. */
  server: ServerUnderTest;
  /** Makes a fresh store; `clock`, when given, drives its leases and expiry. */
  makeStore: (opts?: { clock?: Clock }) => Promise<MadeStore> | MadeStore;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  409: 'Conflict',
  422: 'Unprocessable Entity',
  503: 'Service Unavailable',
};

/** Asserts an RFC 9457 problem answer from the guard. */
export function expectProblem(r: HttpResult, status: number, code: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = r.json() as { detail: string };
  expect(problem).toMatchObject({ type: 'about:blank', title: TITLES[status], status, code });
  expect(typeof problem.detail).toBe('string');
  expect(problem.detail.length).toBeGreaterThan(0);
}

/** Asserts `second` is a byte-for-byte replay of `first`. */
function expectReplayOf(second: HttpResult, first: HttpResult): void {
  expect(second.status).toBe(first.status);
  expect(second.headers['idempotent-replayed']).toBe('true');
  expect(first.headers['idempotent-replayed']).toBeUndefined();
  expect(Buffer.compare(second.body, first.body)).toBe(0);
  for (const name of ['content-type', 'location', 'content-location', 'etag', 'last-modified']) {
    expect(second.headers[name], name).toBe(first.headers[name]);
  }
  expect(second.headers['idempotent-body-omitted']).toBeUndefined();
}

const route = (method: string, path: string, handle: RouteHandler): Route => ({ method, path, handle });

/**
 * Registers the behaviour suite.
 *
 * @param name - what the suite runs on, e.g. 'Express 5, memory store'
 * @param setup - the server and a store factory
 */
export function describeIdempotencyBehaviours(name: string, setup: IdempotencySuiteSetup): void {
  const server = setup.server;

  describe(`idempotency behaviours (${name})`, () => {
    const cleanups: Array<() => unknown> = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    beforeAll(() => {
      process.on('unhandledRejection', onUnhandled);
    });
    afterAll(() => {
      process.off('unhandledRejection', onUnhandled);
    });
    afterEach(async () => {
      while (cleanups.length > 0) await cleanups.pop()!();
    });

    async function newStore(opts?: { clock?: Clock }): Promise<IdempotencyStore> {
      const made = await setup.makeStore(opts);
      if (made.close) cleanups.push(made.close);
      return made.store;
    }

    /** `routes` behind the guard (none when `guard` is undefined), on a loopback port. */
    async function serve(guard: GuardOptions | undefined, routes: Route[], extras?: ServeExtras): Promise<string> {
      const running = await server.serve(guard, routes, extras);
      cleanups.push(running.close);
      return running.url;
    }

    /** Guard options on a fresh store from the factory (unless one is given). */
    async function guard(options: GuardOptions = {}): Promise<GuardOptions> {
      return { store: options.store ?? (await newStore({ ...(options.clock && { clock: options.clock }) })), ...options };
    }

    /** POST /orders: counts runs, answers 201 with a Location and the run number. */
    function orders(counter: { runs: number }): Route[] {
      return [
        route('POST', '/orders', (req) => {
          const run = ++counter.runs;
          return { status: 201, headers: { Location: `/orders/${run}` }, json: { run, item: req.body?.item ?? null } };
        }),
      ];
    }

    const post = (url: string, key: string | string[] | undefined, body: unknown = { item: 'book' }, headers: Record<string, string | string[]> = {}, path = '/orders') =>
      send(url, path, { method: 'POST', body, headers: key === undefined ? headers : { 'Idempotency-Key': key, ...headers } });

    /** POSTs JSON with `target` sent as the request target exactly as written. */
    const rawPost = (url: string, target: string, key: string, body: unknown): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
      new Promise((resolve, reject) => {
        const { hostname, port } = new URL(url);
        const payload = Buffer.from(JSON.stringify(body));
        const req = http.request(
          { host: hostname, port, method: 'POST', path: target, agent: false, headers: { 'content-type': 'application/json', 'content-length': payload.length, 'idempotency-key': key } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });

    describe('1. header names match case-insensitively; "abc" and abc are one key', () => {
      test('the header name in any case carries the same key', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard(), orders(counter));
        const key = createIdempotencyKey();
        const first = await send(url, '/orders', { body: { item: 'a' }, headers: { 'idempotency-key': key } });
        const second = await send(url, '/orders', { body: { item: 'a' }, headers: { 'IDEMPOTENCY-KEY': key } });
        const third = await send(url, '/orders', { body: { item: 'a' }, headers: { 'iDeMpOtEnCy-KeY': key } });
        expect(first.status).toBe(201);
        expectReplayOf(second, first);
        expectReplayOf(third, first);
        expect(counter.runs).toBe(1);
      });

      test('the structured-field string form "abc" means the bare token abc', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard(), orders(counter));
        const key = createIdempotencyKey();
        const quoted = await post(url, `"${key}"`);
        const bare = await post(url, key);
        expect(quoted.status).toBe(201);
        expectReplayOf(bare, quoted);
        expect(counter.runs).toBe(1);
      });

      test('the legacy X-Idempotency-Key is accepted and is the same key', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard(), orders(counter));
        const key = createIdempotencyKey();
        const legacy = await send(url, '/orders', { body: { item: 'book' }, headers: { 'x-idempotency-key': key } });
        const modern = await post(url, key);
        expect(legacy.status).toBe(201);
        expectReplayOf(modern, legacy);
        expect(counter.runs).toBe(1);
      });

      test('both headers with one key are fine; with two different keys it is 400 KEY_INVALID', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard(), orders(counter));
        const key = createIdempotencyKey();
        const same = await post(url, key, { item: 'book' }, { 'X-Idempotency-Key': key });
        expect(same.status).toBe(201);
        const differ = await post(url, createIdempotencyKey(), { item: 'book' }, { 'X-Idempotency-Key': createIdempotencyKey() });
        expectProblem(differ, 400, 'KEY_INVALID');
        expect(counter.runs).toBe(1);
      });
    });

    describe('2. methods outside `methods` pass through untouched, header or not', () => {
      test('GET and DELETE with a key run every time and are never replayed or claimed', async () => {
        let runs = 0;
        const store = spyStore(await newStore());
        const url = await serve(await guard({ store }), [
          route('GET', '/things', () => ({ status: 200, json: { runs: ++runs } })),
          route('DELETE', '/things', () => ({ status: 200, json: { runs: ++runs } })),
        ]);
        const key = createIdempotencyKey();
        for (const method of ['GET', 'GET', 'DELETE', 'DELETE']) {
          const r = await send(url, '/things', { method, headers: { 'Idempotency-Key': key } });
          expect(r.status).toBe(200);
          expect(r.headers['idempotent-replayed']).toBeUndefined();
        }
        expect(runs).toBe(4);
        expect(store.calls.claim).toBe(0);
      });

      test('an invalid key on a pass-through method is not even looked at', async () => {
        let runs = 0;
        const url = await serve(await guard({ required: true }), [route('GET', '/things', () => ({ status: 200, json: { runs: ++runs } }))]);
        expect((await send(url, '/things', { method: 'GET', headers: { 'Idempotency-Key': '' } })).status).toBe(200);
        expect((await send(url, '/things', { method: 'GET', headers: { 'Idempotency-Key': 'x'.repeat(1000) } })).status).toBe(200);
        expect((await send(url, '/things', { method: 'GET' })).status).toBe(200);
        expect(runs).toBe(3);
      });
    });

    describe('3. a missing key passes through (or 400 when required); a bad key is 400 and nothing runs', () => {
      test('no key: the handler runs every time, nothing is stored', async () => {
        const counter = { runs: 0 };
        const store = spyStore(await newStore());
        const url = await serve(await guard({ store }), orders(counter));
        const a = await post(url, undefined);
        const b = await post(url, undefined);
        expect([a.status, b.status]).toEqual([201, 201]);
        expect(b.headers['idempotent-replayed']).toBeUndefined();
        expect(counter.runs).toBe(2);
        expect(store.calls.claim).toBe(0);
      });

      test('no key with `required`: 400 KEY_MISSING, the handler does not run', async () => {
        const counter = { runs: 0 };
        const store = spyStore(await newStore());
        const url = await serve(await guard({ store, required: true }), orders(counter));
        expectProblem(await post(url, undefined), 400, 'KEY_MISSING');
        expect(counter.runs).toBe(0);
        expect(store.calls.claim).toBe(0);
        expect((await post(url, createIdempotencyKey())).status).toBe(201);
      });

      const invalid: Array<[string, string | string[]]> = [
        ['empty', ''],
        ['only spaces', '   '],
        ['an empty string "" ', '""'],
        ['256 characters (over the default 255)', 'k'.repeat(256)],
        ['a control character (tab)', 'abc\tdef'],
        ['a non-ASCII character', 'caf\u00e9'],
        ['a repeated header', ['one', 'two']],
        ['a list of two values', 'one, two'],
        ['two structured-field strings', '"one", "two"'],
        ['an unterminated string', '"abc'],
      ];
      for (const [what, value] of invalid) {
        test(`a key that is ${what}: 400 KEY_INVALID, nothing runs or is stored`, async () => {
          const counter = { runs: 0 };
          const store = spyStore(await newStore());
          const url = await serve(await guard({ store }), orders(counter));
          expectProblem(await post(url, value), 400, 'KEY_INVALID');
          expect(counter.runs).toBe(0);
          expect(store.calls.claim).toBe(0);
        });
      }

      test('a key of exactly 255 characters is accepted', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard(), orders(counter));
        const key = `${createIdempotencyKey()}-`.padEnd(255, 'x');
        const first = await post(url, key);
        expect(first.status).toBe(201);
        expectReplayOf(await post(url, key), first);
        expect(counter.runs).toBe(1);
      });
    });

    describe('4. a new key runs the handler once and its response reaches the client unchanged', () => {
      test('status, body, headers and cookies are those of the same app without the guard', async () => {
        let runs = 0;
        const routes = [
          route('POST', '/orders', (req) => {
            runs++;
            return {
              status: 201,
              cookies: { session: 'abc' },
              headers: { 'X-Custom': 'kept', 'Last-Modified': 'Wed, 01 Jan 2020 00:00:00 GMT', Location: '/orders/7' },
              json: { id: 7, item: req.body?.item, text: 'h\u00e9llo \u2713' },
            };
          }),
        ];
        const guarded = await serve(await guard(), routes);
        const without = await serve(undefined, routes);
        const a = await post(guarded, createIdempotencyKey(), { item: 'pen' });
        const b = await post(without, createIdempotencyKey(), { item: 'pen' });
        expect(runs).toBe(2);
        expect(a.status).toBe(201);
        expect(a.status).toBe(b.status);
        expect(Buffer.compare(a.body, b.body)).toBe(0);
        for (const h of ['content-type', 'content-length', 'location', 'etag', 'last-modified', 'x-custom', 'set-cookie']) {
          expect(a.headers[h], h).toEqual(b.headers[h]);
        }
        expect(a.headers['idempotent-replayed']).toBeUndefined();
      });
    });

    describe('5. a completed key replays status, body bytes and allow-listed headers, for every send path', () => {
      for (const [path, native] of server.sendPaths) {
        test(`${path}: the retry gets the same bytes and the handler ran once`, async () => {
          const runs = { count: 0 };
          const url = await serve(await guard(), [{ method: 'POST', path: '/send', native: counted(native, runs) }]);
          const key = createIdempotencyKey();
          const first = await post(url, key, { n: 1 }, {}, '/send');
          const second = await post(url, key, { n: 1 }, {}, '/send');
          const third = await post(url, key, { n: 1 }, {}, '/send');
          expect(first.status).toBeLessThan(300);
          expectReplayOf(second, first);
          expectReplayOf(third, first);
          expect(runs.count).toBe(1);
        });
      }

      test('Set-Cookie, Date and X-Request-ID are never replayed; other headers only when listed', async () => {
        let runs = 0;
        const routes = [
          route('POST', '/orders', () => {
            runs++;
            return {
              status: 201,
              cookies: { session: 'secret' },
              headers: { Date: 'Wed, 01 Jan 2020 00:00:00 GMT', 'X-Request-ID': 'req-1', 'X-Custom': 'c', 'X-Other': 'o' },
              json: { ok: true },
            };
          }),
        ];
        const url = await serve(await guard({ replayHeaders: ['X-Custom', 'Set-Cookie', 'Date', 'x-request-id'] }), routes);
        const key = createIdempotencyKey();
        const first = await post(url, key);
        expect(first.headers['set-cookie']).toBeDefined();
        expect(first.headers.date).toBe('Wed, 01 Jan 2020 00:00:00 GMT');
        expect(first.headers['x-request-id']).toBe('req-1');
        const second = await post(url, key);
        expectReplayOf(second, first);
        expect(second.headers['set-cookie']).toBeUndefined();
        expect(second.headers.date).not.toBe('Wed, 01 Jan 2020 00:00:00 GMT');
        expect(second.headers['x-request-id']).toBeUndefined();
        expect(second.headers['x-custom']).toBe('c');
        expect(second.headers['x-other']).toBeUndefined();
        expect(runs).toBe(1);
      });

      for (const how of ['a body sent at once', 'a streamed body'] as const) {
        test(`${how} over maxResponseBytes reaches its client whole; the retry gets no body and Idempotent-Body-Omitted`, async () => {
          let runs = 0;
          const big = 'x'.repeat(5000);
          const url = await serve(await guard({ maxResponseBytes: 1024 }), [
            route('POST', '/big', () => {
              runs++;
              const headers = { Location: '/big/1', 'Content-Type': 'text/plain; charset=utf-8' };
              return how === 'a body sent at once'
                ? { status: 201, headers, text: big }
                : { status: 201, headers, chunks: Array.from({ length: 10 }, (_, i) => big.slice(i * 500, (i + 1) * 500)) };
            }),
          ]);
          const key = createIdempotencyKey();
          const first = await post(url, key, {}, {}, '/big');
          expect(first.status).toBe(201);
          expect(first.text).toBe(big);
          const second = await post(url, key, {}, {}, '/big');
          expect(second.status).toBe(201);
          expect(second.body.length).toBe(0);
          expect(second.headers['idempotent-replayed']).toBe('true');
          expect(second.headers['idempotent-body-omitted']).toBe('true');
          expect(second.headers.location).toBe('/big/1');
          expect(runs).toBe(1);
        });
      }

      test('a retry sent the moment the response arrives replays, even when the store is slow to write', async () => {
        const counter = { runs: 0 };
        const base = await newStore();
        const store = overrideStore(base, {
          complete: async (k, l, r, t) => {
            await pause(50);
            return base.complete(k, l, r, t);
          },
        });
        const url = await serve({ store }, orders(counter));
        const key = createIdempotencyKey();
        const first = await post(url, key);
        expectReplayOf(await post(url, key), first);
        expect(counter.runs).toBe(1);
      });

      test('a body of exactly maxResponseBytes is stored whole', async () => {
        let runs = 0;
        const url = await serve(await guard({ maxResponseBytes: 1024 }), [
          route('POST', '/edge', () => {
            runs++;
            return { status: 200, headers: { 'Content-Type': 'text/plain' }, text: 'y'.repeat(1024) };
          }),
        ]);
        const key = createIdempotencyKey();
        const first = await post(url, key, {}, {}, '/edge');
        const second = await post(url, key, {}, {}, '/edge');
        expectReplayOf(second, first);
        expect(second.body.length).toBe(1024);
        expect(runs).toBe(1);
      });
    });

    describe('6. a client-sent Idempotent-Replayed request header changes nothing', () => {
      test('on a new key the handler runs and the answer is not marked replayed; on a replay it still is', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard(), orders(counter));
        const key = createIdempotencyKey();
        const first = await post(url, key, { item: 'a' }, { 'Idempotent-Replayed': 'true' });
        expect(first.status).toBe(201);
        expect(first.headers['idempotent-replayed']).toBeUndefined();
        expect(counter.runs).toBe(1);
        const second = await post(url, key, { item: 'a' }, { 'Idempotent-Replayed': 'false' });
        expectReplayOf(second, first);
        expect(counter.runs).toBe(1);
      });
    });

    describe('7. the same key with a different request is 422 and the record stays', () => {
      test('a different body: 422 KEY_MISMATCH; the original request still replays', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard(), orders(counter));
        const key = createIdempotencyKey();
        const first = await post(url, key, { item: 'book' });
        expectProblem(await post(url, key, { item: 'lamp' }), 422, 'KEY_MISMATCH');
        expectReplayOf(await post(url, key, { item: 'book' }), first);
        expect(counter.runs).toBe(1);
      });

      test("the same key on another route or method never gets the other route's response", async () => {
        let runs = 0;
        const url = await serve(await guard(), [
          route('POST', '/a', () => ({ status: 201, json: { route: 'a', run: ++runs } })),
          route('POST', '/b', () => ({ status: 201, json: { route: 'b', run: ++runs } })),
          route('PUT', '/a', () => ({ status: 200, json: { route: 'put a', run: ++runs } })),
        ]);
        const key = createIdempotencyKey();
        const a = await post(url, key, { x: 1 }, {}, '/a');
        expect(a.json()).toMatchObject({ route: 'a' });
        const b = await post(url, key, { x: 1 }, {}, '/b');
        expectProblem(b, 422, 'KEY_MISMATCH');
        expect(b.text).not.toContain('"route"');
        const put = await send(url, '/a', { method: 'PUT', body: { x: 1 }, headers: { 'Idempotency-Key': key } });
        expectProblem(put, 422, 'KEY_MISMATCH');
        expect(runs).toBe(1);
      });

      test('the fingerprint is canonical: key order and whitespace do not matter', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard(), orders(counter));
        const key = createIdempotencyKey();
        const first = await send(url, '/orders', {
          body: '{"item":"book","qty":2,"meta":{"a":1,"b":[1,2]}}',
          headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' },
        });
        const reordered = await send(url, '/orders', {
          body: '{ "meta" : { "b" : [ 1 , 2 ], "a" : 1 },\n  "qty": 2,\t"item": "book" }',
          headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' },
        });
        expectReplayOf(reordered, first);
        expect(counter.runs).toBe(1);
      });

      test('the query string is not part of the default fingerprint', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard(), orders(counter));
        const key = createIdempotencyKey();
        const first = await post(url, key, { item: 'b' }, {}, '/orders?page=1');
        expectReplayOf(await post(url, key, { item: 'b' }, {}, '/orders?page=2'), first);
        expect(counter.runs).toBe(1);
      });

      test('the fingerprint path is the concrete one: a router mounted twice is two routes, its query is not part of it', async () => {
        let runs = 0;
        const running = await server.serveMounted(await guard(), (req) => ({ status: 201, json: { run: ++runs, at: req.path } }));
        cleanups.push(running.close);
        const url = running.url;
        const key = createIdempotencyKey();
        const first = await post(url, key, { item: 'b' }, {}, '/v1/orders?page=1');
        expect(first.json()).toEqual({ run: 1, at: '/v1/orders' });
        expectReplayOf(await post(url, key, { item: 'b' }, {}, '/v1/orders?page=2'), first);
        // Same router, same route ('/orders'), another mount point: another request.
        expectProblem(await post(url, key, { item: 'b' }, {}, '/v2/orders'), 422, 'KEY_MISMATCH');
        expect(runs).toBe(1);
      });

      test('a request target in absolute form or with a fragment has the same path as the plain one', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard(), orders(counter));
        const key = createIdempotencyKey();
        const first = await post(url, key, { item: 'b' });
        // Raw request targets: a URL-based client would normalise them away.
        for (const target of [`${url}/orders`, '/orders#frag', '/orders?x=1#frag']) {
          const replay = await rawPost(url, target, key, { item: 'b' });
          expect(replay.status, target).toBe(201);
          expect(replay.headers['idempotent-replayed'], target).toBe('true');
          expect(replay.body.equals(first.body), target).toBe(true);
        }
        expect(counter.runs).toBe(1);
      });

      test('the fingerprint is fixed at claim time even if the handler mutates its body', async () => {
        let runs = 0;
        const url = await serve(await guard(), [
          route('POST', '/mutate', (req) => {
            runs++;
            req.body!.item = 'changed';
            req.body!.added = true;
            delete req.body!.qty;
            return { status: 201, json: { run: runs } };
          }),
        ]);
        const key = createIdempotencyKey();
        const first = await post(url, key, { item: 'book', qty: 1 }, {}, '/mutate');
        expectReplayOf(await post(url, key, { item: 'book', qty: 1 }, {}, '/mutate'), first);
        expectProblem(await post(url, key, { item: 'changed', added: true }, {}, '/mutate'), 422, 'KEY_MISMATCH');
        expect(runs).toBe(1);
      });
    });

    describe('8. the same key in flight is 409 with Retry-After (or waits); exactly one execution', () => {
      /** A route whose handler holds until `gate` opens. */
      function gated(counter: { runs: number }, gate: Promise<void>, entered?: () => void): Route[] {
        return [
          route('POST', '/orders', async (req) => {
            const run = ++counter.runs;
            entered?.();
            await gate;
            return { status: 201, headers: { Location: `/orders/${run}` }, json: { run, item: req.body?.item } };
          }),
        ];
      }

      test('a retry while the first runs gets 409 KEY_IN_USE with Retry-After; the 409 is never stored', async () => {
        const counter = { runs: 0 };
        const gate = deferred();
        const entered = deferred();
        const url = await serve(await guard(), gated(counter, gate.promise, entered.resolve));
        const key = createIdempotencyKey();
        const first = post(url, key);
        await entered.promise;
        const busy = await post(url, key);
        expectProblem(busy, 409, 'KEY_IN_USE');
        expect(busy.headers['retry-after']).toMatch(/^[1-9]\d*$/);
        gate.resolve();
        const done = await first;
        expect(done.status).toBe(201);
        expectReplayOf(await post(url, key), done);
        expect(counter.runs).toBe(1);
      });

      test('20 parallel requests with one key: one execution, 19 answered 409', async () => {
        const counter = { runs: 0 };
        const gate = deferred();
        const url = await serve(await guard(), gated(counter, gate.promise));
        const key = createIdempotencyKey();
        let answered = 0;
        const all = Array.from({ length: 20 }, () =>
          post(url, key).then((r) => {
            answered++;
            return r;
          }),
        );
        await eventually(async () => answered, (n) => n >= 19, 5000);
        gate.resolve();
        const results = await Promise.all(all);
        expect(counter.runs).toBe(1);
        expect(results.filter((r) => r.status === 201)).toHaveLength(1);
        expect(results.filter((r) => r.status === 409)).toHaveLength(19);
      });

      test('20 parallel requests across two app instances sharing one store: one execution', async () => {
        const counter = { runs: 0 };
        const gate = deferred();
        const store = await newStore();
        const one = await serve({ store }, gated(counter, gate.promise));
        const two = await serve({ store }, gated(counter, gate.promise));
        const key = createIdempotencyKey();
        let answered = 0;
        const all = Array.from({ length: 20 }, (_, i) =>
          post(i % 2 === 0 ? one : two, key).then((r) => {
            answered++;
            return r;
          }),
        );
        await eventually(async () => answered, (n) => n >= 19, 5000);
        gate.resolve();
        const results = await Promise.all(all);
        expect(counter.runs).toBe(1);
        expect(results.filter((r) => r.status === 201)).toHaveLength(1);
        expect(results.filter((r) => r.status === 409)).toHaveLength(19);
        // Each instance replays the one result.
        expectReplayOf(await post(two, key), results.find((r) => r.status === 201)!);
        expect((await post(one, key)).headers['idempotent-replayed']).toBe('true');
      });

      test('a store slow around every read and write still gives exactly one execution', async () => {
        let runs = 0;
        const store = slowStore(await newStore(), () => Math.floor(Math.random() * 15));
        const routes = [
          route('POST', '/orders', async () => {
            runs++;
            await pause(30);
            return { status: 201, json: { ok: true } };
          }),
        ];
        const one = await serve({ store }, routes);
        const two = await serve({ store }, routes);
        const key = createIdempotencyKey();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 ? one : two, key)));
        expect(runs).toBe(1);
        for (const r of results) expect([201, 409]).toContain(r.status);
        expect(results.filter((r) => r.status === 201 && !r.headers['idempotent-replayed'])).toHaveLength(1);
      });

      test("with concurrent: 'wait', 20 parallel requests all get the one response", async () => {
        const counter = { runs: 0 };
        const gate = deferred();
        const clock = new ManualClock(Date.now());
        const store = spyStore(await newStore({ clock }));
        const url = await serve({ store, clock, concurrent: 'wait' }, gated(counter, gate.promise));
        const key = createIdempotencyKey();
        let answered = 0;
        const all = Array.from({ length: 20 }, () =>
          post(url, key).then((r) => {
            answered++;
            return r;
          }),
        );
        await eventually(async () => store.calls.claim, (n) => n >= 20, 5000);
        expect(answered).toBe(0);
        gate.resolve();
        // The waiters poll the store on the clock: move it until they have all answered.
        await eventually(
          async () => {
            await clock.advance(100);
            return answered;
          },
          (n) => n === 20,
          5000,
        );
        const results = await Promise.all(all);
        expect(counter.runs).toBe(1);
        const executed = results.filter((r) => !r.headers['idempotent-replayed']);
        expect(executed).toHaveLength(1);
        for (const r of results) {
          expect(r.status).toBe(201);
          expect(Buffer.compare(r.body, executed[0]!.body)).toBe(0);
        }
      });
    });

    describe('9. with `scope`, the same key in two scopes is two keys', () => {
      test('two tenants with one key each run once and replay only their own response', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard({ scopeHeader: 'x-tenant' }), orders(counter));
        const key = createIdempotencyKey();
        const a = await post(url, key, { item: 'x' }, { 'X-Tenant': 'a' });
        const b = await post(url, key, { item: 'x' }, { 'X-Tenant': 'b' });
        expect(counter.runs).toBe(2);
        expect(a.json().run).not.toBe(b.json().run);
        expectReplayOf(await post(url, key, { item: 'x' }, { 'X-Tenant': 'a' }), a);
        expectReplayOf(await post(url, key, { item: 'x' }, { 'X-Tenant': 'b' }), b);
        // No scope is a key space of its own too.
        const none = await post(url, key, { item: 'x' });
        expect(none.headers['idempotent-replayed']).toBeUndefined();
        expect(counter.runs).toBe(3);
      });

      test('scopes and keys cannot be combined to collide ("a:b" + "c" vs "a" + "b:c")', async () => {
        const counter = { runs: 0 };
        const url = await serve(await guard({ scopeHeader: 'x-tenant' }), orders(counter));
        const suffix = createIdempotencyKey();
        const one = await post(url, `b:${suffix}`, { item: 'x' }, { 'X-Tenant': 'a' });
        const two = await post(url, suffix, { item: 'x' }, { 'X-Tenant': 'a:b' });
        const three = await post(url, `a:b:${suffix}`, { item: 'x' });
        for (const r of [one, two, three]) {
          expect(r.status).toBe(201);
          expect(r.headers['idempotent-replayed']).toBeUndefined();
        }
        expect(counter.runs).toBe(3);
      });
    });

    describe('10. 2xx-4xx responses are stored; a 5xx or a thrown error releases the key', () => {
      for (const status of [200, 201, 302, 400, 404, 409, 422]) {
        test(`a ${status} from the handler is stored and replayed`, async () => {
          let runs = 0;
          const url = await serve(await guard(), [route('POST', '/status', () => ({ status, json: { status, run: ++runs } }))]);
          const key = createIdempotencyKey();
          const first = await post(url, key, {}, {}, '/status');
          expect(first.status).toBe(status);
          expectReplayOf(await post(url, key, {}, {}, '/status'), first);
          expect(runs).toBe(1);
        });
      }

      for (const status of [500, 502, 503]) {
        test(`a ${status} from the handler releases the key: the retry runs again`, async () => {
          let runs = 0;
          const url = await serve(await guard(), [
            route('POST', '/flaky', () => {
              runs++;
              return runs === 1 ? { status, json: { error: 'down' } } : { status: 201, json: { run: runs } };
            }),
          ]);
          const key = createIdempotencyKey();
          expect((await post(url, key, {}, {}, '/flaky')).status).toBe(status);
          const retry = await post(url, key, {}, {}, '/flaky');
          expect(retry.status).toBe(201);
          expect(retry.headers['idempotent-replayed']).toBeUndefined();
          expectReplayOf(await post(url, key, {}, {}, '/flaky'), retry);
          expect(runs).toBe(2);
        });
      }

      for (const how of ['thrown', 'failed later (a rejection; next(err) in Express)'] as const) {
        test(`an error ${how} releases the key: the retry runs again`, async () => {
          let runs = 0;
          const url = await serve(await guard(), [
            route('POST', '/throws', async (): Promise<{ status: number; json: unknown }> => {
              runs++;
              if (runs === 1) {
                if (how === 'thrown') throw new Error('boom');
                await new Promise((resolve) => setImmediate(resolve));
                throw new Error('boom later');
              }
              return { status: 201, json: { run: runs } };
            }),
          ]);
          const key = createIdempotencyKey();
          expect((await post(url, key, {}, {}, '/throws')).status).toBe(500);
          const retry = await post(url, key, {}, {}, '/throws');
          expect(retry.status).toBe(201);
          expect(retry.headers['idempotent-replayed']).toBeUndefined();
          expect(runs).toBe(2);
        });
      }

      test('with cacheServerErrors a 500 is stored and replayed', async () => {
        let runs = 0;
        const url = await serve(await guard({ cacheServerErrors: true }), [
          route('POST', '/fails', () => {
            runs++;
            return { status: 500, json: { error: 'permanent' } };
          }),
        ]);
        const key = createIdempotencyKey();
        const first = await post(url, key, {}, {}, '/fails');
        expect(first.status).toBe(500);
        expectReplayOf(await post(url, key, {}, {}, '/fails'), first);
        expect(runs).toBe(1);
      });
    });

    describe('11. a client that disconnects mid-request does not stop the handler', () => {
      test('the result is stored and a retry gets it', async () => {
        let runs = 0;
        const entered = deferred();
        const finished = deferred();
        const url = await serve(await guard(), [
          route('POST', '/slow', async (req) => {
            runs++;
            entered.resolve();
            // Wait until the client has gone away, then answer anyway.
            await req.disconnected();
            setImmediate(() => finished.resolve());
            return { status: 201, headers: { Location: '/slow/1' }, json: { done: true, item: req.body?.item } };
          }),
        ]);
        const key = createIdempotencyKey();
        const first = open(url, '/slow', { method: 'POST', body: { item: 'gone' }, headers: { 'Idempotency-Key': key } });
        first.response.catch(() => undefined);
        first.req.end(first.payload);
        await entered.promise;
        first.req.destroy();
        await expect(first.response).rejects.toThrow();
        await finished.promise;
        const retry = await eventually(
          () => post(url, key, { item: 'gone' }, {}, '/slow'),
          (r) => r.status !== 409,
        );
        expect(retry.status).toBe(201);
        expect(retry.headers['idempotent-replayed']).toBe('true');
        expect(retry.headers.location).toBe('/slow/1');
        expect(retry.json()).toEqual({ done: true, item: 'gone' });
        expect(runs).toBe(1);
      });
    });

    describe('12. a crashed handler leaves a lease that one retry takes over after leaseMs', () => {
      test('the takeover runs once, and the stalled first holder cannot overwrite its result', async () => {
        const clock = new ManualClock(Date.now());
        const store = await newStore({ clock });
        let runs = 0;
        const entered = deferred();
        const stalled = deferred();
        const url = await serve({ store, clock, leaseMs: 1000 }, [
          route('POST', '/orders', async () => {
            const run = ++runs;
            if (run === 1) {
              entered.resolve();
              await stalled.promise; // the first holder hangs (as good as crashed)
            }
            return { status: 201, json: { by: run === 1 ? 'first' : 'takeover' } };
          }),
        ]);
        const key = createIdempotencyKey();
        const first = post(url, key);
        await entered.promise;

        await clock.advance(999);
        expectProblem(await post(url, key), 409, 'KEY_IN_USE');
        await clock.advance(2);

        // Several retries at once once the lease ran out: exactly one takes over.
        const retries = await Promise.all(Array.from({ length: 5 }, () => post(url, key)));
        expect(runs).toBe(2);
        const takeover = retries.filter((r) => r.status === 201 && !r.headers['idempotent-replayed']);
        expect(takeover).toHaveLength(1);
        expect(takeover[0]!.json()).toEqual({ by: 'takeover' });
        for (const r of retries) expect([201, 409]).toContain(r.status);

        // The first holder wakes up late: its client gets its answer, but the store keeps the takeover's.
        stalled.resolve();
        const late = await first;
        expect(late.json()).toEqual({ by: 'first' });
        const after = await post(url, key);
        expect(after.headers['idempotent-replayed']).toBe('true');
        expect(after.json()).toEqual({ by: 'takeover' });
        expect(runs).toBe(2);
      });
    });

    describe('13. after ttlMs a key is new again', () => {
      test('replayed just before ttlMs, run again just after', async () => {
        const clock = new ManualClock(Date.now());
        const store = await newStore({ clock });
        const counter = { runs: 0 };
        const url = await serve({ store, clock, ttlMs: 5000, leaseMs: 1000 }, orders(counter));
        const key = createIdempotencyKey();
        const first = await post(url, key);
        await clock.advance(4999);
        expectReplayOf(await post(url, key), first);
        await clock.advance(2);
        const again = await post(url, key);
        expect(again.status).toBe(201);
        expect(again.headers['idempotent-replayed']).toBeUndefined();
        expect(again.json().run).toBe(2);
        expect(counter.runs).toBe(2);
      });
    });

    describe('14. a store failure is a prompt 503, the handler does not run, nothing leaks', () => {
      afterEach(async () => {
        await pause(20);
        expect(unhandled).toEqual([]);
      });

      test('a store that rejects: 503 STORE_UNAVAILABLE at once', async () => {
        const counter = { runs: 0 };
        const url = await serve({ store: downStore() }, orders(counter));
        const started = Date.now();
        const r = await post(url, createIdempotencyKey());
        expect(Date.now() - started).toBeLessThan(1000);
        expectProblem(r, 503, 'STORE_UNAVAILABLE');
        expect(counter.runs).toBe(0);
      });

      test('a store that never answers, behind its command timeout: 503 within the timeout, no hang', async () => {
        const counter = { runs: 0 };
        const url = await serve({ store: hangingStoreWithTimeout(150) }, orders(counter));
        const started = Date.now();
        const results = await Promise.all([post(url, createIdempotencyKey()), post(url, createIdempotencyKey())]);
        expect(Date.now() - started).toBeLessThan(2000);
        for (const r of results) expectProblem(r, 503, 'STORE_UNAVAILABLE');
        expect(counter.runs).toBe(0);
      });

      test('a store that fails after the handler ran: the client still gets its response, nothing crashes', async () => {
        const counter = { runs: 0 };
        const errors: unknown[] = [];
        const base = await newStore();
        const store = overrideStore(base, { complete: () => Promise.reject(new Error('lost connection')) });
        const url = await serve({ store, onStoreError: (e) => errors.push(e) }, orders(counter));
        const r = await post(url, createIdempotencyKey());
        expect(r.status).toBe(201);
        expect(r.json()).toMatchObject({ run: 1 });
        expect(errors).toHaveLength(1);
        expect(counter.runs).toBe(1);
      });

      test('a release that fails after a 500: the client still gets the 500', async () => {
        const base = await newStore();
        const store = overrideStore(base, { release: () => Promise.reject(new Error('lost connection')) });
        const url = await serve({ store }, [route('POST', '/orders', () => ({ status: 500, json: { error: 'x' } }))]);
        const r = await post(url, createIdempotencyKey());
        expect(r.status).toBe(500);
        expect(r.json()).toEqual({ error: 'x' });
      });

      test('a store that hangs on complete holds the response back at most leaseMs', async () => {
        const clock = new ManualClock(Date.now());
        const base = await newStore({ clock });
        const store = overrideStore(base, { complete: () => new Promise<boolean>(() => {}) });
        const ended = deferred();
        const url = await serve({ store, clock, leaseMs: 2000 }, [
          route('POST', '/orders', () => {
            setImmediate(() => ended.resolve());
            return { status: 201, json: { ok: true } };
          }),
        ]);
        let answered = false;
        const response = post(url, createIdempotencyKey()).then((r) => {
          answered = true;
          return r;
        });
        await ended.promise;
        await pause(20);
        expect(answered).toBe(false);
        await clock.advance(2000);
        const r = await response;
        expect(r.status).toBe(201);
        expect(r.json()).toEqual({ ok: true });
      });
    });

    describe("15. the guard answers its own errors as problem+json, or with errors: 'next' passes them on", () => {
      test('every refusal is RFC 9457 problem+json with a code, in an app without an error handler', async () => {
        const counter = { runs: 0 };
        const gate = deferred();
        const entered = deferred();
        const url = await serve(await guard({ required: true }), [
          route('POST', '/orders', async () => {
            counter.runs++;
            entered.resolve();
            await gate.promise;
            return { status: 201, json: { ok: true } };
          }),
        ]);
        expectProblem(await post(url, ''), 400, 'KEY_INVALID');
        expectProblem(await post(url, undefined), 400, 'KEY_MISSING');
        const key = createIdempotencyKey();
        const first = post(url, key, { item: 'a' });
        await entered.promise;
        expectProblem(await post(url, key, { item: 'a' }), 409, 'KEY_IN_USE');
        expectProblem(await post(url, key, { item: 'b' }), 422, 'KEY_MISMATCH');
        gate.resolve();
        expect((await first).status).toBe(201);

        const down = await serve({ store: downStore() }, orders(counter));
        expectProblem(await post(down, createIdempotencyKey()), 503, 'STORE_UNAVAILABLE');
        expect(counter.runs).toBe(1);
      });

      test("with errors: 'next' the app's error handler gets the IdempotencyError with its status", async () => {
        const counter = { runs: 0 };
        const gate = deferred();
        const entered = deferred();
        const url = await serve(
          await guard({ errors: 'next', required: true }),
          [
            route('POST', '/orders', async () => {
              counter.runs++;
              entered.resolve();
              await gate.promise;
              return { status: 201, json: { ok: true } };
            }),
          ],
          { errorHandler: true },
        );

        const empty = await post(url, '');
        expect(empty.status).toBe(400);
        expect(empty.json()).toEqual({ handled: 'KEY_INVALID' });
        const missing = await post(url, undefined);
        expect(missing.status).toBe(400);
        expect(missing.json()).toEqual({ handled: 'KEY_MISSING' });

        const key = createIdempotencyKey();
        const first = post(url, key);
        await entered.promise;
        const busy = await post(url, key);
        expect(busy.status).toBe(409);
        expect(busy.json()).toEqual({ handled: 'KEY_IN_USE' });
        if (server.retryAfterOnNext) expect(busy.headers['retry-after']).toMatch(/^[1-9]\d*$/);
        gate.resolve();
        await first;
        const mismatch = await post(url, key, { item: 'other' });
        expect(mismatch.status).toBe(422);
        expect(mismatch.json()).toEqual({ handled: 'KEY_MISMATCH' });
        expect(counter.runs).toBe(1);
      });
    });
  });
}

/** A native handler that counts its runs: each server's `sendPaths` take one argument list and pass it on. */
function counted(native: unknown, runs: { count: number }): unknown {
  const handler = native as (...args: unknown[]) => unknown;
  return (...args: unknown[]) => {
    runs.count++;
    return handler(...args);
  };
}
