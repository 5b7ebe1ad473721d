import type { QueueRecord, QueueStorage, StoredEntry } from './storage.js';

let instances = 0;

/**
 * Keeps queued items in memory: the default storage. Items survive nothing (a reload, a crash), but
 * several {@link OfflineQueue}s in one process can share one instance. Items are copied in with
 * `structuredClone` and frozen, so changing a payload after `add` changes nothing stored.
 * @category Offline queue
 */
export class MemoryQueueStorage implements QueueStorage {
  /** Unique per instance: memory is never shared between tabs. */
  readonly name: string;
  private readonly entries = new Map<string, StoredEntry>();

  constructor() {
    this.name = `memory:${++instances}`;
  }

  /** {@inheritDoc QueueStorage.load} */
  async load(): Promise<readonly StoredEntry[]> {
    return [...this.entries.values()];
  }

  /** {@inheritDoc QueueStorage.get} */
  async get(id: string): Promise<StoredEntry | undefined> {
    return this.entries.get(id);
  }

  /** {@inheritDoc QueueStorage.put} */
  async put(record: QueueRecord): Promise<void> {
    const value = deepFreeze(structuredClone(record));
    this.entries.set(record.id, { id: record.id, value });
  }

  /** {@inheritDoc QueueStorage.delete} */
  async delete(id: string): Promise<void> {
    this.entries.delete(id);
  }

  /** {@inheritDoc QueueStorage.clear} */
  async clear(): Promise<void> {
    this.entries.clear();
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  // Typed arrays with elements cannot be frozen; their contents stay as cloned.
  if (ArrayBuffer.isView(value)) return value;
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return value;
}
