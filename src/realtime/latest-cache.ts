import type { ChangeEvent, RecordId } from './types.js';
import { describeValue } from './validation.js';

// The id under which the cache keeps a topic's events that name no record.
const NO_ID: unique symbol = Symbol('no id');
type CacheKey = RecordId | typeof NO_ID;

interface TopicCache {
  readonly topic: string;
  readonly records: Map<CacheKey, CacheEntry>;
  /** The entry of the change accepted last on this topic; rescanned when it is deleted or evicted. */
  latest: CacheEntry | undefined;
}

// One record's newest state. Entries form a doubly linked list over all topics, least recently
// changed first, so that the bound evicts without scanning and an update moves without allocating.
interface CacheEntry {
  readonly key: CacheKey;
  readonly cache: TopicCache;
  record: unknown;
  version: number | undefined;
  timestamp: number;
  deleted: boolean;
  seq: number;
  prev: CacheEntry | undefined;
  next: CacheEntry | undefined;
}

/**
 * The latest-state cache of a service: the newest record per topic and id, bounded over all topics
 * (the least recently changed make room). Newest is by `version` when both events have one, else by
 * `timestamp`; a late older event does not replace a newer one, nor bring back a deleted record.
 */
export class LatestCache {
  private readonly topics = new Map<string, TopicCache>();
  private size = 0;
  private seq = 0;
  private oldest: CacheEntry | undefined;
  private newest: CacheEntry | undefined;

  /** @param maxRecords - most records held, over all topics; 0 turns the cache off */
  constructor(private readonly maxRecords: number) {}

  /** Takes in an event, unless the cache is off, it is a `BROADCAST`, or it is older than the entry. */
  apply(event: ChangeEvent): void {
    if (this.maxRecords === 0) return;
    const type = event.type;
    if (type === 'BROADCAST') return;
    const deleted = type === 'DELETE';
    if (!deleted && event.new === undefined) return;
    const key: CacheKey = event.id ?? NO_ID;
    let cache = this.topics.get(event.topic);
    let entry = cache?.records.get(key);
    if (entry !== undefined) {
      const order = compare(event.version, event.timestamp, entry);
      // Older: stale. A tie keeps a deletion (an update of the same version does not undo it).
      if (order < 0 || (order === 0 && entry.deleted && !deleted)) return;
      entry.record = deleted ? undefined : event.new;
      entry.version = event.version;
      entry.timestamp = event.timestamp;
      entry.deleted = deleted;
      entry.seq = ++this.seq;
      if (entry !== this.newest) {
        this.unlink(entry);
        this.append(entry);
      }
    } else {
      if (cache === undefined) {
        cache = { topic: event.topic, records: new Map(), latest: undefined };
        this.topics.set(event.topic, cache);
      }
      entry = {
        key,
        cache,
        record: deleted ? undefined : event.new,
        version: event.version,
        timestamp: event.timestamp,
        deleted,
        seq: ++this.seq,
        prev: undefined,
        next: undefined,
      };
      cache.records.set(key, entry);
      this.append(entry);
      if (++this.size > this.maxRecords) this.evict(this.oldest!);
    }
    cache!.latest = entry;
  }

  /**
   * The record of `id` on `topic`, or, without `id`, of the change accepted last on `topic`;
   * `undefined` when unknown or deleted. (`topic` is checked by the caller.)
   */
  get(topic: string, id: RecordId | undefined): unknown {
    const cache = this.topics.get(topic);
    if (cache === undefined) return undefined;
    if (id === undefined) {
      let entry = cache.latest;
      if (entry === undefined || entry.deleted) {
        entry = undefined;
        for (const candidate of cache.records.values()) {
          if (!candidate.deleted && (entry === undefined || candidate.seq > entry.seq)) entry = candidate;
        }
        cache.latest = entry;
      }
      return entry?.record;
    }
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new TypeError(`closed-loop: getLatest(topic, id): \`id\` must be a string or a number, got ${describeValue(id)}`);
    }
    const entry = cache.records.get(id);
    return entry === undefined || entry.deleted ? undefined : entry.record;
  }

  /** Drops every record (the service is destroyed). */
  clear(): void {
    this.topics.clear();
    this.size = 0;
    this.oldest = this.newest = undefined;
  }

  private append(entry: CacheEntry): void {
    entry.prev = this.newest;
    entry.next = undefined;
    if (this.newest === undefined) this.oldest = entry;
    else this.newest.next = entry;
    this.newest = entry;
  }

  private unlink(entry: CacheEntry): void {
    if (entry.prev === undefined) this.oldest = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) this.newest = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = undefined;
  }

  private evict(entry: CacheEntry): void {
    this.unlink(entry);
    this.size--;
    const cache = entry.cache;
    cache.records.delete(entry.key);
    if (cache.records.size === 0) this.topics.delete(cache.topic);
    else if (cache.latest === entry) cache.latest = undefined;
  }
}

/** -1: the event is older than the entry; 1: newer; 0: neither. By version when both have one, else by timestamp. */
function compare(version: number | undefined, timestamp: number, entry: CacheEntry): number {
  // `!= null`: an event that crossed a JSON or database boundary may carry `null` for "none".
  if (version != null && entry.version != null && version !== entry.version) {
    return version > entry.version ? 1 : -1;
  }
  return timestamp > entry.timestamp ? 1 : timestamp < entry.timestamp ? -1 : 0;
}
