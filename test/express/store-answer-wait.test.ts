// A response waits for the store to confirm its result, but never longer than min(leaseMs, 5 s) on
// the middleware's clock: a store that stops answering mid-request delays responses by that bound,
// each from its own start, and never holds them forever. Real HTTP, Express 5, a ManualClock.
import express from 'express';
import { afterEach, describe, expect, test } from 'vitest';
import { ManualClock, MemoryIdempotencyStore, createIdempotencyKey } from 'closed-loop';
import { createIdempotencyMiddleware } from 'closed-loop/express';
import { type HttpResult, eventually, listen, open, overrideStore } from './idempotency-harness.js';

describe('the wait for the store is bounded per response', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function serve(leaseMs: number, clock: ManualClock) {
    const memory = new MemoryIdempotencyStore({ clock });
    let completes = 0;
    // complete() never answers: the store went silent after the claim.
    const store = overrideStore(memory, {
      complete: () => {
        completes++;
        return new Promise<boolean>(() => {});
      },
    });
    let runs = 0;
    const app = express();
    app.use(express.json());
    app.use(createIdempotencyMiddleware({ store, clock, leaseMs }));
    app.post('/orders', (_req, res) => {
      runs++;
      res.status(201).json({ run: runs });
    });
    const running = await listen(app);
    cleanups.push(running.close);
    return { url: running.url, completes: () => completes };
  }

  function post(url: string): { settled: () => HttpResult | undefined; response: Promise<HttpResult> } {
    const { req, response, payload } = open(url, '/orders', { method: 'POST', body: { item: 'x' }, headers: { 'Idempotency-Key': createIdempotencyKey() } });
    req.end(payload);
    let result: HttpResult | undefined;
    void response.then((r) => (result = r));
    return { settled: () => result, response };
  }

  test('each response goes out when its own bound runs out, not before', async () => {
    const clock = new ManualClock();
    const { url, completes } = await serve(2000, clock);

    const first = post(url);
    await eventually(async () => completes(), (n) => n === 1);
    await clock.advance(1000);
    const second = post(url);
    await eventually(async () => completes(), (n) => n === 2);

    // 1999 ms after the first: neither is out.
    await clock.advance(999);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(first.settled()).toBeUndefined();
    expect(second.settled()).toBeUndefined();

    // 2000 ms after the first: the first goes out; the second still waits.
    await clock.advance(1);
    const one = await first.response;
    expect(one.status).toBe(201);
    expect(JSON.parse(one.body.toString())).toEqual({ run: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(second.settled()).toBeUndefined();

    // 2000 ms after the second.
    await clock.advance(1000);
    const two = await second.response;
    expect(two.status).toBe(201);
    expect(JSON.parse(two.body.toString())).toEqual({ run: 2 });
  });

  test('the bound is 5 s even when the lease is longer', async () => {
    const clock = new ManualClock();
    const { url, completes } = await serve(30_000, clock);
    const first = post(url);
    await eventually(async () => completes(), (n) => n === 1);
    await clock.advance(4999);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(first.settled()).toBeUndefined();
    await clock.advance(1);
    expect((await first.response).status).toBe(201);
  });
});
