import { Listeners } from '../internal/listeners.js';
import { openDatabase, requestResult, transactionDone } from './indexeddb-requests.js';
import type { LeaseStore } from './lock.js';
import type { QueuePutOptions, QueueRecord, QueueStorage, StoredEntry } from './storage.js';

const ITEMS = 'items';
const LEASES = 'leases';
const VERSION = 1;

interface Lease {
  owner: string;
  expiresAt: number;
}

/**
 * Keeps queued items in IndexedDB: the storage for real offline use. Items survive
 * reloads, restarts and crashes, are shared by the tabs and workers of one origin, and may be any
 * structured-cloneable value. `add` resolves only once its transaction has committed with `strict`
 * durability (flushed to disk where the browser supports it).
 *
 * The database (`dbName`, version 1) holds two object stores: `items` and `leases` (the lease a
 * {@link StorageLeaseLock} takes where Web Locks are missing). Other tabs learn of changes through a
 * `BroadcastChannel`, so a queue's `changed` event covers writes made elsewhere.
 * @category Offline queue
 */
export class IndexedDBQueueStorage implements QueueStorage, LeaseStore {
  /** `indexedDB:<dbName>`: tabs using the same database share the queue and its flush lock. */
  readonly name: string;
  /** The database's name. */
  readonly dbName: string;
  private db: Promise<IDBDatabase> | undefined;
  // One channel per storage object, for posting and listening: a channel never hears its own
  // messages, so a queue is told about other tabs' writes and not about its own.
  private channel: BroadcastChannel | undefined;
  private readonly listeners = new Listeners<{ change: () => void }>({ owner: 'IndexedDBQueueStorage' });
  private closed = false;

  /** @param dbName - the IndexedDB database; default `closed-loop-queue` */
  constructor(dbName = 'closed-loop-queue') {
    if (typeof dbName !== 'string' || dbName === '') {
      throw new TypeError('closed-loop: IndexedDBQueueStorage(dbName): `dbName` must be a non-empty string');
    }
    this.dbName = dbName;
    this.name = `indexedDB:${dbName}`;
  }

  /** {@inheritDoc QueueStorage.load} */
  async load(): Promise<readonly StoredEntry[]> {
    const db = await this.open();
    const tx = db.transaction(ITEMS, 'readonly');
    const store = tx.objectStore(ITEMS);
    // Both read in one transaction, in key order, so keys and values line up.
    const [keys, values] = await Promise.all([requestResult(store.getAllKeys()), requestResult(store.getAll()), transactionDone(tx)]);
    const entries = new Array<StoredEntry>(keys.length);
    for (let i = 0; i < keys.length; i++) entries[i] = { id: String(keys[i]), value: values[i] };
    return entries;
  }

  /** {@inheritDoc QueueStorage.get} */
  async get(id: string): Promise<StoredEntry | undefined> {
    const db = await this.open();
    const value: unknown = await requestResult(db.transaction(ITEMS, 'readonly').objectStore(ITEMS).get(id));
    return value === undefined ? undefined : { id, value };
  }

