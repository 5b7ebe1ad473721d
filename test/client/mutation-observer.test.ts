// SyncMutation: the framework-free observer a UI renders. States, attempts, one key per mutate,
// nothing new sent while pending, a stable snapshot for useSyncExternalStore.
import { describe, expect, test } from 'vitest';
import {
  createSyncClient,
  HttpError,
  ManualClock,
  RetryExhaustedError,
  type SyncMutationState,
} from 'closed-loop';
import { deferred, fakeFetch, flush, json, settle } from './_fake-fetch.js';

const BASE = 'https://api.test';

function setup(responder: Parameters<typeof fakeFetch>[0], retry: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const fake = fakeFetch(responder);
  const api = createSyncClient({
    baseUrl: BASE,
    fetch: fake.fetch,
    clock,
    breaker: false,
    retry: { maxAttempts: 3, initialDelayMs: 100, jitter: 'none', timeoutMs: 0, ...retry },
  });
  return { api, clock, calls: fake.calls };
}

function record<T>(mutation: { subscribe(l: (s: SyncMutationState<T>) => void): () => void }) {
  const states: Array<SyncMutationState<T>> = [];
  const stop = mutation.subscribe((state) => states.push(state));
  return { states, stop };
}

describe('states', () => {
  test('idle → pending (attempt 1 of 3) → pending (attempt 2 of 3) → success with data', async () => {
    const { api, clock } = setup((_, i) => (i === 0 ? json({}, 503) : json({ id: 5 }, 201)));
    const save = api.mutation<{ id: number }, { title: string }>('POST', '/todos');
    expect(save.getState()).toEqual({
      status: 'idle',
      attempt: 0,
      maxAttempts: 3,
      data: undefined,
      error: undefined,
      idempotencyKey: undefined,
    });
    const { states } = record(save);
    const done = save.mutate({ title: 'milk' });
    await clock.runAll();
    const response = await done;

    expect(states.map((s) => `${s.status}:${s.attempt}/${s.maxAttempts}`)).toEqual([
      'pending:0/3',
      'pending:1/3',
      'pending:2/3',
      'success:2/3',
    ]);
    const last = save.getState();
    expect(last.data).toEqual({ id: 5 });
    expect(last.error).toBeUndefined();
    expect(last.idempotencyKey).toBe(response.idempotencyKey);
    expect(states.every((s) => s.idempotencyKey === response.idempotencyKey)).toBe(true);
  });

  test('a non-retryable answer → error with the HttpError; the promise rejects too', async () => {
    const { api } = setup(() => json({ title: 'invalid' }, 422));
    const save = api.mutation('POST', '/todos');
    const outcome = await settle(save.mutate({}));
    expect(outcome.ok).toBe(false);
    const state = save.getState();
    expect(state.status).toBe('error');
    expect(state.error).toBeInstanceOf(HttpError);
    expect((state.error as HttpError).status).toBe(422);
    expect(state.attempt).toBe(1);
  });

  test('retries used up → error with RetryExhaustedError, attempt 3 of 3', async () => {
    const { api, clock } = setup(() => json({}, 500));
    const save = api.mutation('PUT', '/todos/1');
    const done = settle(save.mutate({ done: true }));
    await clock.runAll();
    await done;
    expect(save.getState()).toMatchObject({ status: 'error', attempt: 3, maxAttempts: 3 });
    expect(save.getState().error).toBeInstanceOf(RetryExhaustedError);
  });

  test('maxAttempts follows the mutation retry option; retry: false is one attempt', async () => {
    const { api } = setup(() => json({}));
    expect(api.mutation('POST', '/a', { retry: { maxAttempts: 7 } }).getState().maxAttempts).toBe(7);
    expect(api.mutation('POST', '/a', { retry: false }).getState().maxAttempts).toBe(1);
  });
});

describe('mutate', () => {
  test('while pending sends nothing new and returns the pending promise', async () => {
    const gate = deferred<Response>();
    const { api, calls } = setup(() => gate.promise);
    const save = api.mutation('POST', '/todos');
    const first = save.mutate({ n: 1 });
    const second = save.mutate({ n: 2 });
    expect(second).toBe(first);
    await flush();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toBe('{"n":1}');
    gate.resolve(json({ ok: true }));
    await first;
    expect(save.getState().status).toBe('success');
  });

  test('each mutate has a fresh key; vars are the body', async () => {
    const { api, calls } = setup(() => json({}));
    const save = api.mutation('PATCH', '/todos/3', { headers: { 'x-client': 'ui' } });
    await save.mutate({ a: 1 });
    const firstKey = save.getState().idempotencyKey;
    await save.mutate({ a: 2 });
    const secondKey = save.getState().idempotencyKey;
    expect(firstKey).toBeTruthy();
    expect(secondKey).not.toBe(firstKey);
    expect(calls.map((c) => [c.method, c.body, c.headers['idempotency-key'], c.headers['x-client']])).toEqual([
      ['PATCH', '{"a":1}', firstKey, 'ui'],
      ['PATCH', '{"a":2}', secondKey, 'ui'],
    ]);
  });

  test('a UI that ignores the promise of a failed mutate gets no unhandled rejection', async () => {
    const { api } = setup(() => json({}, 400));
    const save = api.mutation('POST', '/x');
    void save.mutate({});
    await flush();
    expect(save.getState().status).toBe('error');
  });
});

describe('snapshot and subscription', () => {
  test('getState returns the same object until the state changes', async () => {
    const gate = deferred<Response>();
    const { api } = setup(() => gate.promise);
    const save = api.mutation('POST', '/x');
    const idle = save.getState();
    expect(save.getState()).toBe(idle);
    void save.mutate({});
    await flush();
    const pending = save.getState();
    expect(pending).not.toBe(idle);
    expect(save.getState()).toBe(pending);
    gate.resolve(json({}));
    await flush();
    expect(save.getState()).not.toBe(pending);
  });

  test('unsubscribe stops notifications; a throwing listener does not stop the others', async () => {
    const { api } = setup(() => json({}));
    const save = api.mutation('POST', '/x');
    const seen: string[] = [];
    const reported: unknown[] = [];
    const original = globalThis.reportError;
    globalThis.reportError = (e: unknown) => reported.push(e);
    try {
      save.subscribe(() => {
        throw new Error('bad listener');
      });
      const stop = save.subscribe((s) => seen.push(s.status));
      await save.mutate({});
      stop();
      stop();
      await save.mutate({});
    } finally {
      globalThis.reportError = original;
    }
    expect(seen).toEqual(['pending', 'pending', 'success']);
    expect(reported.length).toBeGreaterThan(0);
  });

  test('reset goes back to idle; the outcome of the abandoned mutation no longer changes the state', async () => {
    const gate = deferred<Response>();
    const { api, calls } = setup((_, i) => (i === 0 ? gate.promise : json({ second: true })));
    const save = api.mutation('POST', '/x');
    const abandoned = settle(save.mutate({ n: 1 }));
    await flush();
    save.reset();
    expect(save.getState().status).toBe('idle');
    // reset frees mutate: this one is sent even though the first is still in flight.
    const next = save.mutate({ n: 2 });
    await next;
    gate.resolve(json({ first: true }));
    await abandoned;
    expect(calls).toHaveLength(2);
    expect(save.getState()).toMatchObject({ status: 'success', data: { second: true } });
  });
});
