// Against the real middleware: a second request with a key still running gets 409 KEY_IN_USE; the
// client waits its Retry-After and then gets the first request's stored answer.
import { afterEach, expect, test, vi } from 'vitest';
import { createSyncClient, ManualClock } from 'closed-loop';
import { Ledger, type OrderApp, startOrderApp } from './_server.js';

const apps: OrderApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

test('the duplicate waits Retry-After on its clock, then receives the replay; the handler ran once', async () => {
  const ledger = new Ledger();
  const app = await startOrderApp({ ledger, handlerDelayMs: 150 });
  apps.push(app);

  const first = createSyncClient({ baseUrl: app.url });
  const clock = new ManualClock();
  const statuses: number[] = [];
  const watched = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const response = await fetch(input, init);
    statuses.push(response.status);
    return response;
  }) as typeof fetch;
  const second = createSyncClient({ baseUrl: app.url, fetch: watched, clock, retry: { timeoutMs: 0 } });

  const original = first.post<{ id: number }>('/orders', { sku: 'K' }, { idempotencyKey: 'same-key' });
  await vi.waitFor(() => expect(ledger.keys).toHaveLength(1));
  const duplicate = second.post<{ id: number }>('/orders', { sku: 'K' }, { idempotencyKey: 'same-key' });

  await vi.waitFor(() => expect(statuses).toEqual([409]));
  // Retry-After: 1 from the middleware sets the wait, not the backoff.
  await vi.waitFor(() => expect(clock.nextTimerAt()).toBe(1000));
  const made = await original;
  await clock.advance(1000);
  const replay = await duplicate;

  expect(statuses).toEqual([409, 201]);
  expect(replay.replayed).toBe(true);
  expect(replay.data).toEqual(made.data);
  expect(ledger.count('POST /orders {"sku":"K"}')).toBe(1);
});
