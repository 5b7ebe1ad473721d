// The idempotency middleware in one app with the middleware most Express APIs mount around it:
// compression, cors, helmet and morgan, in the order docs/server-helpers.md gives (compression
// before the idempotency middleware, so what is stored is the uncompressed body). Over real HTTP,
// Express 5 and 4: a replay, once decompressed, is byte for byte the first answer, for a body sent
// at once and for a streamed one, and every other middleware still does its part on both.
import { gunzipSync } from 'node:zlib';
import { Writable } from 'node:stream';
import compression from 'compression';
import cors from 'cors';
import helmet from 'helmet';
import morgan from 'morgan';
import { afterEach, describe, expect, test } from 'vitest';
import { createIdempotencyKey } from 'closed-loop';
import { createIdempotencyMiddleware } from 'closed-loop/express';
import { EXPRESS_VERSIONS } from './_extras.js';
import { type Running, listen, send } from './idempotency-harness.js';

let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

const items = Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i} \u2713`, price: { amount: 1000 + i, currency: 'EUR' } }));

describe.each(EXPRESS_VERSIONS)('%s with compression, cors, helmet and morgan', (_name, express) => {
  async function app() {
    const logged: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(chunk.toString());
        done();
      },
    });
    let runs = 0;
    const a = express();
    a.use(morgan(':method :url :status', { stream: sink }));
    a.use(helmet());
    a.use(cors({ origin: 'https://shop.example.com', exposedHeaders: ['Idempotent-Replayed', 'Retry-After', 'ETag'] }));
    a.use(compression({ threshold: 0 }));
    a.use(express.json());
    a.use(createIdempotencyMiddleware());
    a.post('/orders', (req, res) => {
      runs++;
      res.status(201).location('/orders/1').json({ run: runs, for: req.body.customer, items });
    });
    a.post('/export', async (_req, res) => {
      runs++;
      res.status(200).type('text/plain'); // compressible, unlike application/x-ndjson
      for (const item of items) {
        res.write(`${JSON.stringify(item)}\n`);
        if (item.id % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      res.end();
    });
    running = await listen(a as never);
    return { url: running.url, logged, runs: () => runs };
  }

  const headers = (key: string) => ({ 'Idempotency-Key': key, 'Accept-Encoding': 'gzip', Origin: 'https://shop.example.com' });

  for (const path of ['/orders', '/export']) {
    test(`${path}: the replay decompresses to the same bytes, and every middleware acts on both answers`, async () => {
      const { url, logged, runs } = await app();
      const key = createIdempotencyKey();
      const first = await send(url, path, { method: 'POST', body: { customer: 'c-1' }, headers: headers(key) });
      const replay = await send(url, path, { method: 'POST', body: { customer: 'c-1' }, headers: headers(key) });

      expect(runs()).toBe(1);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.status).toBe(first.status);
      for (const r of [first, replay]) {
        // compression: both gzipped; cors: the origin allowed and the replay marker exposed;
        // helmet: its headers on both.
        expect(r.headers['content-encoding']).toBe('gzip');
        expect(r.headers['access-control-allow-origin']).toBe('https://shop.example.com');
        expect(r.headers['access-control-expose-headers']).toContain('Idempotent-Replayed');
        expect(r.headers['x-content-type-options']).toBe('nosniff');
        expect(r.headers['content-security-policy']).toBeDefined();
      }
      const body = gunzipSync(first.body);
      expect(gunzipSync(replay.body).equals(body)).toBe(true);
      expect(replay.headers['content-type']).toBe(first.headers['content-type']);
      if (path === '/orders') expect(JSON.parse(body.toString()).items).toHaveLength(200);
      else expect(body.toString().trim().split('\n')).toHaveLength(200);
      // morgan: both requests logged with their status.
      await new Promise((resolve) => setImmediate(resolve));
      expect(logged.map((line) => line.trim())).toEqual([`POST ${path} ${first.status}`, `POST ${path} ${first.status}`]);
    });
  }

  test('a client that does not accept gzip gets the replay uncompressed, byte for byte the first answer', async () => {
    const { url, runs } = await app();
    const key = createIdempotencyKey();
    const first = await send(url, '/orders', { method: 'POST', body: { customer: 'c-2' }, headers: headers(key) });
    const plain = await send(url, '/orders', { method: 'POST', body: { customer: 'c-2' }, headers: { 'Idempotency-Key': key } });
    expect(runs()).toBe(1);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers['idempotent-replayed']).toBe('true');
    expect(plain.body.equals(gunzipSync(first.body))).toBe(true);
  });
});
