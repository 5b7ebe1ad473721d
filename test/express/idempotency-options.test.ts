// The idempotency middleware's options, storeIdempotentResult and the cache helpers, over real HTTP
// on Express 5 and 4 with the memory store.
import express5 from 'express';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import express4 from 'express4';
import { afterEach, describe, expect, test } from 'vitest';
import { ManualClock, MemoryIdempotencyStore, createIdempotencyKey } from 'closed-loop';
import {
  clearIdempotencyCache,
  createIdempotencyMiddleware,
  getIdempotencyCacheStats,
  storeIdempotentResult,
} from 'closed-loop/express';
import { markIdempotentRequestFailed } from '../../adapters/express/idempotency.js';
import { expectProblem } from './idempotency-behaviours.js';
import { deferred, eventually, listen, send, spyStore } from './idempotency-harness.js';

for (const [version, express] of [
  ['Express 5', express5],
  ['Express 4', express4],
] as const) {
  describe(`idempotency middleware options (${version})`, () => {
    const cleanups: Array<() => unknown> = [];
    afterEach(async () => {
      while (cleanups.length > 0) await cleanups.pop()!();
    });

    async function serve(middleware: RequestHandler, routes: (app: Express) => void): Promise<string> {
      const app = express();
      app.use(express.json());
      app.use(middleware);
      routes(app);
      const running = await listen(app);
      cleanups.push(running.close);
      return running.url;
    }

    /** Every method on /things counts its runs and answers 200 with the run number. */
    function things(counter: { runs: number }) {
      return (app: Express): void => {
        app.all('/things', (req, res) => {
          counter.runs++;
          res.status(200).json({ run: counter.runs, method: req.method });
        });
      };
    }

    const call = (url: string, method: string, key?: string, headers: Record<string, string> = {}, body: unknown = { a: 1 }) =>
      send(url, '/things', { method, body, headers: key === undefined ? headers : { 'Idempotency-Key': key, ...headers } });

    test('methods: only the listed methods are made idempotent, in any case', async () => {
      const counter = { runs: 0 };
      const url = await serve(createIdempotencyMiddleware({ methods: ['post', 'DELETE'] }), things(counter));
      const key = createIdempotencyKey();
      await call(url, 'DELETE', key);
      expect((await call(url, 'DELETE', key)).headers['idempotent-replayed']).toBe('true');
      const other = createIdempotencyKey();
      await call(url, 'PUT', other);
      expect((await call(url, 'PUT', other)).headers['idempotent-replayed']).toBeUndefined();
      expect(counter.runs).toBe(3);
    });

    test('required: a listed method without a key is 400; an unlisted one passes', async () => {
      const counter = { runs: 0 };
      const url = await serve(createIdempotencyMiddleware({ required: true }), things(counter));
      expectProblem(await call(url, 'PATCH'), 400, 'KEY_MISSING');
      expect((await call(url, 'DELETE')).status).toBe(200);
      expect(counter.runs).toBe(1);
    });

    test('maxKeyLength: a key at the limit is accepted, one over it is 400', async () => {
      const counter = { runs: 0 };
      const url = await serve(createIdempotencyMiddleware({ maxKeyLength: 10 }), things(counter));
      expect((await call(url, 'POST', '0123456789')).status).toBe(200);
      expectProblem(await call(url, 'POST', '0123456789a'), 400, 'KEY_INVALID');
      // The quotes of the structured-field form do not count.
      expect((await call(url, 'POST', '"0123456789"')).headers['idempotent-replayed']).toBe('true');
      expect(counter.runs).toBe(1);
    });

    test('header: a custom header carries the key (any case); the legacy header still works', async () => {
      const counter = { runs: 0 };
      const url = await serve(createIdempotencyMiddleware({ header: 'X-Request-Key' }), things(counter));
      const key = createIdempotencyKey();
      await call(url, 'POST', undefined, { 'x-request-key': key });
      expect((await call(url, 'POST', undefined, { 'X-REQUEST-KEY': key })).headers['idempotent-replayed']).toBe('true');
      expect((await call(url, 'POST', undefined, { 'X-Idempotency-Key': key })).headers['idempotent-replayed']).toBe('true');
      // Idempotency-Key is not the configured header: it passes through.
      await call(url, 'POST', createIdempotencyKey());
      expect(counter.runs).toBe(2);
      expectProblem(
        await call(url, 'POST', undefined, { 'X-Request-Key': key, 'X-Idempotency-Key': createIdempotencyKey() }),
        400,
        'KEY_INVALID',
      );
    });

    test('scope may be async, and an empty scope is the shared key space', async () => {
      const counter = { runs: 0 };
      const url = await serve(
        createIdempotencyMiddleware({ scope: async (req) => req.get('x-user') ?? '' }),
        things(counter),
      );
      const key = createIdempotencyKey();
      await call(url, 'POST', key, { 'X-User': 'u1' });
      expect((await call(url, 'POST', key, { 'X-User': 'u1' })).headers['idempotent-replayed']).toBe('true');
      await call(url, 'POST', key, { 'X-User': 'u2' });
      await call(url, 'POST', key);
      expect((await call(url, 'POST', key, { 'X-User': '' })).headers['idempotent-replayed']).toBe('true');
      expect(counter.runs).toBe(3);
    });

    test('a scope function that throws goes to the error handler; the handler does not run', async () => {
      const counter = { runs: 0 };
      const url = await serve(
        createIdempotencyMiddleware({
          scope: () => {
            throw new Error('no user');
          },
        }),
        things(counter),
      );
      expect((await call(url, 'POST', createIdempotencyKey())).status).toBe(500);
      expect(counter.runs).toBe(0);
    });

    test('fingerprint: a custom fingerprint decides what counts as the same request', async () => {
      const counter = { runs: 0 };
      const url = await serve(createIdempotencyMiddleware({ fingerprint: (req) => req.path }), things(counter));
      const key = createIdempotencyKey();
      await call(url, 'POST', key, {}, { a: 1 });
      expect((await call(url, 'POST', key, {}, { a: 2 })).headers['idempotent-replayed']).toBe('true');
      expect(counter.runs).toBe(1);
    });

    test('replayHeaders: listed headers are replayed, unlisted ones are not; names match in any case', async () => {
      let runs = 0;
      const url = await serve(createIdempotencyMiddleware({ replayHeaders: ['x-ratelimit-remaining', 'LINK'] }), (app) => {
        app.post('/things', (_req, res) => {
          runs++;
          res.set({ 'X-RateLimit-Remaining': '9', Link: '</next>; rel="next"', 'X-Unlisted': 'no' });
          res.status(201).json({ ok: true });
        });
      });
      const key = createIdempotencyKey();
      await call(url, 'POST', key);
      const replay = await call(url, 'POST', key);
      expect(replay.headers['x-ratelimit-remaining']).toBe('9');
      expect(replay.headers.link).toBe('</next>; rel="next"');
      expect(replay.headers['x-unlisted']).toBeUndefined();
      expect(runs).toBe(1);
    });

    test('cacheServerErrors: false (default) releases a 500, true stores it', async () => {
      for (const cacheServerErrors of [false, true]) {
        let runs = 0;
        const url = await serve(createIdempotencyMiddleware({ cacheServerErrors }), (app) => {
          app.post('/things', (_req, res) => {
            runs++;
            res.status(500).json({ run: runs });
          });
        });
        const key = createIdempotencyKey();
        await call(url, 'POST', key);
        const second = await call(url, 'POST', key);
        expect(second.status).toBe(500);
        expect(second.headers['idempotent-replayed']).toBe(cacheServerErrors ? 'true' : undefined);
        expect(runs).toBe(cacheServerErrors ? 1 : 2);
      }
    });

    test("errors: 'next' without an app error handler falls back to Express's own answer with the error's status", async () => {
      const counter = { runs: 0 };
      const url = await serve(createIdempotencyMiddleware({ errors: 'next', required: true }), things(counter));
      const r = await call(url, 'POST');
      expect(r.status).toBe(400);
      expect(counter.runs).toBe(0);
    });

    test("concurrent: 'wait' runs the waiter itself when the first request released the key", async () => {
      let runs = 0;
      const gate = deferred();
      const clock = new ManualClock(Date.now());
      const store = spyStore(new MemoryIdempotencyStore({ clock }));
      const url = await serve(createIdempotencyMiddleware({ store, clock, concurrent: 'wait' }), (app) => {
        app.post('/things', async (_req, res) => {
          const run = ++runs;
          if (run === 1) {
            await gate.promise;
            res.status(503).json({ run });
          } else {
            res.status(201).json({ run });
          }
        });
      });
      const key = createIdempotencyKey();
      const first = call(url, 'POST', key);
      await eventually(async () => runs, (n) => n >= 1);
      let answered = false;
      const waiting = call(url, 'POST', key).then((r) => {
        answered = true;
        return r;
      });
      await eventually(async () => store.calls.claim, (n) => n >= 2);
      gate.resolve();
      expect((await first).status).toBe(503);
      await eventually(
        async () => {
          await clock.advance(100);
          return answered;
        },
        (done) => done,
      );
      const second = await waiting;
      expect(second.status).toBe(201);
      expect(second.json()).toEqual({ run: 2 });
      expect(second.headers['idempotent-replayed']).toBeUndefined();
      expect((await call(url, 'POST', key)).json()).toEqual({ run: 2 });
      expect(runs).toBe(2);
    });

    test("concurrent: 'wait' gives up with 409 after waitTimeoutMs", async () => {
      const gate = deferred();
      const clock = new ManualClock(Date.now());
      const store = spyStore(new MemoryIdempotencyStore({ clock }));
      const url = await serve(createIdempotencyMiddleware({ store, clock, concurrent: 'wait', waitTimeoutMs: 1000 }), (app) => {
        app.post('/things', async (_req, res) => {
          await gate.promise;
          res.status(201).json({ ok: true });
        });
      });
      const key = createIdempotencyKey();
      const first = call(url, 'POST', key);
      await eventually(async () => store.calls.claim, (n) => n >= 1);
      let answered = false;
      const waiting = call(url, 'POST', key).then((r) => {
        answered = true;
        return r;
      });
      await eventually(async () => store.calls.claim, (n) => n >= 2);
      await clock.advance(900);
      expect(answered).toBe(false);
      await clock.advance(100);
      expectProblem(await waiting, 409, 'KEY_IN_USE');
      gate.resolve();
      await first;
    });

    describe('storeIdempotentResult', () => {
      test('stores an explicit result now; the live response still reaches the client and is not stored', async () => {
        let runs = 0;
        const stored: boolean[] = [];
        const url = await serve(createIdempotencyMiddleware(), (app) => {
          app.post('/things', async (req, res) => {
            runs++;
            stored.push(await storeIdempotentResult(req, { status: 201, headers: { Location: '/p/1', 'Set-Cookie': 'a=b' }, body: { id: 1 } }));
            stored.push(await storeIdempotentResult(req, { status: 500 }));
            res.status(201).set('Location', '/p/1').json({ id: 1, receipt: 'only for the first client' });
          });
        });
        const key = createIdempotencyKey();
        const live = await call(url, 'POST', key);
        expect(live.json()).toEqual({ id: 1, receipt: 'only for the first client' });
        const replay = await call(url, 'POST', key);
        expect(replay.status).toBe(201);
        expect(replay.json()).toEqual({ id: 1 });
        expect(replay.headers['content-type']).toMatch(/^application\/json/);
        expect(replay.headers.location).toBe('/p/1');
        expect(replay.headers['set-cookie']).toBeUndefined();
        expect(replay.headers['idempotent-replayed']).toBe('true');
        expect(stored).toEqual([true, false]);
        expect(runs).toBe(1);
      });

      test('a string or bytes body is stored as it is, and the status defaults to the response status', async () => {
        const url = await serve(createIdempotencyMiddleware(), (app) => {
          app.post('/things', async (req, res) => {
            res.status(202);
            await storeIdempotentResult(req, { headers: { 'Content-Type': 'text/plain' }, body: req.body.bytes ? Buffer.from([0, 1, 2]) : 'plain' });
            res.send('live');
          });
        });
        const k1 = createIdempotencyKey();
        await call(url, 'POST', k1, {}, { bytes: false });
        const text = await call(url, 'POST', k1, {}, { bytes: false });
        expect(text.status).toBe(202);
        expect(text.text).toBe('plain');
        const k2 = createIdempotencyKey();
        await call(url, 'POST', k2, {}, { bytes: true });
        expect([...(await call(url, 'POST', k2, {}, { bytes: true })).body]).toEqual([0, 1, 2]);
      });

      test('is a no-op (false) for a request without a key, outside the middleware, or on a pass-through method', async () => {
        const results: boolean[] = [];
        const url = await serve(createIdempotencyMiddleware(), (app) => {
          app.all('/things', async (req, res) => {
            results.push(await storeIdempotentResult(req, { status: 200, body: 'x' }));
            res.json({ ok: true });
          });
        });
        await call(url, 'POST');
        await call(url, 'GET', createIdempotencyKey(), {}, undefined);
        const bare = express();
        bare.post('/things', async (req, res) => {
          results.push(await storeIdempotentResult(req, { body: 'x' }));
          res.end();
        });
        const running = await listen(bare);
        cleanups.push(running.close);
        await send(running.url, '/things', { headers: { 'Idempotency-Key': createIdempotencyKey() } });
        expect(results).toEqual([false, false, false]);
      });

      test('an explicit body over maxResponseBytes is stored without it', async () => {
        const url = await serve(createIdempotencyMiddleware({ maxResponseBytes: 10 }), (app) => {
          app.post('/things', async (req, res) => {
            await storeIdempotentResult(req, { status: 201, body: 'x'.repeat(11) });
            res.status(201).end();
          });
        });
        const key = createIdempotencyKey();
        await call(url, 'POST', key);
        const replay = await call(url, 'POST', key);
        expect(replay.status).toBe(201);
        expect(replay.body.length).toBe(0);
        expect(replay.headers['idempotent-body-omitted']).toBe('true');
      });
    });

    test('a request marked failed by an error handler releases its key whatever the status', async () => {
      let runs = 0;
      const app = express();
      app.use(express.json());
      app.use(createIdempotencyMiddleware());
      app.post('/things', (_req, _res, next: NextFunction) => {
        runs++;
        next(Object.assign(new Error('not found'), { status: 404 }));
      });
      app.use((err: { status: number }, req: Request, res: Response, _next: NextFunction) => {
        markIdempotentRequestFailed(req);
        res.status(err.status).json({ error: 'x' });
      });
      const running = await listen(app);
      cleanups.push(running.close);
      const key = createIdempotencyKey();
      expect((await call(running.url, 'POST', key)).status).toBe(404);
      const retry = await call(running.url, 'POST', key);
      expect(retry.headers['idempotent-replayed']).toBeUndefined();
      expect(runs).toBe(2);
    });
  });
}

