// Node only. The contract's fifteen Express idempotency behaviours over real HTTP, on the Redis store
// (one real redis-server for the file, a fresh client and key prefix per store), for Express 5 and
// Express 4; then what only a shared store shows: two app instances on two Redis connections, and a
// Redis outage answered with 503 within the store's command timeout.
import express from 'express';
import express4 from 'express4';
import type { Request, Response } from 'express';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, test } from 'vitest';
import { createIdempotencyKey } from 'closed-loop';
import { createIdempotencyMiddleware } from 'closed-loop/express';
import { RedisIdempotencyStore } from 'closed-loop/redis';
import { describeIdempotencyBehaviours, expectProblem } from '../express/idempotency-behaviours.js';
import { expressServer } from '../express/express-server.js';
import { listen, type Running, send } from '../express/idempotency-harness.js';
import { redisIdempotencyStores } from '../support/redis-idempotency-stores.js';
import { startRedisServer } from '../support/redis-server.js';

const makeStore = redisIdempotencyStores('cl-express');

describeIdempotencyBehaviours('Express 5, Redis store', { server: expressServer('Express 5', express), makeStore });
describeIdempotencyBehaviours('Express 4, Redis store', { server: expressServer('Express 4', express4), makeStore });
// A client that pipelines by itself (the store then leaves the batching to it): every behaviour holds.
describeIdempotencyBehaviours('Express 5, Redis store, client with enableAutoPipelining', {
  server: expressServer('Express 5', express),
  makeStore: (opts) => makeStore(opts, { enableAutoPipelining: true }),
});

describe('Express on a shared Redis store', () => {
  const apps: Running[] = [];
  const clients: Redis[] = [];

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const client of clients) client.disconnect();
  });

  /** An Express 5 app with the middleware on its own Redis connection. */
  async function instance(url: string, prefix: string, counter: { runs: number }, commandTimeoutMs?: number) {
    const client = new Redis(url);
    client.on('error', () => {});
    clients.push(client);
    const store = new RedisIdempotencyStore(client, { prefix, ...(commandTimeoutMs && { commandTimeoutMs }) });
    const app = express();
    app.use(express.json());
    app.use(createIdempotencyMiddleware({ store }));
    app.post('/orders', async (req: Request, res: Response) => {
      const run = ++counter.runs;
      await new Promise((resolve) => setTimeout(resolve, 50)); // long enough for the others to arrive
      res.status(201).json({ run, item: req.body?.item ?? null });
    });
    const running = await listen(app);
    apps.push(running);
    await client.ping();
    return running.url;
  }

  const post = (url: string, key: string) =>
    send(url, '/orders', { method: 'POST', body: { item: 'book' }, headers: { 'Idempotency-Key': key } });

  test('20 parallel requests across two app instances, each with its own Redis connection: one execution', async () => {
    const counter = { runs: 0 };
    const prefix = `cl-express-two-${process.pid}:`;
    const [one, two] = await Promise.all([instance(makeStore.url(), prefix, counter), instance(makeStore.url(), prefix, counter)]);
    const key = createIdempotencyKey();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 ? one : two, key)));
    expect(counter.runs).toBe(1);
    const executed = results.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined);
    expect(executed).toHaveLength(1);
    for (const r of results) {
      if (r === executed[0]) continue;
      if (r.status === 201) expect(r.text).toBe(executed[0]!.text);
      else expectProblem(r, 409, 'KEY_IN_USE');
    }
    // Both instances replay the stored response afterwards.
    for (const url of [one, two]) {
      const replay = await post(url, key);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.text).toBe(executed[0]!.text);
    }
    expect(counter.runs).toBe(1);
  });

  test('Redis paused (SIGSTOP): 503 STORE_UNAVAILABLE within the command timeout, the handler does not run', async () => {
    const paused = await startRedisServer();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const counter = { runs: 0 };
      const url = await instance(paused.url, `cl-express-paused-${process.pid}:`, counter, 300);
      paused.process.kill('SIGSTOP');
      const started = Date.now();
      const results = await Promise.all([post(url, createIdempotencyKey()), post(url, createIdempotencyKey())]);
      const elapsed = Date.now() - started;
      for (const r of results) expectProblem(r, 503, 'STORE_UNAVAILABLE');
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1_500);
      expect(counter.runs).toBe(0);
      paused.process.kill('SIGCONT');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await paused.stop();
    }
  });

  test('Redis down: 503 STORE_UNAVAILABLE within the command timeout, the handler does not run', async () => {
    const doomed = await startRedisServer();
    const counter = { runs: 0 };
    const url = await instance(doomed.url, `cl-express-down-${process.pid}:`, counter, 300);
    await doomed.stop();
    const started = Date.now();
    const r = await post(url, createIdempotencyKey());
    expect(Date.now() - started).toBeLessThan(1_500);
    expectProblem(r, 503, 'STORE_UNAVAILABLE');
    expect(counter.runs).toBe(0);
  });
});
