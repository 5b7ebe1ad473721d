// SyncMutation's per-call hooks (the React adapter's onMutate/onSuccess/onError/onSettled): the
// context from onMutate reaches the others (optimistic updates roll back with it), they run in order
// whatever the UI did meanwhile, a queued mutation settles only when the queue delivers it, and a
// click while pending runs no hook.
import { describe, expect, test, vi } from 'vitest';
import { createSyncClient, HttpError, MemoryQueueStorage, OfflineQueue, OfflineQueuedError } from 'closed-loop';
import { connectionRefused, deferred, fakeFetch, json, settle } from './_fake-fetch.js';

const BASE = 'https://api.test';
const noRetry = { maxAttempts: 1, timeoutMs: 0 };

function recorder() {
  const log: string[] = [];
  const hooks = {
    onMutate: (vars: { title: string }) => {
      log.push(`mutate ${vars.title}`);
      return { previous: ['a'] };
    },
    onSuccess: (data: unknown, vars: { title: string }, context: { previous: string[] } | undefined) => {
      log.push(`success ${JSON.stringify(data)} ${vars.title} ${context?.previous.join()}`);
    },
    onError: (error: unknown, vars: { title: string }, context: { previous: string[] } | undefined) => {
      log.push(`error ${(error as HttpError).status ?? (error as Error).message} ${vars.title} ${context?.previous.join()}`);
    },
    onSettled: (data: unknown, error: unknown, vars: { title: string }, context: { previous: string[] } | undefined) => {
      log.push(`settled ${JSON.stringify(data)} ${error === undefined ? '-' : 'error'} ${vars.title} ${context?.previous.join()}`);
    },
  };
  return { log, hooks };
}

