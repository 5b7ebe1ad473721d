// Bad options and bad calls get a clear TypeError, before anything is sent.
import { describe, expect, test } from 'vitest';
import { createSyncClient, type SyncClientOptions } from 'closed-loop';
import { fakeFetch, json, settle } from './_fake-fetch.js';

const make = (options: unknown) => () => createSyncClient(options as SyncClientOptions);

describe('createSyncClient refuses', () => {
  test.each([
    ['no options', undefined],
    ['no baseUrl', {}],
    ['an empty list', { baseUrl: [] }],
    ['an empty string', { baseUrl: '' }],
    ['a number', { baseUrl: 42 }],
    ['a list with a non-string', { baseUrl: ['https://a.test', null] }],
    ['an unparsable URL', { baseUrl: 'http://' }],
    ['another scheme', { baseUrl: 'ftp://files.test' }],
    ['a query in the base', { baseUrl: 'https://a.test/api?x=1' }],
  ])('baseUrl: %s', (_, options) => {
    expect(make(options)).toThrow(TypeError);
  });

  test('a relative baseUrl where there is no page to resolve it against', () => {
    if ((globalThis as { location?: unknown }).location !== undefined) return; // resolved in browsers
    expect(make({ baseUrl: '/api' })).toThrow(/not a valid URL/);
  });

  test.each([
    ['fetch', { fetch: 'no' }],
    ['retry.maxAttempts', { retry: { maxAttempts: 0 } }],
    ['retry.jitter', { retry: { jitter: 'lots' } }],
    ['retry.timeoutMs', { retry: { timeoutMs: -1 } }],
    ['breaker', { breaker: 'yes' }],
    ['breaker.failureThreshold', { breaker: { failureThreshold: 0 } }],
    ['loadBalancing', { loadBalancing: 'random' }],
    ['idempotencyHeader', { idempotencyHeader: 'Idem Key' }],
    ['etagCache.maxEntries', { etagCache: { maxEntries: 0 } }],
    ['retryBudget.ratio', { retryBudget: { ratio: -0.1 } }],
    ['offlineQueue', { offlineQueue: {} }],
    ['clock', { clock: { now: () => 0 } }],
    ['headers', { headers: 'authorization: x' }],
    ['headers with a bad name', { headers: { 'bad name': 'x' } }],
  ])('%s', (_, extra) => {
    expect(make({ baseUrl: 'https://a.test', ...extra })).toThrow(TypeError);
  });

  test('a good baseUrl in every accepted form', () => {
    const api = createSyncClient({ baseUrl: ['https://a.test/', 'http://127.0.0.1:8080/api/v1//'] });
    expect(api.getServers().map((s) => s.url)).toEqual(['https://a.test', 'http://127.0.0.1:8080/api/v1']);
  });
});

