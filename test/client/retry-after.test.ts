// Retry-After from the server sets the wait before the next attempt, on the client's clock.
import { expect, test } from 'vitest';
import { createSyncClient, HttpError, ManualClock, RetryExhaustedError } from 'closed-loop';
import { fakeFetch, flush, json, settle, respond } from './_fake-fetch.js';

const BASE = 'https://api.test';

function setup(responder: Parameters<typeof fakeFetch>[0], retry: Record<string, unknown> = {}, start = 0) {
  const clock = new ManualClock(start);
  const fake = fakeFetch(responder);
  const at: number[] = [];
  const fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    at.push(clock.now());
    return fake.fetch(input, init);
  }) as typeof globalThis.fetch;
  const api = createSyncClient({
    baseUrl: BASE,
    fetch,
    clock,
    breaker: false,
    // Backoff alone would wait 10 ms: any other wait comes from Retry-After.
    retry: { initialDelayMs: 10, jitter: 'none', timeoutMs: 0, ...retry },
  });
  return { api, clock, at, calls: fake.calls };
}

test('a 503 with Retry-After in seconds: the next attempt starts exactly that much later', async () => {
  const { api, clock, at } = setup((_, i) => (i === 0 ? json({}, 503, { 'retry-after': '2' }) : json({ ok: true })));
  const result = settle(api.post('/jobs', { n: 1 }));
  await clock.advance(1999);
  expect(at).toEqual([0]);
  await clock.advance(1);
  expect(at).toEqual([0, 2000]);
  expect(await result).toMatchObject({ ok: true, value: { data: { ok: true } } });
});

test('a 429 with an HTTP-date Retry-After is measured on the client clock', async () => {
  const start = Date.UTC(2030, 0, 1, 12, 0, 0);
  const date = new Date(start + 5000).toUTCString();
  const { api, clock, at } = setup((_, i) => (i === 0 ? json({}, 429, { 'retry-after': date }) : json({})), {}, start);
  const result = settle(api.get('/feed'));
  await clock.advance(4999);
  expect(at).toHaveLength(1);
  await clock.advance(1);
  expect(at.map((t) => t - start)).toEqual([0, 5000]);
  expect((await result).ok).toBe(true);
});

test('maxRetryAfterMs caps a very long Retry-After', async () => {
  const { api, clock, at } = setup((_, i) => (i === 0 ? json({}, 503, { 'retry-after': '3600' }) : json({})), {
    maxRetryAfterMs: 500,
  });
  const result = settle(api.get('/feed'));
  await clock.advance(500);
  expect(at).toEqual([0, 500]);
  expect((await result).ok).toBe(true);
});

test('a 409 KEY_IN_USE problem is retried after its Retry-After, with the same key', async () => {
  const problem = (status: number) =>
    respond(JSON.stringify({ type: 'about:blank', title: 'Conflict', status, code: 'KEY_IN_USE' }), {
      status,
      headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
    });
  const { api, clock, at, calls } = setup((_, i) => (i < 2 ? problem(409) : json({ id: 1 }, 201)));
  const result = settle(api.post('/orders', { sku: 'A' }));
  await clock.advance(999);
  expect(at).toEqual([0]);
  await clock.advance(1001);
  expect(at).toEqual([0, 1000, 2000]);
  const outcome = await result;
  expect(outcome).toMatchObject({ ok: true, value: { status: 201 } });
  expect(new Set(calls.map((c) => c.headers['idempotency-key'])).size).toBe(1);
});

test('a KEY_IN_USE that never clears ends in RetryExhaustedError whose cause is the 409', async () => {
  const { api, clock } = setup(() =>
    respond(JSON.stringify({ code: 'KEY_IN_USE' }), {
      status: 409,
      headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
    }),
  );
  const result = settle(api.post('/orders', {}));
  await clock.advance(10_000);
  await flush();
  const error = ((await result) as { error: RetryExhaustedError }).error;
  expect(error).toBeInstanceOf(RetryExhaustedError);
  expect(error.cause).toBeInstanceOf(HttpError);
  expect((error.cause as HttpError).status).toBe(409);
  expect((error.cause as HttpError).body).toEqual({ code: 'KEY_IN_USE' });
});

test('a 409 of another kind (KEY_MISMATCH is 422; a plain conflict) is not retried', async () => {
  const { api, calls } = setup(() => json({ code: 'VERSION_CONFLICT' }, 409));
  const error = ((await settle(api.put('/doc', { v: 1 }))) as { error: HttpError }).error;
  expect(error.status).toBe(409);
  expect(calls).toHaveLength(1);
});
