// A caller's AbortSignal: rejects with its reason, stops the retries, never counts against a server.
import { expect, test } from 'vitest';
import { createSyncClient, ManualClock, TimeoutError } from 'closed-loop';
import { fakeFetch, flush, hangUntilAborted, json, settle } from './_fake-fetch.js';

const BASE = 'https://api.test';

test('an already-aborted signal: rejects with its reason and sends nothing', async () => {
  const fake = fakeFetch(() => json({}));
  const api = createSyncClient({ baseUrl: BASE, fetch: fake.fetch });
  const reason = new Error('gone');
  const outcome = await settle(api.post('/x', { a: 1 }, { signal: AbortSignal.abort(reason) }));
  expect(outcome).toEqual({ ok: false, error: reason });
  expect(fake.calls).toHaveLength(0);
});

test('abort during a request: the fetch is aborted, the call rejects with the reason, no retry follows', async () => {
  const clock = new ManualClock();
  const fake = fakeFetch(hangUntilAborted);
  const api = createSyncClient({
    baseUrl: BASE,
    fetch: fake.fetch,
    clock,
    breaker: { failureThreshold: 1 },
    retry: { initialDelayMs: 0, maxDelayMs: 0 },
  });
  const controller = new AbortController();
  const call = settle(api.get('/slow', { signal: controller.signal }));
  await flush();
  expect(fake.calls).toHaveLength(1);
  controller.abort('user cancelled');
  expect(await call).toEqual({ ok: false, error: 'user cancelled' });
  expect(fake.calls[0]!.signal?.aborted).toBe(true);
  await clock.runAll();
  expect(fake.calls).toHaveLength(1);
  // Giving up is the caller's doing: the breaker (threshold 1) did not count it as a failure.
  expect(api.getServers()[0]!.state).toBe('CLOSED');
});

test('abort during the backoff wait: rejects at once, and the next attempt never starts', async () => {
  const clock = new ManualClock();
  const fake = fakeFetch(() => json({}, 503));
  const api = createSyncClient({ baseUrl: BASE, fetch: fake.fetch, clock, retry: { initialDelayMs: 5000, jitter: 'none' } });
  const controller = new AbortController();
  const call = settle(api.post('/x', {}, { signal: controller.signal }));
  await clock.advance(1000);
  expect(fake.calls).toHaveLength(1);
  controller.abort(new DOMException('stop', 'AbortError'));
  const outcome = await call;
  expect(outcome.ok).toBe(false);
  expect((outcome as { error: DOMException }).error.name).toBe('AbortError');
  await clock.advance(10_000);
  expect(fake.calls).toHaveLength(1);
});

test('the per-attempt deadline (timeoutMs) aborts a hung request with a TimeoutError and retries it', async () => {
  const clock = new ManualClock();
  const fake = fakeFetch((request, i) => (i === 0 ? hangUntilAborted(request) : json({ ok: true })));
  const api = createSyncClient({
    baseUrl: BASE,
    fetch: fake.fetch,
    clock,
    retry: { timeoutMs: 2000, initialDelayMs: 0, maxDelayMs: 0 },
  });
  const call = settle(api.get('/x'));
  await clock.advance(2000);
  const outcome = await call;
  expect(outcome).toMatchObject({ ok: true, value: { data: { ok: true } } });
  expect(fake.calls[0]!.signal?.reason).toBeInstanceOf(TimeoutError);
  expect(fake.calls).toHaveLength(2);
});

test('with no signal and timeoutMs: 0 the request gets no signal at all (no AbortController made)', async () => {
  const fake = fakeFetch(() => json({}));
  const api = createSyncClient({ baseUrl: BASE, fetch: fake.fetch, retry: { timeoutMs: 0 } });
  await api.post('/x', {});
  await api.get('/y');
  expect(fake.calls.map((c) => c.signal)).toEqual([undefined, undefined]);
});
