// Which answers the client retries and how each failure reaches the caller.
import { describe, expect, test } from 'vitest';
import {
  createSyncClient,
  HttpError,
  isHttpError,
  isNetworkError,
  isRetryExhaustedError,
  ManualClock,
  NetworkError,
  RetryExhaustedError,
} from 'closed-loop';
import { connectionRefused, fakeFetch, json, settle, respond } from './_fake-fetch.js';

const BASE = 'https://api.test';

function client(responder: Parameters<typeof fakeFetch>[0], extra: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const fake = fakeFetch(responder);
  const api = createSyncClient({
    baseUrl: BASE,
    fetch: fake.fetch,
    clock,
    breaker: false,
    retry: { maxAttempts: 3, initialDelayMs: 100, jitter: 'none', timeoutMs: 0 },
    ...extra,
  });
  return { api, clock, calls: fake.calls };
}

describe('retried answers', () => {
  test.each([408, 425, 429, 500, 502, 503, 504])('%i is retried, then the success is returned', async (status) => {
    const { api, clock, calls } = client((_, i) => (i === 0 ? json({ error: 'busy' }, status) : json({ ok: true })));
    const result = settle(api.post('/orders', { sku: 'A' }));
    await clock.runAll();
    const outcome = await result;
    expect(outcome).toMatchObject({ ok: true, value: { status: 200, data: { ok: true } } });
    expect(calls).toHaveLength(2);
  });

  test('when every attempt fails: RetryExhaustedError, cause the last HttpError with status, headers and body', async () => {
    const { api, clock, calls } = client((_, i) => json({ attempt: i + 1 }, 503, { 'x-trace': `t${i + 1}` }));
    const result = settle(api.get('/items'));
    await clock.runAll();
    const outcome = await result;
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error;
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(isRetryExhaustedError(error)).toBe(true);
    const exhausted = error as RetryExhaustedError;
    expect(exhausted.attempts).toBe(3);
    expect(isHttpError(exhausted.cause)).toBe(true);
    const last = exhausted.cause as HttpError;
    expect(last.status).toBe(503);
    expect(last.body).toEqual({ attempt: 3 });
    expect(last.headers['x-trace']).toBe('t3');
    expect(calls).toHaveLength(3);
  });

  test('a network failure is a NetworkError wrapping what fetch threw, and is retried', async () => {
    const { api, clock, calls } = client((_, i) => (i < 2 ? connectionRefused() : json({ ok: 1 })));
    const result = settle(api.put('/items/1', { name: 'x' }));
    await clock.runAll();
    expect(await result).toMatchObject({ ok: true, value: { status: 200 } });
    expect(calls).toHaveLength(3);

    const down = client(() => connectionRefused());
    const failed = settle(down.api.get('/x'));
    await down.clock.runAll();
    const error = ((await failed) as { error: RetryExhaustedError }).error;
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error.cause).toBeInstanceOf(NetworkError);
    expect(isNetworkError(error.cause)).toBe(true);
    expect(((error.cause as NetworkError).cause as Error).name).toBe('TypeError');
  });
});

describe('answers that are not retried', () => {
  test.each([400, 401, 403, 404, 405, 409, 410, 422])('%i rejects at once with HttpError after one request', async (status) => {
    const { api, calls } = client(() =>
      respond(JSON.stringify({ title: 'no', status }), {
        status,
        headers: { 'content-type': 'application/problem+json', 'retry-after': '3' },
      }),
    );
    const outcome = await settle(api.post('/orders', { sku: 'A' }));
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: HttpError }).error;
    expect(error).toBeInstanceOf(HttpError);
    expect(error.status).toBe(status);
    expect(error.body).toEqual({ title: 'no', status });
    expect(error.headers['content-type']).toBe('application/problem+json');
    expect(error.retryAfterMs).toBe(3000);
    expect(calls).toHaveLength(1);
  });

  test('an error body that is not JSON stays text', async () => {
    const { api } = client(() => respond('Bad thing', { status: 400, headers: { 'content-type': 'text/plain' } }));
    const error = ((await settle(api.get('/x'))) as { error: HttpError }).error;
    expect(error.body).toBe('Bad thing');
  });

  test('with retry: false a retryable failure rejects as itself after one attempt', async () => {
    const { api, calls } = client(() => json({}, 503), { retry: false });
    const error = ((await settle(api.post('/x', {}))) as { error: unknown }).error;
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(503);
    expect(calls).toHaveLength(1);

    const down = client(() => connectionRefused(), { retry: false });
    expect(((await settle(down.api.get('/x'))) as { error: unknown }).error).toBeInstanceOf(NetworkError);
  });

  test('a call can override the retry options', async () => {
    const { api, clock, calls } = client(() => json({}, 503));
    const result = settle(api.get('/x', { retry: { maxAttempts: 5 } }));
    await clock.runAll();
    expect(((await result) as { error: RetryExhaustedError }).error.attempts).toBe(5);
    expect(calls).toHaveLength(5);
  });

  test('a 2xx that claims JSON but is not fails without a retry', async () => {
    const { api, calls } = client(() => respond('{nope', { headers: { 'content-type': 'application/json' } }));
    const error = ((await settle(api.get('/x'))) as { error: { code: string } }).error;
    expect(error.code).toBe('INVALID_RESPONSE');
    expect(calls).toHaveLength(1);
  });
});

describe('bodies and responses', () => {
  test('objects go out as JSON with a content type; strings as they are', async () => {
    const { api, calls } = client(() => json({}));
    await api.post('/a', { n: 1, list: [1, 2] });
    await api.post('/b', 'plain text', { headers: { 'content-type': 'text/plain' } });
    await api.patch('/c', null);
    expect(calls[0]!.body).toBe('{"n":1,"list":[1,2]}');
    expect(calls[0]!.headers['content-type']).toBe('application/json');
    expect(calls[1]!.body).toBe('plain text');
    expect(calls[1]!.headers['content-type']).toBe('text/plain');
    expect(calls[2]!.body).toBe('null');
  });

  test('JSON responses are parsed by content type (+json too), others are text, empty is undefined', async () => {
    const answers = [
      json({ a: 1 }),
      respond('{"b":2}', { headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' } }),
      respond('{"c":3}', { headers: { 'content-type': 'text/plain' } }),
      respond(null, { status: 204 }),
    ];
    const { api } = client((_, i) => answers[i]!);
    expect((await api.get('/1')).data).toEqual({ a: 1 });
    expect((await api.get('/2')).data).toEqual({ b: 2 });
    expect((await api.get('/3')).data).toBe('{"c":3}');
    const empty = await api.delete('/4');
    expect(empty.status).toBe(204);
    expect(empty.data).toBeUndefined();
  });

  test('the response carries status, lower-cased headers, replayed and the key', async () => {
    const { api } = client(() => json({ id: 7 }, 201, { 'Idempotent-Replayed': 'true', Location: '/orders/7' }));
    const response = await api.post('/orders', { sku: 'A' }, { idempotencyKey: 'order-7' });
    expect(response).toMatchObject({
      status: 201,
      data: { id: 7 },
      idempotencyKey: 'order-7',
      replayed: true,
      fromCache: false,
    });
    expect(response.headers.location).toBe('/orders/7');
  });
});
