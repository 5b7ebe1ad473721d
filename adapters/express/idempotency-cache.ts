import type { IdempotencyStore, IdempotencyStoreStats, MemoryIdempotencyStore } from 'closed-loop';

// The stores the middleware made itself (no `store` option), so that clearIdempotencyCache() and
// getIdempotencyCacheStats() without an argument reach them. Weakly held: a store goes away with
// its middleware.
const defaultStores = new Set<WeakRef<MemoryIdempotencyStore>>();

/**
 * Remembers a store the middleware made by default.
 *
 * @internal
 */
export function registerDefaultStore(store: MemoryIdempotencyStore): void {
  defaultStores.add(new WeakRef(store));
}

/**
 * Drops every stored record: of `store`, or of every store the middleware created by default.
 * For tests and admin tools.
 *
 * @param store - the store to clear; default every default store
 */
export async function clearIdempotencyCache(store?: IdempotencyStore): Promise<void> {
  if (store !== undefined) {
    if (typeof store.clear !== 'function') throw new TypeError('closed-loop: this idempotency store has no clear()');
    await store.clear();
    return;
  }
  await Promise.all(liveDefaultStores().map((s) => s.clear()));
}

/**
 * Counts records: of `store`, or summed over every store the middleware created by default.
 *
 * @param store - the store to count; default every default store
 * @returns `{ entries, inProgress, completed }`
 */
export async function getIdempotencyCacheStats(store?: IdempotencyStore): Promise<IdempotencyStoreStats> {
  if (store !== undefined) {
    if (typeof store.stats !== 'function') throw new TypeError('closed-loop: this idempotency store has no stats()');
    return store.stats();
  }
  const all = await Promise.all(liveDefaultStores().map((s) => s.stats()));
  return all.reduce(
    (sum, s) => ({ entries: sum.entries + s.entries, inProgress: sum.inProgress + s.inProgress, completed: sum.completed + s.completed }),
    { entries: 0, inProgress: 0, completed: 0 },
  );
}

function liveDefaultStores(): MemoryIdempotencyStore[] {
  const stores: MemoryIdempotencyStore[] = [];
  for (const ref of defaultStores) {
    const store = ref.deref();
    if (store) stores.push(store);
    else defaultStores.delete(ref);
  }
  return stores;
}
