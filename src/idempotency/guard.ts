import { type Clock, realClock } from '../clock/clock.js';
import { IdempotencyError } from '../errors/errors.js';
import { sleep } from '../internal/timeout.js';
import { checkNumber, optionError, positive } from '../internal/validate.js';
import { MemoryIdempotencyStore } from './memory-store.js';
import type { IdempotencyClaim, IdempotencyStore } from './store.js';
import { asStoreUnavailable } from './store-unavailable.js';

/** Options of {@link IdempotencyGuard}. @category Idempotency */
export interface IdempotencyGuardOptions {
  /** Where records live. */
  store: IdempotencyStore;
  /** How long a completed result is kept and replayed, in ms. Default 86400000 (24 h). */
  ttlMs?: number;
  /** How long a claimant holds a key before a retry may take it over, in ms. Default 30000. */
  leaseMs?: number;
  /**
   * What a second claim of a key still in flight gets: `'reject'` (default) an `IdempotencyError`
   * `KEY_IN_USE`, `'wait'` the first claimant's result once it completes (or the key itself, if
   * the first claimant gives it back or its lease runs out).
   */
  concurrent?: 'reject' | 'wait';
  /** In `'wait'` mode, the longest wait before `KEY_IN_USE`, in ms. Default `leaseMs`. */
  waitTimeoutMs?: number;
  /** In `'wait'` mode, how often the store is asked again, in ms. Default 25, doubling to 500. */
  pollIntervalMs?: number;
  /** The clock. Default {@link realClock}. */
  clock?: Clock;
}

/** A held key: finish it with exactly one of `complete` or `release`. @category Idempotency */
export interface IdempotencyLease {
  /** The key held. */
  readonly key: string;
  /** The fencing token. */
  readonly leaseId: string;
  /** True when this lease took over from a claimant whose lease had expired. */
  readonly takeover: boolean;
  /**
   * Stores `result` (JSON-serialisable) for replay. Resolves false when the lease was lost in the
   * meantime (it ran past `leaseMs` and another claimant took over); nothing is stored then.
   */
  complete(result: unknown): Promise<boolean>;
  /** Gives the key back unstored (the work failed and may be tried again). */
  release(): Promise<boolean>;
  /**
   * {@link complete}, answered synchronously when the store answers synchronously (the memory
   * store); never throws (a failure is a rejected promise).
   *
   * @internal
   */
  completeNow?(result: unknown): boolean | Promise<boolean>;
  /**
   * {@link release}, likewise.
   *
   * @internal
   */
  releaseNow?(): boolean | Promise<boolean>;
}

/** What {@link IdempotencyGuard.begin} found. @category Idempotency */
export type IdempotencyBegin =
  | {
      /** The key is new (or taken over): do the work, then complete or release the lease. */
      kind: 'execute';
      /** The held key. */
      lease: IdempotencyLease;
    }
  | {
      /** The key completed before: replay `result`, do not do the work again. */
      kind: 'replay';
      /** What the first execution stored. */
      result: unknown;
    };

/**
 * Exactly-once execution by key, over any {@link IdempotencyStore}, with no framework attached.
 * The Express middleware is built on it; a queue consumer or a job runner can use it directly.
 *
 * @example
 * ```ts
 * const guard = new IdempotencyGuard({ store: new MemoryIdempotencyStore() })
 * // In a queue consumer: a redelivered message charges once.
 * const { result, replayed } = await guard.run(message.id, fingerprint, () => chargeCard(message))
 * ```
 * @category Idempotency
 */
export class IdempotencyGuard {
  /** The store records live in. */
  readonly store: IdempotencyStore;
  /** The result lifetime in ms. */
  readonly ttlMs: number;
  /** The lease length in ms. */
  readonly leaseMs: number;
  private readonly concurrent: 'reject' | 'wait';
  private readonly waitTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly clock: Clock;
  /** The store, when it is a memory store whose methods are its own: asked synchronously. */
  private readonly syncStore: MemoryIdempotencyStore | undefined;

  /** @param options - see {@link IdempotencyGuardOptions} */
  constructor(options: IdempotencyGuardOptions) {
    if (!options || typeof options.store?.claim !== 'function') {
      throw new TypeError('closed-loop: IdempotencyGuard needs a `store` (an IdempotencyStore)');
    }
    this.store = options.store;
    this.ttlMs = checkNumber('ttlMs', options.ttlMs, positive) ?? 86_400_000;
    this.leaseMs = checkNumber('leaseMs', options.leaseMs, positive) ?? 30_000;
    this.concurrent = options.concurrent ?? 'reject';
    if (this.concurrent !== 'reject' && this.concurrent !== 'wait') {
      throw optionError('concurrent', `'reject' or 'wait', got ${String(this.concurrent)}`);
    }
    this.waitTimeoutMs = checkNumber('waitTimeoutMs', options.waitTimeoutMs, positive) ?? this.leaseMs;
    this.pollIntervalMs = checkNumber('pollIntervalMs', options.pollIntervalMs, positive) ?? 25;
    this.clock = options.clock ?? realClock;
    this.syncStore = answersSynchronously(this.store) ? this.store : undefined;
  }