describe('clearIdempotencyCache and getIdempotencyCacheStats', () => {
  test('without an argument they act on every default store; with one, on that store only', async () => {
    const cleanups: Array<() => Promise<void>> = [];
    try {
      await clearIdempotencyCache();
      const explicit = new MemoryIdempotencyStore();
      const serveWith = async (middleware: RequestHandler) => {
        const app = express5();
        app.use(express5.json());
        app.use(middleware);
        app.post('/x', (_req, res) => void res.status(201).json({ ok: true }));
        const running = await listen(app);
        cleanups.push(running.close);
        return running.url;
      };
      const a = await serveWith(createIdempotencyMiddleware());
      const b = await serveWith(createIdempotencyMiddleware());
      const c = await serveWith(createIdempotencyMiddleware({ store: explicit }));
      const key = createIdempotencyKey();
      for (const url of [a, b, c]) await send(url, '/x', { headers: { 'Idempotency-Key': key }, body: {} });

      expect(await getIdempotencyCacheStats()).toEqual({ entries: 2, inProgress: 0, completed: 2 });
      expect(await getIdempotencyCacheStats(explicit)).toEqual({ entries: 1, inProgress: 0, completed: 1 });

      await clearIdempotencyCache();
      expect(await getIdempotencyCacheStats()).toEqual({ entries: 0, inProgress: 0, completed: 0 });
      expect((await getIdempotencyCacheStats(explicit)).entries).toBe(1);
      // Cleared: the key is new again on a default store.
      expect((await send(a, '/x', { headers: { 'Idempotency-Key': key }, body: {} })).headers['idempotent-replayed']).toBeUndefined();

      await clearIdempotencyCache(explicit);
      expect((await getIdempotencyCacheStats(explicit)).entries).toBe(0);
    } finally {
      for (const close of cleanups) await close();
    }
  });

  test('a store without clear() or stats() is refused with a TypeError', async () => {
    const bare = { claim: async () => ({ status: 'mismatch' as const }), complete: async () => false, release: async () => false, get: async () => undefined };
    await expect(clearIdempotencyCache(bare)).rejects.toThrow(TypeError);
    await expect(getIdempotencyCacheStats(bare)).rejects.toThrow(TypeError);
  });
});

describe('option validation', () => {
  test('bad options throw a TypeError when the middleware is made', () => {
    expect(() => createIdempotencyMiddleware({ maxKeyLength: 0 })).toThrow(TypeError);
    expect(() => createIdempotencyMiddleware({ maxKeyLength: 1.5 })).toThrow(TypeError);
    expect(() => createIdempotencyMiddleware({ maxResponseBytes: -1 })).toThrow(TypeError);
    expect(() => createIdempotencyMiddleware({ ttlMs: 0 })).toThrow(TypeError);
    expect(() => createIdempotencyMiddleware({ leaseMs: Number.NaN })).toThrow(TypeError);
    expect(() => createIdempotencyMiddleware({ header: '' })).toThrow(TypeError);
    expect(() => createIdempotencyMiddleware({ errors: 'throw' as 'next' })).toThrow(TypeError);
    expect(() => createIdempotencyMiddleware({ concurrent: 'queue' as 'wait' })).toThrow(TypeError);
  });
});
