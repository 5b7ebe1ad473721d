// Client headers from an object or a function, read again before every attempt: a token refreshed
// between attempts is the one the retry sends.
import { expect, test } from 'vitest';
import { createSyncClient, ManualClock } from 'closed-loop';
import { fakeFetch, json, settle } from './_fake-fetch.js';

const BASE = 'https://api.test';
const retry = { initialDelayMs: 0, maxDelayMs: 0, timeoutMs: 0 };

test('an async headers function is called before each attempt; the retry carries the refreshed token', async () => {
  let token = 'token-1';
  let reads = 0;
  const fake = fakeFetch((request, i) => {
    if (i === 0) {
      // The server is busy; meanwhile the app refreshes its token.
      token = 'token-2';
      return json({}, 503);
    }
    return json({ auth: request.headers.authorization });
  });
  const api = createSyncClient({
    baseUrl: BASE,
    fetch: fake.fetch,
    clock: new ManualClock(),
    retry,
    headers: async () => {
      reads++;
      await Promise.resolve();
      return { Authorization: `Bearer ${token}` };
    },
  });
  const response = await api.post('/orders', { sku: 'A' });
  expect(reads).toBe(2);
  expect(fake.calls.map((c) => c.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
  expect(response.data).toEqual({ auth: 'Bearer token-2' });
  // The key stays the same while the token changes.
  expect(fake.calls[0]!.headers['idempotency-key']).toBe(fake.calls[1]!.headers['idempotency-key']);
});

test('a sync function, a Headers object and a list of pairs all work; call headers win over client headers', async () => {
  const fake = fakeFetch(() => json({}));
  const clock = new ManualClock();
  const a = createSyncClient({ baseUrl: BASE, fetch: fake.fetch, clock, headers: () => ({ 'x-app': 'fn', 'x-both': 'client' }) });
  const b = createSyncClient({ baseUrl: BASE, fetch: fake.fetch, clock, headers: new Headers({ 'X-App': 'headers' }) });
  const c = createSyncClient({ baseUrl: BASE, fetch: fake.fetch, clock, headers: [['X-App', 'pairs']] });
  await a.get('/1', { headers: { 'X-Both': 'call' } });
  await b.get('/2');
  await c.get('/3');
  expect(fake.calls.map((call) => call.headers['x-app'])).toEqual(['fn', 'headers', 'pairs']);
  expect(fake.calls[0]!.headers['x-both']).toBe('call');
});

test('a function returning undefined adds nothing', async () => {
  const fake = fakeFetch(() => json({}));
  const api = createSyncClient({ baseUrl: BASE, fetch: fake.fetch, headers: () => undefined });
  await api.get('/x');
  expect(fake.calls[0]!.headers.authorization).toBeUndefined();
});

test('a 401 is an answer, not retried: the app refreshes and calls again', async () => {
  const fake = fakeFetch(() => json({ title: 'Unauthorized' }, 401));
  let reads = 0;
  const api = createSyncClient({ baseUrl: BASE, fetch: fake.fetch, retry, headers: () => (reads++, { authorization: 'old' }) });
  const outcome = await settle(api.get('/me'));
  expect(outcome).toMatchObject({ ok: false, error: { status: 401 } });
  expect(reads).toBe(1);
  expect(fake.calls).toHaveLength(1);
});

test('invalid headers from the function fail the call without sending and without retrying', async () => {
  const fake = fakeFetch(() => json({}));
  let reads = 0;
  const api = createSyncClient({
    baseUrl: BASE,
    fetch: fake.fetch,
    retry,
    headers: () => (reads++, { authorization: 'Bearer a\r\nInjected: yes' }),
  });
  const outcome = await settle(api.get('/me'));
  expect(outcome).toMatchObject({ ok: false, error: { code: 'INVALID_HEADERS' } });
  expect(reads).toBe(1);
  expect(fake.calls).toHaveLength(0);
});

test('a headers function that throws (token refresh failed) is retried like any unknown error, then surfaces', async () => {
  const fake = fakeFetch(() => json({}));
  let reads = 0;
  const api = createSyncClient({
    baseUrl: BASE,
    fetch: fake.fetch,
    clock: new ManualClock(),
    retry: { ...retry, maxAttempts: 2 },
    breaker: { failureThreshold: 1 },
    headers: () => {
      reads++;
      throw new Error('refresh failed');
    },
  });
  const outcome = await settle(api.get('/me'));
  expect(outcome).toMatchObject({ ok: false, error: { name: 'RetryExhaustedError', cause: { message: 'refresh failed' } } });
  expect(reads).toBe(2);
  expect(fake.calls).toHaveLength(0);
  // The failure was the app's, not the server's: the breaker did not count it.
  expect(api.getServers()[0]!.state).toBe('CLOSED');
});
