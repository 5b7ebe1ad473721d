// The middleware mounted twice on one route (app-wide and again on the route, a common slip): the
// first one holds the key, the second passes the request through, and the response still goes out,
// is stored once and is replayed. Real HTTP, Express 5 and 4.
import express5 from 'express';
import type { Express } from 'express';
import express4 from 'express4';
import { afterEach, describe, expect, test } from 'vitest';
import { createIdempotencyKey } from 'closed-loop';
import { createIdempotencyMiddleware } from 'closed-loop/express';
import { listen, send } from './idempotency-harness.js';

for (const [version, express] of [
  ['Express 5', express5],
  ['Express 4', express4],
] as const) {
  describe(`idempotency middleware mounted twice (${version})`, () => {
    const cleanups: Array<() => unknown> = [];
    afterEach(async () => {
      while (cleanups.length > 0) await cleanups.pop()!();
    });

    test('the handler runs once per key and the retry replays', async () => {
      let runs = 0;
      const app: Express = express();
      app.use(express.json());
      app.use(createIdempotencyMiddleware());
      app.post('/orders', createIdempotencyMiddleware(), (_req, res) => {
        runs++;
        res.status(201).json({ run: runs });
      });
      const running = await listen(app);
      cleanups.push(running.close);
      const key = createIdempotencyKey();
      const post = () => send(running.url, '/orders', { method: 'POST', body: { a: 1 }, headers: { 'Idempotency-Key': key } });
      const first = await post();
      const second = await post();
      expect(first.status).toBe(201);
      expect(first.json()).toEqual({ run: 1 });
      expect(second.status).toBe(201);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(second.body.equals(first.body)).toBe(true);
      expect(runs).toBe(1);
    });
  });
}