describe('a call refuses, sending nothing', () => {
  const setup = () => {
    const fake = fakeFetch(() => json({}));
    return { api: createSyncClient({ baseUrl: 'https://a.test', fetch: fake.fetch }), calls: fake.calls };
  };

  test.each([['CONNECT'], ['TRACE'], ['FETCH'], [''], [undefined], [42]])('method %s', async (method) => {
    const { api, calls } = setup();
    const outcome = await settle(api.request(method as string, '/x'));
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(TypeError);
    expect(calls).toHaveLength(0);
  });

  test('lower-case methods are fine', async () => {
    const { api, calls } = setup();
    await api.request('post', '/x', { body: {} });
    expect(calls[0]!.method).toBe('POST');
  });

  test.each([
    ['an absolute URL as path', (api: ReturnType<typeof setup>['api']) => api.get('https://evil.test/x')],
    ['a protocol-relative path', (api: ReturnType<typeof setup>['api']) => api.get('//evil.test/x')],
    ['a non-string path', (api: ReturnType<typeof setup>['api']) => api.get(5 as unknown as string)],
    ['a GET with a body', (api: ReturnType<typeof setup>['api']) => api.request('GET', '/x', { body: { a: 1 } })],
    ['a cyclic body', (api: ReturnType<typeof setup>['api']) => {
      const body: Record<string, unknown> = {};
      body.self = body;
      return api.post('/x', body);
    }],
    ['a BigInt body', (api: ReturnType<typeof setup>['api']) => api.post('/x', { n: 10n })],
    ['a function body', (api: ReturnType<typeof setup>['api']) => api.post('/x', () => 1)],
    ['a stream body', (api: ReturnType<typeof setup>['api']) => api.post('/x', new ReadableStream())],
    ['an empty idempotency key', (api: ReturnType<typeof setup>['api']) => api.post('/x', {}, { idempotencyKey: '' })],
    ['a key with spaces', (api: ReturnType<typeof setup>['api']) => api.post('/x', {}, { idempotencyKey: 'a b' })],
    ['a 256-character key', (api: ReturnType<typeof setup>['api']) => api.post('/x', {}, { idempotencyKey: 'k'.repeat(256) })],
    ['a header value with a newline', (api: ReturnType<typeof setup>['api']) => api.get('/x', { headers: { 'x-a': 'a\nb' } })],
    ['a header with a non-string value', (api: ReturnType<typeof setup>['api']) => api.get('/x', { headers: { 'x-a': {} as unknown as string } })],
    ['a signal that is not one', (api: ReturnType<typeof setup>['api']) => api.get('/x', { signal: 'stop' as unknown as AbortSignal })],
    ['retry options that are not', (api: ReturnType<typeof setup>['api']) => api.get('/x', { retry: { maxAttempts: -1 } })],
  ])('%s', async (_, call) => {
    const { api, calls } = setup();
    const outcome = await settle(call(api));
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(TypeError);
    expect(calls).toHaveLength(0);
  });

  test('client.mutation refuses a bad method or path at once', () => {
    const { api } = setup();
    expect(() => api.mutation('JUMP', '/x')).toThrow(TypeError);
    expect(() => api.mutation('POST', 'https://evil.test')).toThrow(TypeError);
  });

  test('syncOfflineQueue without a queue rejects with a TypeError', async () => {
    const { api } = setup();
    await expect(api.syncOfflineQueue()).rejects.toThrow(TypeError);
  });

  test('no fetch anywhere: a clear TypeError', async () => {
    const original = globalThis.fetch;
    // @ts-expect-error removing fetch for this test
    delete globalThis.fetch;
    try {
      const api = createSyncClient({ baseUrl: 'https://a.test' });
      const outcome = await settle(api.get('/x'));
      expect((outcome as { error: Error }).error).toBeInstanceOf(TypeError);
      expect((outcome as { error: Error }).error.message).toMatch(/fetch/);
    } finally {
      globalThis.fetch = original;
    }
  });
});

describe('option types', () => {
  test.each([
    ['retry: true', { retry: true }],
    ['etagCache: "yes"', { etagCache: 'yes' }],
    ['retryBudget: 3', { retryBudget: 3 }],
  ])('%s', (_, extra) => {
    expect(make({ baseUrl: 'https://a.test', ...extra })).toThrow(TypeError);
  });

  test('request options that are not an object reject (no throw)', async () => {
    const api = createSyncClient({ baseUrl: 'https://a.test', fetch: fakeFetch(() => json({})).fetch });
    await expect(api.post('/x', {}, 'fast' as never)).rejects.toThrow(TypeError);
    await expect(api.get('/x', 5 as never)).rejects.toThrow(TypeError);
  });

  test('retryBudget: true is a budget with the defaults', () => {
    const api = createSyncClient({ baseUrl: 'https://a.test', retryBudget: true });
    expect(api.retryBudget?.getStats()).toEqual({ balance: 10, deposits: 0, withdrawals: 0, denied: 0 });
  });
});