  /**
   * Claims `key` for a request with `fingerprint`. Resolves with `execute` (a lease) or `replay`
   * (the stored result); rejects with {@link IdempotencyError}: `KEY_MISMATCH` (the key was used
   * for a different request), `KEY_IN_USE` (still in flight; `retryAfterMs` says when to try
   * again) or `STORE_UNAVAILABLE` (the store failed; `cause` says how).
   *
   * @param key - the (scoped) idempotency key
   * @param fingerprint - the request's fingerprint
   */
  async begin(key: string, fingerprint: string): Promise<IdempotencyBegin> {
    const deadline = this.concurrent === 'wait' ? this.clock.now() + this.waitTimeoutMs : 0;
    let pause = this.pollIntervalMs;
    for (;;) {
      let claim: IdempotencyClaim;
      try {
        claim = await this.store.claim({ key, fingerprint, leaseMs: this.leaseMs, ttlMs: this.ttlMs });
      } catch (error) {
        throw asStoreUnavailable(error);
      }
      switch (claim.status) {
        case 'in_progress': {
          const now = this.clock.now();
          const leaseLeft = Math.max(0, claim.leaseExpiresAt - now);
          if (this.concurrent === 'reject' || now >= deadline) throw inUse(leaseLeft);
          // Poll: the store has no completion notification in general. Never past the deadline,
          // and never much past the holder's lease end, when a takeover becomes possible.
          // A lease already past its end (the store has not taken it over yet, or clocks differ)
          // still waits a full poll interval rather than spinning.
          const wait = Math.max(1, Math.min(pause, deadline - now, leaseLeft > 0 ? leaseLeft + 1 : pause));
          await sleep(this.clock, wait);
          pause = Math.min(pause * 2, 500);
          break;
        }
        default:
          return this.settle(key, claim);
      }
    }
  }

  /**
   * {@link begin}, answered synchronously when the store answers synchronously (the memory
   * store) and nothing has to wait; `undefined` otherwise, and then the caller calls `begin`.
   * Throws what `begin` rejects with.
   *
   * @internal
   */
  beginNow(key: string, fingerprint: string): IdempotencyBegin | undefined {
    const store = this.syncStore;
    if (store === undefined) return undefined;
    let claim: IdempotencyClaim;
    try {
      claim = store.claimNow({ key, fingerprint, leaseMs: this.leaseMs, ttlMs: this.ttlMs });
    } catch (error) {
      throw asStoreUnavailable(error);
    }
    if (claim.status !== 'in_progress') return this.settle(key, claim);
    if (this.concurrent === 'wait') return undefined;
    throw inUse(Math.max(0, claim.leaseExpiresAt - this.clock.now()));
  }

  /**
   * Runs `fn` at most once per key: the first call runs it and stores its (JSON-serialisable)
   * result; later calls with the same key and fingerprint get that result with `replayed: true`. If
   * `fn` throws, the key is released and the error passes through, so a retry runs `fn` again.
   *
   * @param key - the idempotency key
   * @param fingerprint - what identifies the request (e.g. {@link fingerprintRequest})
   * @param fn - the side effect
   */
  async run<T>(
    key: string,
    fingerprint: string,
    fn: () => T | PromiseLike<T>,
  ): Promise<{
    /** What `fn` returned, now or on the first execution. */
    result: T;
    /** True when `fn` did not run and `result` is the stored one. */
    replayed: boolean;
  }> {
    const begun = await this.begin(key, fingerprint);
    if (begun.kind === 'replay') return { result: begun.result as T, replayed: true };
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      await begun.lease.release().catch(() => false);
      throw error;
    }
    await begun.lease.complete(result);
    return { result, replayed: false };
  }

  /** What any answer but `in_progress` means. */
  private settle(key: string, claim: IdempotencyClaim): IdempotencyBegin {
    switch (claim.status) {
      case 'acquired':
        return { kind: 'execute', lease: new StoreLease(this.store, this.syncStore, this.ttlMs, key, claim.leaseId, claim.takeover) };
      case 'completed':
        return { kind: 'replay', result: claim.result };
      case 'mismatch':
        throw new IdempotencyError('KEY_MISMATCH');
      default:
        throw new IdempotencyError('STORE_UNAVAILABLE', 'The idempotency store gave an unknown answer');
    }
  }
}

/** A lease as the guard hands it out: one object per claim, its methods on the prototype. */
class StoreLease implements IdempotencyLease {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly syncStore: MemoryIdempotencyStore | undefined,
    private readonly ttlMs: number,
    readonly key: string,
    readonly leaseId: string,
    readonly takeover: boolean,
  ) {}

  async complete(result: unknown): Promise<boolean> {
    try {
      return await this.store.complete(this.key, this.leaseId, result, this.ttlMs);
    } catch (error) {
      throw asStoreUnavailable(error);
    }
  }

  async release(): Promise<boolean> {
    try {
      return await this.store.release(this.key, this.leaseId);
    } catch (error) {
      throw asStoreUnavailable(error);
    }
  }

  completeNow(result: unknown): boolean | Promise<boolean> {
    if (this.syncStore === undefined) return this.complete(result);
    try {
      return this.syncStore.completeNow(this.key, this.leaseId, result, this.ttlMs);
    } catch (error) {
      return Promise.reject(asStoreUnavailable(error));
    }
  }

  releaseNow(): boolean | Promise<boolean> {
    if (this.syncStore === undefined) return this.release();
    try {
      return this.syncStore.releaseNow(this.key, this.leaseId);
    } catch (error) {
      return Promise.reject(asStoreUnavailable(error));
    }
  }
}

// A memory store whose claim/complete/release are the class's own (not overridden by a subclass,
// which may add delays or failures) can be asked synchronously.
function answersSynchronously(store: IdempotencyStore): store is MemoryIdempotencyStore {
  const own = MemoryIdempotencyStore.prototype;
  return (
    store instanceof MemoryIdempotencyStore &&
    store.claim === own.claim &&
    store.complete === own.complete &&
    store.release === own.release
  );
}

function inUse(leaseLeftMs: number): IdempotencyError {
  return new IdempotencyError('KEY_IN_USE', undefined, { retryAfterMs: Math.min(leaseLeftMs, 1000) || 1000 });
}
