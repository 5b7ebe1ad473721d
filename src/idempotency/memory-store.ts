import { type Clock, realClock } from '../clock/clock.js';
import { IdempotencyError } from '../errors/errors.js';
import { idMaker } from '../internal/id-maker.js';
import { createIdempotencyKey } from './key.js';
import type {
  IdempotencyClaim,
  IdempotencyClaimRequest,
  IdempotencyRecord,
  IdempotencyStore,
  IdempotencyStoreStats,
} from './store.js';

/** Options of {@link MemoryIdempotencyStore}. @category Idempotency */
export interface MemoryIdempotencyStoreOptions {
  /**
   * Most records held. When full, expired records and then the oldest completed ones (by claim
   * time) make room; if every record is a live in-flight claim, a new claim fails with
   * `STORE_UNAVAILABLE`. Default 10000.
   */
  maxEntries?: number;
  /** The clock for leases and expiry. Default {@link realClock}. */
  clock?: Clock;
}

// Records a sweep looks at per write, so one write never pays for a large backlog. A write adds at
// most two entries to look at (the claim, then its completion), so 8 keeps well ahead of them.
const SWEEP_PER_WRITE = 8;

/**
 * An {@link IdempotencyStore} in process memory: for one server, tests and development. Bounded by
 * `maxEntries`; expired records are removed a few at a time as new ones are written, without being
 * read again. For several server instances use a shared store (`closed-loop/redis`).
 * @category Idempotency
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly records = new Map<string, IdempotencyRecord>();
  private cursor: Iterator<[string, IdempotencyRecord]> | undefined;
  // No record expires before this (a lower bound): a full store scans for expired records only
  // once one may exist, instead of on every claim.
  private earliestExpiry = Number.POSITIVE_INFINITY;
  // The earliest expiry among the live records the current sweep pass has seen.
  private passEarliest = Number.POSITIVE_INFINITY;
  private readonly maxEntries: number;
  private readonly clock: Clock;
  // Lease ids only need to be unique within this store: a random prefix and a counter fence as
  // well as a fresh UUID per claim, at a fraction of the cost.
  private readonly newLeaseId = idMaker(`${createIdempotencyKey()}:`);

  /** @param options - `maxEntries` and `clock` */
  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    const max = options.maxEntries ?? 10_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new TypeError(`closed-loop: \`maxEntries\` must be an integer >= 1, got ${String(max)}`);
    }
    this.maxEntries = max;
    this.clock = options.clock ?? realClock;
  }

  /** {@inheritDoc IdempotencyStore.claim} */
  async claim(request: IdempotencyClaimRequest): Promise<IdempotencyClaim> {
    return this.claimNow(request);
  }

  /**
   * {@link claim}, answered synchronously (throws where `claim` rejects). The guard calls it
   * directly when this store's methods are its own, to skip a promise per request.
   *
   * @internal
   */
  claimNow(request: IdempotencyClaimRequest): IdempotencyClaim {
    const now = this.clock.now();
    // Nothing can have expired before the earliest expiry: no sweep (the common case).
    if (this.earliestExpiry <= now) this.sweep(now, SWEEP_PER_WRITE);
    const existing = this.live(request.key, now);
    if (existing) {
      if (existing.fingerprint !== request.fingerprint) return { status: 'mismatch' };
      if (existing.state === 'completed') return { status: 'completed', result: existing.result };
      if (existing.leaseExpiresAt! > now) return { status: 'in_progress', leaseExpiresAt: existing.leaseExpiresAt! };
      // The holder's lease ran out (it crashed or stalled): this claimant takes over, with a new
      // lease id so the old holder's late complete/release is fenced off.
      existing.leaseId = this.newLeaseId();
      existing.leaseExpiresAt = now + request.leaseMs;
      existing.expiresAt = Math.max(existing.expiresAt, now + request.leaseMs);
      return { status: 'acquired', leaseId: existing.leaseId, takeover: true };
    }
    this.makeRoom(now);
    const leaseId = this.newLeaseId();
    const expiresAt = now + Math.max(request.ttlMs, request.leaseMs);
    this.records.set(request.key, {
      key: request.key,
      fingerprint: request.fingerprint,
      state: 'in_progress',
      leaseId,
      leaseExpiresAt: now + request.leaseMs,
      // Present from the start, so completing the record in place keeps its shape.
      result: undefined,
      expiresAt,
    });
    this.earliestExpiry = Math.min(this.earliestExpiry, expiresAt);
    return { status: 'acquired', leaseId, takeover: false };
  }

  /** {@inheritDoc IdempotencyStore.complete} */
  async complete(key: string, leaseId: string, result: unknown, ttlMs: number): Promise<boolean> {
    return this.completeNow(key, leaseId, result, ttlMs);
  }

  /**
   * {@link complete}, answered synchronously.
   *
   * @internal
   */
  completeNow(key: string, leaseId: string, result: unknown, ttlMs: number): boolean {
    const now = this.clock.now();
    const record = this.live(key, now);
    if (!record || record.state !== 'in_progress' || record.leaseId !== leaseId) return false;
    // Completed in place: no new object, and the record keeps its place in the map (claim order),
    // which is the order the eviction of the oldest goes by. The sweep does not need expiry order.
    record.state = 'completed';
    record.result = result;
    record.leaseId = undefined;
    record.leaseExpiresAt = undefined;
    record.expiresAt = now + ttlMs;
    this.earliestExpiry = Math.min(this.earliestExpiry, now + ttlMs);
    return true;
  }

  /** {@inheritDoc IdempotencyStore.release} */
  async release(key: string, leaseId: string): Promise<boolean> {
    return this.releaseNow(key, leaseId);
  }

  /**
   * {@link release}, answered synchronously.
   *
   * @internal
   */
  releaseNow(key: string, leaseId: string): boolean {
    const record = this.records.get(key);
    if (!record || record.state !== 'in_progress' || record.leaseId !== leaseId) return false;
    this.records.delete(key);
    return true;
  }

  /** {@inheritDoc IdempotencyStore.get} */
  async get(key: string): Promise<IdempotencyRecord | undefined> {
    const record = this.live(key, this.clock.now());
    if (!record) return undefined;
    const { leaseId, leaseExpiresAt, result, ...rest } = record;
    return record.state === 'completed' ? { ...rest, result } : { ...rest, leaseId, leaseExpiresAt };
  }

  /** {@inheritDoc IdempotencyStore.clear} */
  async clear(): Promise<void> {
    this.records.clear();
    this.cursor = undefined;
    this.earliestExpiry = Number.POSITIVE_INFINITY;
  }

  /** {@inheritDoc IdempotencyStore.stats} */
  async stats(): Promise<IdempotencyStoreStats> {
    const now = this.clock.now();
    let inProgress = 0;
    for (const [key, record] of this.records) {
      if (record.expiresAt <= now) this.records.delete(key);
      else if (record.state === 'in_progress') inProgress++;
    }
    return { entries: this.records.size, inProgress, completed: this.records.size - inProgress };
  }

  /** Records held right now, expired ones not yet swept included. */
  get size(): number {
    return this.records.size;
  }

  private live(key: string, now: number): IdempotencyRecord | undefined {
    const record = this.records.get(key);
    if (record && record.expiresAt <= now) {
      this.records.delete(key);
      return undefined;
    }
    return record;
  }

  /**
   * Looks at up to `limit` records, carrying on from where the last sweep stopped and wrapping
   * around, and removes the expired ones. A live record does not stop it: records with different
   * TTLs (or a claim that never completed) are not in expiry order, and an expired record behind a
   * live one must go too. A Map iterator stays valid across deletes and sees entries added later.
   */
  private sweep(now: number, limit: number): void {
    const count = Math.min(limit, this.records.size);
    for (let looked = 0; looked < count; looked++) {
      let next = this.cursor?.next();
      if (!next || next.done) {
        // A whole pass is done: every live record was seen, so the earliest expiry among them is
        // exact again, and claims stop sweeping until it passes.
        if (next?.done) this.earliestExpiry = this.passEarliest;
        this.passEarliest = Number.POSITIVE_INFINITY;
        this.cursor = this.records.entries();
        next = this.cursor.next();
        if (next.done) return;
      }
      const [key, record] = next.value;
      if (record.expiresAt <= now) this.records.delete(key);
      else if (record.expiresAt < this.passEarliest) this.passEarliest = record.expiresAt;
    }
  }

  private makeRoom(now: number): void {
    if (this.records.size < this.maxEntries) return;
    // Expired records anywhere first, then the oldest completed ones. A live in-flight claim is
    // never evicted: that would let a second request run the handler.
    if (this.earliestExpiry <= now) {
      let earliest = Number.POSITIVE_INFINITY;
      for (const [key, record] of this.records) {
        if (record.expiresAt <= now) this.records.delete(key);
        else if (record.expiresAt < earliest) earliest = record.expiresAt;
      }
      this.earliestExpiry = earliest;
    }
    // Evict a batch, so a full store walks the map once per batch rather than once per claim.
    const target = this.maxEntries - Math.max(1, Math.min(64, Math.floor(this.maxEntries / 64)));
    for (const [key, record] of this.records) {
      if (this.records.size <= target) return;
      if (record.state === 'completed' || record.leaseExpiresAt! <= now) this.records.delete(key);
    }
    if (this.records.size >= this.maxEntries) {
      throw new IdempotencyError(
        'STORE_UNAVAILABLE',
        `The idempotency store is full: ${this.maxEntries} requests are in flight`,
      );
    }
  }
}
