// Identical GETs in flight at once share one request; each caller can still abort alone.
import { describe, expect, test } from 'vitest';
import { createSyncClient, ManualClock } from 'closed-loop';
import { deferred, fakeFetch, flush, hangUntilAborted, json, settle } from './_fake-fetch.js';

const BASE = 'https://api.test';

function gated(extra: Record<string, unknown> = {}) {
  const gates: Array<ReturnType<typeof deferred<Response>>> = [];
  const fake = fakeFetch((request) => {
    if (request.path.startsWith('/hang')) return hangUntilAborted(request);
    const gate = deferred<Response>();
    gates.push(gate);
    return gate.promise;
  });
  const api = createSyncClient({ baseUrl: BASE, fetch: fake.fetch, clock: new ManualClock(), ...extra });
  return { api, gates, calls: fake.calls };
}

describe('GET dedupe', () => {
  test('three identical GETs in flight: one request, three answers with the same data', async () => {
    const { api, gates, calls } = gated();
    const all = [api.get('/items?page=1'), api.get('/items?page=1'), api.get('items?page=1')];
    await flush();
    expect(calls).toHaveLength(1);
    gates[0]!.resolve(json({ items: [1, 2] }));
    const answers = await Promise.all(all);
    expect(answers.map((a) => a.data)).toEqual([{ items: [1, 2] }, { items: [1, 2] }, { items: [1, 2] }]);
    // Each caller has its own response object.
    expect(answers[0]).not.toBe(answers[1]);
  });

  test('once settled, the next GET sends again', async () => {
    const { api, gates, calls } = gated();
    const first = api.get('/items');
    await flush();
    gates[0]!.resolve(json({ v: 1 }));
    await first;
    const second = api.get('/items');
    await flush();
    gates[1]!.resolve(json({ v: 2 }));
    expect((await second).data).toEqual({ v: 2 });
    expect(calls).toHaveLength(2);
  });

  test('different paths, queries or call headers are different requests', async () => {
    const { api, calls } = gated();
    void settle(api.get('/items'));
    void settle(api.get('/items?page=2'));
    void settle(api.get('/items', { headers: { 'accept-language': 'fr' } }));
    void settle(api.get('/items', { headers: { 'Accept-Language': 'fr' } }));
    void settle(api.get('/other'));
    await flush();
    expect(calls.map((c) => `${c.path} ${c.headers['accept-language'] ?? ''}`)).toEqual([
      '/items ',
      '/items?page=2 ',
      '/items fr',
      '/other ',
    ]);
  });

  test('mutations are never shared: two identical POSTs are two requests with two keys', async () => {
    const { api, calls } = gated();
    void settle(api.post('/items', { a: 1 }));
    void settle(api.post('/items', { a: 1 }));
    await flush();
    expect(calls).toHaveLength(2);
    expect(calls[0]!.headers['idempotency-key']).not.toBe(calls[1]!.headers['idempotency-key']);
  });

  test('dedupe: false sends every GET', async () => {
    const { api, calls } = gated({ dedupe: false });
    void settle(api.get('/items'));
    void settle(api.get('/items'));
    await flush();
    expect(calls).toHaveLength(2);
  });

  test('a failure reaches every caller', async () => {
    const { api, gates } = gated({ retry: false });
    const all = [settle(api.get('/items')), settle(api.get('/items'))];
    await flush();
    gates[0]!.resolve(json({ message: 'nope' }, 404));
    const outcomes = await Promise.all(all);
    expect(outcomes.map((o) => o.ok)).toEqual([false, false]);
  });
});

describe('dedupe and abort', () => {
  test('one caller aborting leaves the shared request running for the others', async () => {
    const { api, gates, calls } = gated();
    const controller = new AbortController();
    const leaving = settle(api.get('/items', { signal: controller.signal }));
    const staying = api.get('/items');
    await flush();
    controller.abort(new Error('left the page'));
    expect(await leaving).toMatchObject({ ok: false, error: { message: 'left the page' } });
    expect(calls[0]!.signal?.aborted).toBe(false);
    gates[0]!.resolve(json({ ok: true }));
    expect((await staying).data).toEqual({ ok: true });
    expect(calls).toHaveLength(1);
  });

  test('when every caller that joined has aborted, the request itself is aborted', async () => {
    const { api, calls } = gated();
    const one = new AbortController();
    const two = new AbortController();
    const first = settle(api.get('/hang', { signal: one.signal }));
    const second = settle(api.get('/hang', { signal: two.signal }));
    await flush();
    expect(calls).toHaveLength(1);
    one.abort('one');
    await flush();
    expect(calls[0]!.signal?.aborted).toBe(false);
    two.abort('two');
    await flush();
    expect(calls[0]!.signal?.aborted).toBe(true);
    expect(await first).toEqual({ ok: false, error: 'one' });
    expect(await second).toEqual({ ok: false, error: 'two' });
    // A new GET after that starts afresh rather than joining the aborted one.
    const third = api.get('/items');
    await flush();
    expect(calls).toHaveLength(2);
    expect(third).toBeInstanceOf(Promise);
  });
});
