// errorHandler() and the idempotency middleware together: a thrown error is a failure even when
// the error handler answers it with a 4xx, so the key is released and a retry runs the handler.
import { afterEach, describe, expect, test } from 'vitest';
import { createIdempotencyMiddleware, errorHandler } from 'closed-loop/express';
import { EXPRESS_VERSIONS, serve, type Served } from './_extras.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe.each(EXPRESS_VERSIONS)('%s', (_name, express) => {
  test('a thrown 4xx error answered by errorHandler() releases the key', async () => {
    let runs = 0;
    const app = express();
    app.use(express.json());
    app.use(createIdempotencyMiddleware());
    app.post('/orders', () => {
      runs++;
      throw Object.assign(new Error('card declined'), { status: 402 });
    });
    app.use(errorHandler({ onError: () => undefined }));
    served = await serve(app as never);
    const send = () =>
      fetch(`${served!.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'declined-1' },
        body: '{"total":5}',
      });
    const first = await send();
    expect(first.status).toBe(402);
    expect(first.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const second = await send();
    expect(second.status).toBe(402);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(runs).toBe(2);
  });

  test('a 4xx the handler answers itself is still stored and replayed', async () => {
    let runs = 0;
    const app = express();
    app.use(express.json());
    app.use(createIdempotencyMiddleware());
    app.post('/orders', (_req, res) => {
      runs++;
      res.status(402).json({ error: 'card declined' });
    });
    app.use(errorHandler({ onError: () => undefined }));
    served = await serve(app as never);
    const send = () =>
      fetch(`${served!.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'declined-2' },
        body: '{"total":5}',
      });
    await send();
    const second = await send();
    expect(second.status).toBe(402);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(runs).toBe(1);
  });
});
