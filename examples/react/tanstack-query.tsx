// Apps that already use TanStack Query keep it: queries retry through TanStack with the sync
// client's classification, mutations go through the sync client so one idempotency key covers every
// attempt. Tested by test/react/tanstack-recipe.browser.test.tsx; docs/react.md shows the part between
// the `readme` markers (test/docs/readme-examples.test.ts checks that it still does).
// #region readme
import { QueryClient, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { retryPolicyForQueries, type SyncClient } from 'closed-loop';

/** A TanStack QueryClient whose retries behave like the sync client's. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      // No retry on a 4xx other than 408/425/429; backoff with jitter; Retry-After honoured.
      queries: retryPolicyForQueries({ maxAttempts: 3 }),
      // The sync client retries mutations itself, with the same Idempotency-Key on every attempt.
      // A TanStack retry would call mutationFn again: a new call with a new key.
      mutations: { retry: false },
    },
  });
}

/** The list, read with TanStack Query (which does the retrying: the client's own retry is off). */
export function useOrders(api: SyncClient, path = '/orders') {
  return useQuery({
    queryKey: ['orders', path],
    queryFn: async ({ signal }) => (await api.get<string[]>(path, { signal, retry: false })).data,
  });
}

/** A new order, sent once however many attempts it takes; the list is refetched afterwards. */
export function usePlaceOrder(api: SyncClient, path = '/orders') {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (order: { sku: string }) => (await api.post<{ ok: boolean }>(path, order)).data,
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['orders', path] }),
  });
}
// #endregion readme
