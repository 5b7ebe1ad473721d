// The middleware puts its capture in front of res.writeHead/write/end through dispatchers on
// Express's response prototype. A response whose methods another middleware already wrapped (as
// compression does, with own properties) must be captured just the same, and the other wrapper must
// still see every byte; a patch of http.ServerResponse made later (as an APM agent makes) still runs.
import http from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { createIdempotencyMiddleware } from 'closed-loop/express';
import { EXPRESS_VERSIONS, serve, type Served } from './_extras.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe.each(EXPRESS_VERSIONS)('%s', (_name, express) => {
  for (const order of ['wrapper before the middleware', 'wrapper after the middleware'] as const) {
    test(`replays byte for byte with a ${order}`, async () => {
      let runs = 0;
      let bytesSeenByWrapper = 0;
      const wrapper = (_req: unknown, res: { write: (...a: unknown[]) => unknown; end: (...a: unknown[]) => unknown }, next: () => void) => {
        const write = res.write;
        const end = res.end;
        const count = (chunk: unknown) => {
          if (typeof chunk === 'string') bytesSeenByWrapper += Buffer.byteLength(chunk);
          else if (chunk instanceof Uint8Array) bytesSeenByWrapper += chunk.byteLength;
        };
        res.write = function (this: unknown, ...args: unknown[]) {
          count(args[0]);
          return write.apply(this, args);
        };
        res.end = function (this: unknown, ...args: unknown[]) {
          count(args[0]);
          return end.apply(this, args);
        };
        next();
      };
      const app = express();
      app.use(express.json());
      if (order === 'wrapper before the middleware') app.use(wrapper as never);
      app.use(createIdempotencyMiddleware());
      if (order === 'wrapper after the middleware') app.use(wrapper as never);
      app.post('/stream', (_req, res) => {
        runs++;
        res.status(201).type('text/plain');
        res.write('part one, ');
        res.end('part two');
      });
      served = await serve(app as never);
      const send = () =>
        fetch(`${served!.url}/stream`, { method: 'POST', headers: { 'idempotency-key': `wrapped-${order.split(' ')[1]}` } });
      const first = await send();
      const firstText = await first.text();
      const second = await send();
      expect(first.status).toBe(201);
      expect(firstText).toBe('part one, part two');
      expect(second.status).toBe(201);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(await second.text()).toBe(firstText);
      expect(runs).toBe(1);
      expect(bytesSeenByWrapper).toBeGreaterThanOrEqual(Buffer.byteLength(firstText));
    });
  }

  test('a patch of http.ServerResponse.prototype.end made after the first request still runs, held or not', async () => {
    let runs = 0;
    const app = express();
    app.use(express.json());
    app.use(createIdempotencyMiddleware());
    app.post('/orders', (_req, res) => void res.status(201).json({ run: ++runs }));
    served = await serve(app as never);
    const post = (key?: string) =>
      fetch(`${served!.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key && { 'idempotency-key': key }) }, body: '{}' });
    // The middleware has installed its dispatchers by now.
    expect((await post('before-the-patch')).status).toBe(201);

    const original = http.ServerResponse.prototype.end;
    const seen: string[] = [];
    http.ServerResponse.prototype.end = function patched(this: http.ServerResponse, ...args: unknown[]) {
      seen.push(String(this.req?.headers['idempotency-key'] ?? 'no key'));
      return (original as (...a: unknown[]) => unknown).apply(this, args) as http.ServerResponse;
    } as typeof original;
    try {
      const first = await post('after-the-patch');
      const replay = await post('after-the-patch');
      const plain = await post();
      expect([first.status, replay.status, plain.status]).toEqual([201, 201, 201]);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await replay.json()).toEqual(await first.json());
      expect(seen).toEqual(['after-the-patch', 'after-the-patch', 'no key']);
      expect(runs).toBe(3);
    } finally {
      http.ServerResponse.prototype.end = original;
    }
  });
});