  /** {@inheritDoc QueueStorage.put} */
  async put(record: QueueRecord, options: QueuePutOptions = {}): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(ITEMS, 'readwrite', { durability: options.durable ? 'strict' : 'default' });
    await settle(tx, () => requestResult(tx.objectStore(ITEMS).put(record, record.id)));
    this.notify();
  }

  /** {@inheritDoc QueueStorage.delete} */
  async delete(id: string): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(ITEMS, 'readwrite');
    await settle(tx, () => requestResult(tx.objectStore(ITEMS).delete(id)));
    this.notify();
  }

  /** {@inheritDoc QueueStorage.clear} */
  async clear(): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(ITEMS, 'readwrite');
    await settle(tx, () => requestResult(tx.objectStore(ITEMS).clear()));
    this.notify();
  }

  /**
   * Calls `listener` when another tab or storage object on this database writes to it.
   *
   * @param listener - called with no arguments
   * @returns a function that stops it
   */
  subscribe(listener: () => void): () => void {
    const channel = this.broadcast();
    if (!channel) return () => {};
    return this.listeners.on('change', listener);
  }

  /** {@inheritDoc LeaseStore.tryAcquireLease} */
  async tryAcquireLease(name: string, owner: string, now: number, expiresAt: number): Promise<boolean> {
    const db = await this.open();
    // A readwrite transaction on `leases` runs alone across every connection of the origin: the
    // read and the write below are one atomic step, so two tabs never both take a free lease.
    const tx = db.transaction(LEASES, 'readwrite');
    const store = tx.objectStore(LEASES);
    let taken = false;
    await settle(tx, async () => {
      const current = (await requestResult(store.get(name))) as Lease | undefined;
      if (current !== undefined && current.owner !== owner && current.expiresAt > now) return;
      await requestResult(store.put({ owner, expiresAt } satisfies Lease, name));
      taken = true;
    });
    return taken;
  }

  /** {@inheritDoc LeaseStore.releaseLease} */
  async releaseLease(name: string, owner: string): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(LEASES, 'readwrite');
    const store = tx.objectStore(LEASES);
    await settle(tx, async () => {
      const current = (await requestResult(store.get(name))) as Lease | undefined;
      if (current?.owner === owner) await requestResult(store.delete(name));
    });
  }

  /**
   * Closes the database connection (another version of the database can then open, and the test of a
   * "reload" can open it afresh). A closed storage refuses further use.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.channel?.close();
    this.channel = undefined;
    this.listeners.clear();
    const db = this.db;
    this.db = undefined;
    if (db) (await db.catch(() => undefined))?.close();
  }

  private open(): Promise<IDBDatabase> {
    if (this.closed) return Promise.reject(new TypeError(`closed-loop: IndexedDBQueueStorage ${this.dbName} is closed`));
    if (this.db) return this.db;
    if (typeof indexedDB === 'undefined') {
      return Promise.reject(new TypeError('closed-loop: IndexedDBQueueStorage: there is no indexedDB here; use MemoryQueueStorage'));
    }
    const opening = openDatabase(this.dbName, VERSION, (db) => {
      if (!db.objectStoreNames.contains(ITEMS)) db.createObjectStore(ITEMS);
      if (!db.objectStoreNames.contains(LEASES)) db.createObjectStore(LEASES);
    }).then((db) => {
      // Another tab wants a newer version (versionchange), or the browser closed the connection
      // (close): let go of it, and open again on next use.
      db.onversionchange = db.onclose = () => this.drop(opening);
      return db;
    });
    this.db = opening;
    // A failed open is retried on next use rather than remembered.
    opening.catch(() => this.drop(opening));
    return opening;
  }

  private drop(opening: Promise<IDBDatabase>): void {
    if (this.db !== opening) return;
    this.db = undefined;
    opening.then((db) => db.close(), () => undefined);
  }

  private notify(): void {
    this.broadcast()?.postMessage(null);
  }

  private broadcast(): BroadcastChannel | undefined {
    if (this.channel || this.closed || typeof BroadcastChannel !== 'function') return this.channel;
    const channel = new BroadcastChannel(this.channelName());
    unrefChannel(channel);
    channel.onmessage = () => this.listeners.emit('change');
    this.channel = channel;
    return channel;
  }

  private channelName(): string {
    return `closed-loop-queue:${this.dbName}`;
  }
}

// Runs the requests of one transaction and waits for it to commit. The commit is observed from the
// start, so a transaction that aborts (a quota error at commit, a failed request) never rejects
// unhandled, and the commit's error (QuotaExceededError) is what the caller sees rather than a
// request's AbortError.
async function settle(tx: IDBTransaction, requests: () => Promise<unknown>): Promise<void> {
  let commitError: unknown;
  let failed = false;
  const committed = transactionDone(tx).then(
    () => undefined,
    (error: unknown) => {
      failed = true;
      commitError = error;
    },
  );
  try {
    await requests();
  } catch (error) {
    await committed;
    throw failed && commitError != null ? commitError : error;
  }
  await committed;
  if (failed) throw commitError;
}

function unrefChannel(channel: BroadcastChannel): void {
  // Node's BroadcastChannel would otherwise keep the process alive.
  (channel as { unref?: () => void }).unref?.();
}