describe('order and context', () => {
  test('success: onMutate before the request, then onSuccess and onSettled with its context', async () => {
    const sent: string[] = [];
    const { fetch } = fakeFetch(() => {
      sent.push('request');
      return json({ id: 1 }, 201);
    });
    const api = createSyncClient({ baseUrl: BASE, fetch, breaker: false, retry: noRetry });
    const { log, hooks } = recorder();
    const save = api.mutation<{ id: number }, { title: string }>('POST', '/todos');
    const sawRequestFirst = vi.fn(() => sent.length);
    await save.mutate({ title: 'milk' }, { ...hooks, onMutate: (vars) => (sawRequestFirst(), hooks.onMutate(vars)) });

    expect(sawRequestFirst).toHaveReturnedWith(0);
    expect(log).toEqual(['mutate milk', 'success {"id":1} milk a', 'settled {"id":1} - milk a']);
  });

  test('error: onError gets the error, the variables and the context to roll back with', async () => {
    const { fetch } = fakeFetch(() => json({ title: 'bad' }, 400));
    const api = createSyncClient({ baseUrl: BASE, fetch, breaker: false, retry: noRetry });
    const { log, hooks } = recorder();
    const outcome = await settle(api.mutation<unknown, { title: string }>('POST', '/todos').mutate({ title: 'milk' }, hooks));

    expect(outcome.ok).toBe(false);
    expect(log).toEqual(['mutate milk', 'error 400 milk a', 'settled undefined error milk a']);
  });

  test('onMutate that throws: nothing is sent, the call fails with its error', async () => {
    const { fetch, calls } = fakeFetch(() => json({}, 201));
    const api = createSyncClient({ baseUrl: BASE, fetch, breaker: false, retry: noRetry });
    const save = api.mutation<unknown, { title: string }>('POST', '/todos');
    const { log, hooks } = recorder();
    const outcome = await settle(
      save.mutate({ title: 'milk' }, {
        ...hooks,
        onMutate: () => {
          throw new Error('no room');
        },
      }),
    );

    expect(outcome).toMatchObject({ ok: false, error: new Error('no room') });
    expect(calls).toEqual([]);
    expect(save.getState().status).toBe('error');
    expect(log).toEqual(['error no room milk undefined', 'settled undefined error milk undefined']);
  });

  test('a hook that throws is reported as uncaught and the others still run', async () => {
    const reported: unknown[] = [];
    vi.stubGlobal('reportError', (error: unknown) => reported.push(error));
    try {
      const { fetch } = fakeFetch(() => json({ id: 1 }, 201));
      const api = createSyncClient({ baseUrl: BASE, fetch, breaker: false, retry: noRetry });
      const { log, hooks } = recorder();
      const response = await api.mutation<unknown, { title: string }>('POST', '/todos').mutate({ title: 'milk' }, {
        ...hooks,
        onSuccess: () => {
          throw new Error('render bug');
        },
      });

      expect(response.status).toBe(201);
      expect(reported).toEqual([new Error('render bug')]);
      expect(log).toEqual(['mutate milk', 'settled {"id":1} - milk a']);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('what the UI did meanwhile', () => {
  test('a mutate while pending sends nothing and runs none of its hooks', async () => {
    const answer = deferred<Response>();
    const { fetch, calls } = fakeFetch(() => answer.promise);
    const api = createSyncClient({ baseUrl: BASE, fetch, breaker: false, retry: noRetry });
    const save = api.mutation<unknown, { title: string }>('POST', '/todos');
    const first = recorder();
    const second = recorder();
    const a = save.mutate({ title: 'one' }, first.hooks);
    const b = save.mutate({ title: 'two' }, second.hooks);
    answer.resolve(json({ id: 1 }, 201));
    await Promise.all([a, b]);

    expect(calls).toHaveLength(1);
    expect(second.log).toEqual([]);
    expect(first.log).toHaveLength(3);
  });

  test('once the state shows the outcome, a mutate is a new mutation, even while a slow onSettled still runs', async () => {
    const { fetch, calls } = fakeFetch(() => json({ id: calls.length }, 201));
    const api = createSyncClient({ baseUrl: BASE, fetch, breaker: false, retry: noRetry });
    const save = api.mutation<unknown, { title: string }>('POST', '/todos');
    const settled = deferred<void>();
    const first = save.mutate({ title: 'one' }, { onSettled: () => settled.promise });
    await vi.waitFor(() => expect(save.getState().status).toBe('success'));
    const second = save.mutate({ title: 'two' });
    expect(save.getState().status).toBe('pending');
    await second;
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((c) => c.headers['idempotency-key'])).size).toBe(2);
    settled.resolve();
    await first;
  });

  test('hooks run even after reset() (the view that started it has gone)', async () => {
    const answer = deferred<Response>();
    const { fetch } = fakeFetch(() => answer.promise);
    const api = createSyncClient({ baseUrl: BASE, fetch, breaker: false, retry: noRetry });
    const save = api.mutation<unknown, { title: string }>('POST', '/todos');
    const { log, hooks } = recorder();
    const done = save.mutate({ title: 'milk' }, hooks);
    save.reset();
    answer.resolve(json({ id: 1 }, 201));
    await done;

    expect(save.getState().status).toBe('idle');
    expect(log).toEqual(['mutate milk', 'success {"id":1} milk a', 'settled {"id":1} - milk a']);
  });
});

describe('a queued mutation', () => {
  test('is not settled while it waits: no rollback; onSuccess runs when the queue delivers it', async () => {
    let down = true;
    const { fetch } = fakeFetch(() => (down ? connectionRefused() : json({ id: 9 }, 201)));
    const queue = new OfflineQueue({ storage: new MemoryQueueStorage() });
    const api = createSyncClient({ baseUrl: BASE, fetch, breaker: false, retry: noRetry, offlineQueue: queue });
    const save = api.mutation<unknown, { title: string }>('POST', '/todos', { queueWhenOffline: true });
    const { log, hooks } = recorder();
    const outcome = await settle(save.mutate({ title: 'milk' }, hooks));

    expect(outcome.ok === false && outcome.error).toBeInstanceOf(OfflineQueuedError);
    expect(save.getState().status).toBe('queued');
    expect(log).toEqual(['mutate milk']);

    down = false;
    await queue.process();
    await vi.waitFor(() => expect(log).toHaveLength(3));
    expect(log).toEqual(['mutate milk', 'success {"id":9} milk a', 'settled {"id":9} - milk a']);
    expect(save.getState().status).toBe('success');
  });

  test('onError (and the rollback) when the queue gives it up', async () => {
    let down = true;
    const { fetch } = fakeFetch(() => (down ? connectionRefused() : json({ title: 'gone' }, 410)));
    const queue = new OfflineQueue({ storage: new MemoryQueueStorage() });
    const api = createSyncClient({ baseUrl: BASE, fetch, breaker: false, retry: noRetry, offlineQueue: queue });
    const save = api.mutation<unknown, { title: string }>('POST', '/todos', { queueWhenOffline: true });
    const { log, hooks } = recorder();
    await settle(save.mutate({ title: 'milk' }, hooks));

    down = false;
    await queue.process();
    await vi.waitFor(() => expect(log).toHaveLength(3));
    expect(log).toEqual(['mutate milk', 'error 410 milk a', 'settled undefined error milk a']);
    expect(save.getState().status).toBe('error');
  });
});
