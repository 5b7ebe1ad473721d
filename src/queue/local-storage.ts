import type { QueueRecord, QueueStorage, StoredEntry } from './storage.js';

/**
 * The part of the Web Storage API (`localStorage`, `sessionStorage`) that
 * {@link LocalStorageQueueStorage} uses. Declared here so that the package's types need no DOM
 * library: a Node-only TypeScript project compiles against them too.
 * @category Offline queue
 */
export interface WebStorage {
  /** The number of entries. */
  readonly length: number;
  /** The name of the entry at `index`, or null. */
  key(index: number): string | null;
  /** The value stored under `key`, or null. */
  getItem(key: string): string | null;
  /** Stores `value` under `key`; throws (a `QuotaExceededError`) when the storage is full. */
  setItem(key: string, value: string): void;
  /** Removes the entry under `key`. */
  removeItem(key: string): void;
}

/** Options of {@link LocalStorageQueueStorage}. @category Offline queue */
export interface LocalStorageQueueStorageOptions {
  /**
   * The Web Storage object to use. Default `globalThis.localStorage`, read on first use (so the
   * storage can be created during server rendering). `sessionStorage` works too, for one tab.
   */
  storage?: WebStorage;
}

/**
 * Keeps queued items in `localStorage`, one entry per item under `<key>:item:<id>`, as JSON. Items
 * survive reloads and are shared by the tabs of one origin; each write touches one item, so tabs
 * never overwrite each other's items. Payloads must be JSON (a `Date` comes back as a string).
 *
 * `localStorage` is synchronous and small (about 5 MB per origin): prefer
 * {@link IndexedDBQueueStorage} for large or many items. A full storage makes `add` reject with a
 * {@link QueueStorageError} `QUEUE_QUOTA_EXCEEDED`; nothing stored before is lost.
 * @category Offline queue
 */
export class LocalStorageQueueStorage implements QueueStorage {
  /** `localStorage:<key>`: tabs using the same key share the queue and its flush lock. */
  readonly name: string;
  private readonly prefix: string;
  private readonly given: WebStorage | undefined;

  /**
   * @param key - names this queue's entries; several queues with distinct keys can share one origin
   * @param options - another Web Storage object
   */
  constructor(key: string, options: LocalStorageQueueStorageOptions = {}) {
    if (typeof key !== 'string' || key === '') {
      throw new TypeError('closed-loop: LocalStorageQueueStorage(key): `key` must be a non-empty string');
    }
    this.name = `localStorage:${key}`;
    this.prefix = `${key}:item:`;
    this.given = options.storage;
  }

  /** {@inheritDoc QueueStorage.load} */
  async load(): Promise<readonly StoredEntry[]> {
    const storage = this.storage();
    const keys: string[] = [];
    for (let i = 0; i < storage.length; i++) {
      const key = storage.key(i);
      if (key !== null && this.owns(key)) keys.push(key);
    }
    const entries: StoredEntry[] = [];
    for (const key of keys) {
      const text = storage.getItem(key);
      if (text !== null) entries.push(decode(key.slice(this.prefix.length), text));
    }
    return entries;
  }

  /** {@inheritDoc QueueStorage.get} */
  async get(id: string): Promise<StoredEntry | undefined> {
    const text = this.storage().getItem(this.prefix + id);
    return text === null ? undefined : decode(id, text);
  }

  /** {@inheritDoc QueueStorage.put} */
  async put(record: QueueRecord): Promise<void> {
    // Serialised before touching storage: a payload JSON cannot hold throws here, with nothing written.
    const text = JSON.stringify(record);
    this.storage().setItem(this.prefix + record.id, text);
  }

  /** {@inheritDoc QueueStorage.delete} */
  async delete(id: string): Promise<void> {
    this.storage().removeItem(this.prefix + id);
  }

  /** {@inheritDoc QueueStorage.clear} */
  async clear(): Promise<void> {
    const storage = this.storage();
    const keys: string[] = [];
    for (let i = 0; i < storage.length; i++) {
      const key = storage.key(i);
      if (key !== null && this.owns(key)) keys.push(key);
    }
    for (const key of keys) storage.removeItem(key);
  }

  /**
   * Calls `listener` when another tab changes this queue's entries (the `storage` event, which a
   * tab never receives for its own writes).
   *
   * @param listener - called with no arguments
   * @returns a function that stops it
   */
  subscribe(listener: () => void): () => void {
    const target = globalThis as { addEventListener?: typeof addEventListener; removeEventListener?: typeof removeEventListener };
    if (typeof target.addEventListener !== 'function' || typeof target.removeEventListener !== 'function') return () => {};
    const onStorage = (event: Event): void => {
      // Read by shape, not as a StorageEvent: the core type-checks without DOM types (workers).
      const key = (event as Event & { key?: string | null }).key;
      // A null key means the whole storage was cleared.
      if (key === null || key === undefined || this.owns(key)) listener();
    };
    target.addEventListener('storage', onStorage);
    return () => target.removeEventListener!('storage', onStorage);
  }

  private owns(key: string): boolean {
    // Ids hold no ':', so the queue keyed `a` never reads the entries of the queue keyed `a:item:b`.
    return key.startsWith(this.prefix) && key.indexOf(':', this.prefix.length) === -1 && key.length > this.prefix.length;
  }

  private storage(): WebStorage {
    if (this.given) return this.given;
    // Reading `localStorage` throws a SecurityError where storage is blocked; that reaches the caller.
    const storage = (globalThis as { localStorage?: WebStorage }).localStorage;
    if (!storage) {
      throw new TypeError(
        'closed-loop: LocalStorageQueueStorage: there is no localStorage here (Node, a worker, a server render); use IndexedDBQueueStorage or MemoryQueueStorage, or pass `storage`',
      );
    }
    return storage;
  }
}

function decode(id: string, text: string): StoredEntry {
  try {
    return { id, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { id, error, value: text };
  }
}
