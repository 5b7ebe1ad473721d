// Shared helpers for the offline queue tests. Not a test file; uses nothing Node-only, so the core
// queue tests run in Node and in Chromium alike.
import {
  HttpError,
  ManualClock,
  MemoryQueueStorage,
  OfflineQueue,
  type OfflineQueueOptions,
  type QueueItem,
  type QueueRecord,
  type QueueStorage,
  type StoredEntry,
} from '../../src/index.js';

// A promise settled from outside, to hold a handler call in flight.
export { type Deferred, deferred } from '../support/deferred.js';

/** A queue on a ManualClock and a memory storage, with deterministic (unjittered) backoff. */
export function makeQueue<P = unknown>(options: OfflineQueueOptions<P> = {}) {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(1_000_000);
  const storage = options.storage ?? new MemoryQueueStorage();
  const queue = new OfflineQueue<P>({
    ...options,
    clock,
    storage,
    retry: { jitter: 'none', initialDelayMs: 1000, maxDelayMs: 60_000, ...options.retry },
  });
  return { queue, clock, storage };
}

/** Everything the queue's events reported, in order, as `[name, ...args]`. */
export function recordEvents<T>(queue: OfflineQueue<T>) {
  const log: Array<[string, ...unknown[]]> = [];
  for (const name of ['enqueued', 'processed', 'failed', 'deadLettered', 'drained', 'changed', 'error'] as const) {
    queue.on(name, (...args: unknown[]) => log.push([name, ...args]));
  }
  const names = (skipChanged = true) => log.map(([name]) => name).filter((name) => !skipChanged || name !== 'changed');
  return { log, names };
}

/** A handler that records each call (item id and key) and answers as `answer` says. */
export function countingHandler(answer: (item: QueueItem, call: number) => unknown = () => 'ok') {
  const calls: QueueItem[] = [];
  const handler = (item: QueueItem) => {
    calls.push(item);
    return answer(item, calls.length);
  };
  const countsById = () => {
    const counts = new Map<string, number>();
    for (const item of calls) counts.set(item.id, (counts.get(item.id) ?? 0) + 1);
    return counts;
  };
  return { handler, calls, countsById };
}

export function http(status: number, body?: unknown, headers?: Record<string, string>): HttpError {
  return new HttpError(status, { body, headers, now: 0 });
}

/**
 * A storage whose entries are exactly what the test puts in `entries` (garbage included), and whose
 * writes go through `onPut` first (throw there to simulate a full or broken storage).
 */
export class ScriptedStorage implements QueueStorage {
  readonly name = `scripted:${Math.random()}`;
  readonly entries = new Map<string, StoredEntry>();
  /** Entries that load() returns as they are, without an id of their own (broken storages). */
  extra: unknown[] = [];
  onPut: (record: QueueRecord) => void = () => {};
  onDelete: (id: string) => void = () => {};
  puts = 0;

  async load(): Promise<readonly StoredEntry[]> {
    return [...this.entries.values(), ...(this.extra as StoredEntry[])];
  }
  async get(id: string): Promise<StoredEntry | undefined> {
    return this.entries.get(id);
  }
  async put(record: QueueRecord): Promise<void> {
    this.onPut(record);
    this.puts++;
    this.entries.set(record.id, { id: record.id, value: JSON.parse(JSON.stringify(record)) });
  }
  async delete(id: string): Promise<void> {
    this.onDelete(id);
    this.entries.delete(id);
  }
  async clear(): Promise<void> {
    this.entries.clear();
  }
}

/** A `QuotaExceededError` as browsers throw it. */
export function quotaError(): DOMException {
  return new DOMException('The quota has been exceeded.', 'QuotaExceededError');
}
