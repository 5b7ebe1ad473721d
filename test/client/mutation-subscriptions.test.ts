// SyncMutation.subscribe: each call is one registration, removed by its own unsubscribe only.
import { expect, test } from 'vitest';
import { createSyncClient, type SyncMutationState } from 'closed-loop';
import { fakeFetch, json } from './_fake-fetch.js';

test('the same listener subscribed twice and unsubscribed once still hears every change', async () => {
  const api = createSyncClient({ baseUrl: 'https://api.test', fetch: fakeFetch(() => json({})).fetch, breaker: false });
  const save = api.mutation('POST', '/x');
  const seen: string[] = [];
  const listener = (state: SyncMutationState) => seen.push(state.status);
  const stop = save.subscribe(listener);
  save.subscribe(listener);
  stop();
  stop();
  await save.mutate({});
  expect(seen).toEqual(['pending', 'pending', 'success']);
});
