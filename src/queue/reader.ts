import type { Clock } from '../clock/clock.js';
import { QueueStorageError, storageFailure } from './errors.js';
import { type DeadLetter, decodeEntry, errorInfo, type QueueRecord, type QueueStorage, type StoredEntry } from './storage.js';

// A storage may hand back anything it holds (another version's entries, corrupt JSON, a broken custom
// storage), so every read is checked here: what cannot be used is listed as a dead letter, never thrown.

/** The storage's entries as one read found them. */
export interface Snapshot {
  /** Pending and in-flight items. */
  readonly live: QueueRecord[];
  /** Dead letters, unreadable entries among them (reason `corrupt`). */
  readonly dead: DeadLetter[];
  /** Entries the storage returned without a usable id: reported, never addressable. */
  readonly nameless: unknown[];
}

/**
 * Reads a queue's storage. Remembers when it first saw each unreadable entry (its dead letter's
 * `deadLetteredAt`, the same on every read) and whether that was reported.
 */
export class QueueReader {
  private readonly storage: QueueStorage;
  private readonly clock: Clock;
  /** Unreadable entries: when first read, and whether their `deadLettered` event went out. */
  private readonly corruptSeen = new Map<string, { at: number; reported: boolean }>();

  /**
   * @param storage - the queue's storage
   * @param clock - dates unreadable entries
   */
  constructor(storage: QueueStorage, clock: Clock) {
    this.storage = storage;
    this.clock = clock;
  }

  /** Every entry, sorted into live items, dead letters and nameless entries; rejects when the storage fails. */
  async read(): Promise<Snapshot> {
    let entries: unknown;
    try {
      entries = await this.storage.load();
    } catch (error) {
      throw storageFailure('read the queue', error);
    }
    if (!Array.isArray(entries)) {
      throw new QueueStorageError('QUEUE_STORAGE_FAILED', `closed-loop: the queue storage's load() returned ${entries === null ? 'null' : typeof entries}, not a list of entries`);
    }
    const live: QueueRecord[] = [];
    const dead: DeadLetter[] = [];
    const nameless: unknown[] = [];
    const seenIds = new Set<string>();
    for (const entry of entries as unknown[]) {
      const id = typeof entry === 'object' && entry !== null ? (entry as { id?: unknown }).id : undefined;
      if (typeof id !== 'string' || id === '' || seenIds.has(id)) {
        nameless.push(entry);
        continue;
      }
      seenIds.add(id);
      const decoded = decodeEntry(entry as StoredEntry);
      if (decoded instanceof QueueStorageError) dead.push(this.corruptLetter(entry as StoredEntry, decoded));
      else if (decoded.state === 'deadLettered') dead.push(decoded as DeadLetter);
      else live.push(decoded);
    }
    return { live, dead, nameless };
  }

  /** The entry under `id`, or `undefined` when there is none or it cannot be read now. */
  async readOne(id: string): Promise<QueueRecord | undefined> {
    let entry: StoredEntry | undefined;
    try {
      entry = await this.storage.get(id);
    } catch (error) {
      throw storageFailure(`read queue item ${id}`, error, id);
    }
    if (entry === undefined || entry === null) return undefined;
    const decoded = decodeEntry({ id, value: entry.value, error: entry.error });
    // Unreadable now: left for the next round, which lists it as a dead letter.
    return decoded instanceof QueueStorageError ? undefined : decoded;
  }

  /** True the first time only: the unreadable entry `id` is to be reported now. */
  claimReport(id: string): boolean {
    const seen = this.corruptSeen.get(id);
    if (!seen || seen.reported) return false;
    seen.reported = true;
    return true;
  }

  /** Forgets the unreadable entry `id`: it was removed. */
  forget(id: string): void {
    this.corruptSeen.delete(id);
  }

  /** Forgets every unreadable entry: the storage was cleared. */
  forgetAll(): void {
    this.corruptSeen.clear();
  }

  private corruptLetter(entry: StoredEntry, error: QueueStorageError): DeadLetter {
    let seen = this.corruptSeen.get(entry.id);
    if (!seen) {
      seen = { at: this.clock.now(), reported: false };
      this.corruptSeen.set(entry.id, seen);
    }
    const raw = entry.value;
    const r = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
    return Object.freeze({
      id: entry.id,
      payload: raw,
      ...(typeof r.type === 'string' ? { type: r.type } : {}),
      priority: typeof r.priority === 'number' && Number.isFinite(r.priority) ? r.priority : 0,
      idempotencyKey: typeof r.idempotencyKey === 'string' ? r.idempotencyKey : '',
      attempts: count(r.attempts),
      failures: count(r.failures),
      createdAt: typeof r.createdAt === 'number' && Number.isFinite(r.createdAt) ? r.createdAt : seen.at,
      state: 'deadLettered',
      reason: 'corrupt',
      deadLetteredAt: seen.at,
      lastError: errorInfo(error),
    });
  }
}
