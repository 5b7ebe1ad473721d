// The ETag cache against a real Express app (which sets ETags and answers 304 to a matching
// If-None-Match): the client revalidates and serves its cached data on 304.
import { afterEach, expect, test } from 'vitest';
import { createSyncClient } from 'closed-loop';
import { faultyFetch, Ledger, type OrderApp, startOrderApp } from './_server.js';

const apps: OrderApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
async function start(ledger: Ledger) {
  const app = await startOrderApp({ ledger });
  apps.push(app);
  return app;
}

function spy() {
  const sent: Array<string | null> = [];
  const statuses: number[] = [];
  const fetchSpy = (async (input: RequestInfo | URL, init?: RequestInit) => {
    sent.push(new Headers(init?.headers).get('if-none-match'));
    const response = await fetch(input, init);
    statuses.push(response.status);
    return response;
  }) as typeof fetch;
  return { fetch: fetchSpy, sent, statuses };
}

test('the second GET sends If-None-Match, gets a 304 and returns the cached data', async () => {
  const ledger = new Ledger();
  const app = await start(ledger);
  const { fetch, sent, statuses } = spy();
  const api = createSyncClient({ baseUrl: app.url, fetch });

  const first = await api.get('/orders');
  const second = await api.get('/orders');

  expect(first.headers.etag).toBeTruthy();
  expect(sent).toEqual([null, first.headers.etag]);
  expect(statuses).toEqual([200, 304]);
  expect(ledger.notModified).toBe(1);
  expect(second).toMatchObject({ status: 200, data: first.data, fromCache: true });
  expect(first.fromCache).toBe(false);
});

test('when the resource changed the server answers 200 and the cache takes the new version', async () => {
  const ledger = new Ledger();
  const app = await start(ledger);
  const { fetch, statuses } = spy();
  const api = createSyncClient({ baseUrl: app.url, fetch });

  await api.get('/orders');
  ledger.catalogue = ['apple', 'pear'];
  const changed = await api.get('/orders');
  const again = await api.get('/orders');

  expect(statuses).toEqual([200, 200, 304]);
  expect(changed.data).toEqual({ items: ['apple', 'pear'], auth: null });
  expect(again.data).toEqual(changed.data);
  expect(again.fromCache).toBe(true);
});

test('a mutation of the same path drops its cached entry', async () => {
  const ledger = new Ledger();
  const app = await start(ledger);
  const { fetch, sent } = spy();
  const api = createSyncClient({ baseUrl: app.url, fetch });
  const first = await api.get('/orders');
  await api.post('/orders', { sku: 'Z' });
  await api.get('/orders');
  expect(sent).toEqual([null, null, null]);
  expect(first.status).toBe(200);
});

test('entries are per call headers: another Authorization is another entry', async () => {
  const ledger = new Ledger();
  const app = await start(ledger);
  const { fetch, sent } = spy();
  const api = createSyncClient({ baseUrl: app.url, fetch });
  const alice = await api.get('/orders', { headers: { authorization: 'alice' } });
  const bob = await api.get('/orders', { headers: { authorization: 'bob' } });
  const aliceAgain = await api.get('/orders', { headers: { authorization: 'alice' } });
  expect(sent).toEqual([null, null, alice.headers.etag]);
  expect(bob.data).toEqual({ items: ['apple'], auth: 'bob' });
  expect(aliceAgain.data).toEqual({ items: ['apple'], auth: 'alice' });
});

test('etagCache: false never sends If-None-Match', async () => {
  const ledger = new Ledger();
  const app = await start(ledger);
  const { fetch, sent, statuses } = spy();
  const api = createSyncClient({ baseUrl: app.url, fetch, etagCache: false });
  await api.get('/orders');
  await api.get('/orders');
  expect(sent).toEqual([null, null]);
  expect(statuses).toEqual([200, 200]);
});

test('a cached entry survives a failed revalidation and serves the 304 that follows a retry', async () => {
  const ledger = new Ledger();
  const app = await start(ledger);
  const { fetch, seen } = faultyFetch((n) => (n === 1 ? 'refuse' : 'ok'));
  const api = createSyncClient({ baseUrl: app.url, fetch, retry: { initialDelayMs: 1, jitter: 'none' } });
  const first = await api.get('/orders');
  const second = await api.get('/orders');
  expect(seen.map((s) => s.fault)).toEqual(['ok', 'refuse', 'ok']);
  expect(second).toMatchObject({ data: first.data, fromCache: true });
  expect(ledger.notModified).toBe(1);
});
