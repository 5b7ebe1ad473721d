import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { NextFunction, Request, Response } from 'express';
import {
  CircuitBreakerError,
  HttpError,
  IdempotencyError,
  NetworkError,
  RetryExhaustedError,
  TimeoutError,
} from 'closed-loop';
import { errorHandler, requestId, type ErrorHandlerOptions } from 'closed-loop/express';
import { EXPRESS_VERSIONS, serve, type Served } from './_extras.js';

const quiet: ErrorHandlerOptions['onError'] = () => {};

function withStatus<T extends object>(error: Error, extra: T): Error & T {
  return Object.assign(error, extra);
}

describe.each(EXPRESS_VERSIONS)('errorHandler() on %s', (_name, express) => {
  const originalNodeEnv = process.env.NODE_ENV;
  let served: Served | undefined;

  beforeEach(() => {
    process.env.NODE_ENV = 'development';
  });
  afterEach(async () => {
    if (originalNodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = originalNodeEnv;
    vi.restoreAllMocks();
    await served?.close();
    served = undefined;
  });

  /** An app whose `/boom` route fails with `error` (via next(err), or a sync throw). */
  async function start(error: unknown, options: ErrorHandlerOptions = { onError: quiet }, how: 'next' | 'throw' = 'next') {
    const app = express();
    app.use(requestId());
    app.all('/boom', (_req: Request, _res: Response, next: NextFunction) => {
      if (how === 'throw') throw error;
      next(error);
    });
    app.use(errorHandler(options));
    served = await serve(app);
    return served.url;
  }

  async function problemOf(res: globalThis.Response) {
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    return (await res.json()) as Record<string, unknown>;
  }

  it('answers an error as problem+json with the message and stack in development', async () => {
    const url = await start(new Error('database connection refused at 10.0.0.7:5432'), { onError: quiet }, 'throw');
    const res = await fetch(`${url}/boom?page=2`);
    expect(res.status).toBe(500);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const problem = await problemOf(res);
    expect(problem).toMatchObject({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'database connection refused at 10.0.0.7:5432',
      instance: '/boom?page=2',
      requestId: res.headers.get('x-request-id'),
    });
    expect(problem.stack).toEqual(expect.stringContaining('database connection refused'));
  });

  it('never exposes a 5xx message, stack or foreign code in production', async () => {
    process.env.NODE_ENV = 'production';
    const error = withStatus(new Error('database connection refused at 10.0.0.7:5432'), { code: 'ECONNREFUSED' });
    const url = await start(error);
    const res = await fetch(`${url}/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(text).not.toContain('10.0.0.7');
    expect(text).not.toContain('ECONNREFUSED');
    expect(text).not.toMatch(/\bat \S+ \(|\.ts:\d+/);
    const problem = JSON.parse(text) as Record<string, unknown>;
    expect(problem).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'The server could not complete the request.',
      instance: '/boom',
      requestId: res.headers.get('x-request-id'),
    });
  });

  it('includes a foreign string code outside production', async () => {
    const url = await start(withStatus(new Error('refused'), { code: 'ECONNREFUSED' }));
    const problem = await problemOf(await fetch(`${url}/boom`));
    expect(problem.code).toBe('ECONNREFUSED');
  });

  it('reads NODE_ENV at request time', async () => {
    const url = await start(new Error('secret internals'));
    expect((await problemOf(await fetch(`${url}/boom`))).detail).toBe('secret internals');
    process.env.NODE_ENV = 'production';
    const problem = await problemOf(await fetch(`${url}/boom`));
    expect(problem.detail).not.toContain('secret');
    expect(problem).not.toHaveProperty('stack');
  });

  it('exposeDetails overrides NODE_ENV both ways', async () => {
    process.env.NODE_ENV = 'production';
    let url = await start(new Error('shown anyway'), { onError: quiet, exposeDetails: true });
    let problem = await problemOf(await fetch(`${url}/boom`));
    expect(problem.detail).toBe('shown anyway');
    expect(problem.stack).toEqual(expect.any(String));
    await served?.close();

    process.env.NODE_ENV = 'development';
    url = await start(new Error('hidden anyway'), { onError: quiet, exposeDetails: false });
    problem = await problemOf(await fetch(`${url}/boom`));
    expect(problem.detail).toBe('The server could not complete the request.');
    expect(problem).not.toHaveProperty('stack');
  });

  it.each([
    ['status', 404, 'Not Found'],
    ['status', 409, 'Conflict'],
    ['statusCode', 422, 'Unprocessable Entity'],
    ['statusCode', 503, 'Service Unavailable'],
  ])('takes the status from err.%s (%i)', async (field, status, title) => {
    const url = await start(withStatus(new Error('custom message'), { [field]: status }));
    const res = await fetch(`${url}/boom`);
    expect(res.status).toBe(status);
    expect(await problemOf(res)).toMatchObject({ status, title, detail: 'custom message' });
  });

  it.each([200, 302, 700, '404', Number.NaN])('answers 500 for an unusable status %s', async (status) => {
    const url = await start(withStatus(new Error('x'), { status }));
    expect((await fetch(`${url}/boom`)).status).toBe(500);
  });

  it('keeps a 4xx message and its string code in production, but not a stack', async () => {
    process.env.NODE_ENV = 'production';
    const url = await start(withStatus(new Error('Order 42 does not exist'), { status: 404, code: 'ORDER_NOT_FOUND' }));
    const problem = await problemOf(await fetch(`${url}/boom`));
    expect(problem).toMatchObject({ status: 404, detail: 'Order 42 does not exist', code: 'ORDER_NOT_FOUND' });
    expect(problem).not.toHaveProperty('stack');
  });

  it('hides a 4xx message marked expose: false in production', async () => {
    process.env.NODE_ENV = 'production';
    const url = await start(withStatus(new Error('token signature mismatch for key k1'), { status: 401, expose: false }));
    const problem = await problemOf(await fetch(`${url}/boom`));
    expect(problem).toMatchObject({ status: 401, title: 'Unauthorized', detail: 'Unauthorized' });
  });

  it('uses an error-supplied absolute type URI and title, and ignores a non-URI type', async () => {
    const url = await start(
      withStatus(new Error('Not enough credit'), {
        status: 403,
        type: 'https://example.com/probs/out-of-credit',
        title: 'You do not have enough credit.',
      }),
    );
    expect(await problemOf(await fetch(`${url}/boom`))).toMatchObject({
      type: 'https://example.com/probs/out-of-credit',
      title: 'You do not have enough credit.',
      status: 403,
    });
    await served?.close();

    // body-parser puts a dotted name, not a URI, in `type`.
    const app = express();
    app.use(express.json());
    app.post('/json', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(errorHandler({ onError: quiet }));
    served = await serve(app);
    const res = await fetch(`${served.url}/json`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"broken":',
    });
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400, instance: '/json' });
  });

  it('sets headers an http-errors style error asks for', async () => {
    const url = await start(withStatus(new Error('Method Not Allowed'), { status: 405, headers: { Allow: 'GET, HEAD' } }));
    const res = await fetch(`${url}/boom`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  describe('closed-loop errors', () => {
    it('IdempotencyError: its own status and code, Retry-After for KEY_IN_USE', async () => {
      const url = await start(new IdempotencyError('KEY_IN_USE', undefined, { retryAfterMs: 1500 }));
      const res = await fetch(`${url}/boom`, { method: 'POST' });
      expect(res.status).toBe(409);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(await problemOf(res)).toMatchObject({ status: 409, title: 'Conflict', code: 'KEY_IN_USE' });
    });

    it.each([
      ['KEY_MISSING', 400],
      ['KEY_INVALID', 400],
      ['KEY_MISMATCH', 422],
      ['STORE_UNAVAILABLE', 503],
    ] as const)('IdempotencyError %s → %i', async (code, status) => {
      process.env.NODE_ENV = 'production';
      const url = await start(new IdempotencyError(code, code === 'STORE_UNAVAILABLE' ? 'redis 10.0.0.9 timed out' : undefined));
      const res = await fetch(`${url}/boom`, { method: 'POST' });
      expect(res.status).toBe(status);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ status, code });
      expect(JSON.stringify(problem)).not.toContain('10.0.0.9');
    });

    it('an upstream HttpError is a 502 Bad Gateway, whatever the upstream status', async () => {
      process.env.NODE_ENV = 'production';
      const url = await start(new HttpError(404, { message: 'GET http://inventory.internal/items/9 → 404', body: { secret: 1 } }));
      const res = await fetch(`${url}/boom`);
      expect(res.status).toBe(502);
      const text = await res.text();
      expect(text).not.toContain('inventory.internal');
      expect(JSON.parse(text)).toMatchObject({ status: 502, title: 'Bad Gateway', code: 'HTTP_ERROR' });
    });

    it.each<[string, () => Error, number, string]>([
      ['NetworkError', () => new NetworkError('connect ECONNREFUSED'), 502, 'NETWORK_ERROR'],
      ['TimeoutError', () => new TimeoutError(5000), 504, 'TIMEOUT'],
      ['RetryExhaustedError of a TimeoutError', () => new RetryExhaustedError(3, new TimeoutError(100)), 504, 'RETRY_EXHAUSTED'],
      ['RetryExhaustedError of an HttpError', () => new RetryExhaustedError(3, new HttpError(503)), 502, 'RETRY_EXHAUSTED'],
      ['RetryExhaustedError of a plain Error', () => new RetryExhaustedError(3, new Error('bug')), 500, 'RETRY_EXHAUSTED'],
    ])('%s → %i', async (_label, make, status, code) => {
      const url = await start(make());
      const res = await fetch(`${url}/boom`);
      expect(res.status).toBe(status);
      expect(await problemOf(res)).toMatchObject({ status, code });
    });

    it('CircuitBreakerError → 503 with Retry-After', async () => {
      const url = await start(new CircuitBreakerError('OPEN', 10_000, 'payments'));
      const res = await fetch(`${url}/boom`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('10');
      expect(await problemOf(res)).toMatchObject({ status: 503, code: 'CIRCUIT_OPEN' });
    });
  });

  it('answers a thrown non-Error value', async () => {
    const url = await start('plain string failure');
    const res = await fetch(`${url}/boom`);
    expect(res.status).toBe(500);
    expect(await problemOf(res)).toMatchObject({ status: 500, detail: 'plain string failure' });
  });

  it('replaces cache headers set for a success', async () => {
    const app = express();
    app.get('/boom', (_req, res, next) => {
      res.set('Cache-Control', 'public, max-age=31536000, immutable');
      res.set('ETag', '"v1"');
      res.set('Last-Modified', new Date(0).toUTCString());
      next(new Error('late failure'));
    });
    app.use(errorHandler({ onError: quiet }));
    served = await serve(app);
    const res = await fetch(`${served.url}/boom`);
    expect(res.status).toBe(500);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('etag')).toBeNull();
    expect(res.headers.get('last-modified')).toBeNull();
    await problemOf(res);
  });

  it('answers HEAD with the status and headers but no body', async () => {
    const url = await start(withStatus(new Error('gone'), { status: 410 }));
    const res = await fetch(`${url}/boom`, { method: 'HEAD' });
    expect(res.status).toBe(410);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(await res.text()).toBe('');
  });

  it('delegates to next(err) when the headers were already sent', async () => {
    const seen: unknown[] = [];
    const failure = new Error('failed mid-stream');
    const app = express();
    app.get('/stream', (_req, res, next) => {
      res.status(200).set('Content-Type', 'text/plain');
      res.write('partial ');
      next(failure);
    });
    app.use(errorHandler({ onError: quiet }));
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      seen.push(err);
      res.end('end');
    });
    served = await serve(app);
    const res = await fetch(`${served.url}/stream`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toBe('partial end');
    expect(seen).toEqual([failure]);
  });

  it('calls onError with the error and the status; by default logs 5xx unless NODE_ENV is test', async () => {
    const calls: Array<[unknown, number]> = [];
    const failure = withStatus(new Error('teapot'), { status: 418 });
    let url = await start(failure, { onError: (error: unknown, _req: Request, status: number) => calls.push([error, status]) });
    await fetch(`${url}/boom`);
    expect(calls).toEqual([[failure, 418]]);
    await served?.close();

    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const crash = new Error('crash');
    url = await start(crash, {});
    await fetch(`${url}/boom`);
    expect(log).toHaveBeenCalledWith(crash);
    log.mockClear();
    process.env.NODE_ENV = 'test';
    await fetch(`${url}/boom`);
    expect(log).not.toHaveBeenCalled();
  });
});
