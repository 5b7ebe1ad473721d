// The recipe of docs/react.md for apps that keep TanStack Query (examples/react/tanstack-query.tsx),
// run with the real @tanstack/react-query in real Chromium against the real Express test server:
// a mutation that meets 503, 503, 201 is one TanStack mutation, three requests with one
// Idempotency-Key and one effect; the list refetched afterwards shows it; a 400 is not retried.
import { QueryClientProvider } from '@tanstack/react-query';
import { describe, expect, it, vi } from 'vitest';
import type { SyncClient } from 'closed-loop';
import { createQueryClient, useOrders, usePlaceOrder } from '../../examples/react/tanstack-query.js';
import { mount, script, stats, testClient, uniqueName, wait } from './buttons/_support.js';

function Orders({ api, path }: { api: SyncClient; path: string }) {
  const orders = useOrders(api, path);
  const place = usePlaceOrder(api, path);
  return (
    <div>
      <button type="button" onClick={() => place.mutate({ sku: 'A1' })}>
        Order
      </button>
      <output data-testid="mutation">{place.status}</output>
      <output data-testid="error">{place.error === null ? '' : String((place.error as { status?: number }).status)}</output>
      <ul>{orders.data?.map((key) => <li key={key}>{key}</li>)}</ul>
    </div>
  );
}

function render(name: string) {
  const api = testClient();
  const queryClient = createQueryClient();
  const { container } = mount(
    <QueryClientProvider client={queryClient}>
      <Orders api={api} path={`/${name}`} />
    </QueryClientProvider>,
  );
  const get = (id: string) => container.querySelector(`[data-testid="${id}"]`)!.textContent;
  return { container, get, queryClient };
}

describe('TanStack Query recipe', () => {
  it('503, 503, 201: one mutation, one key on all three requests, one effect, the list refetched', async () => {
    const name = uniqueName('tanstack');
    await script(name, [{ status: 503 }, { status: 503 }, { status: 201 }]);
    const { container, get } = render(name);
    await vi.waitFor(() => expect(container.querySelector('ul')).not.toBeNull(), wait);

    container.querySelector('button')!.click();
    await vi.waitFor(() => expect(get('mutation')).toBe('success'), wait);

    const s = await stats(name);
    expect(s).toMatchObject({ requests: 3, effects: 1 });
    expect(s.keys).toHaveLength(1);
    // The list query was invalidated and refetched: it shows the one order, under its key.
    await vi.waitFor(() => expect([...container.querySelectorAll('li')].map((li) => li.textContent)).toEqual(s.keys), wait);
  });

  it('a 400 is not retried, by the client or by TanStack: one request, the error shown', async () => {
    const name = uniqueName('tanstack-400');
    await script(name, [{ status: 400 }]);
    const { container, get } = render(name);
    await vi.waitFor(() => expect(container.querySelector('button')).not.toBeNull(), wait);

    container.querySelector('button')!.click();
    await vi.waitFor(() => expect(get('mutation')).toBe('error'), wait);
    expect(get('error')).toBe('400');
    expect(await stats(name)).toMatchObject({ requests: 1, effects: 0 });
  });
});
