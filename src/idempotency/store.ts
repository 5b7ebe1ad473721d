/** What a claim asks of an {@link IdempotencyStore}. @category Idempotency */
export interface IdempotencyClaimRequest {
  /** The key, already scoped (the store does not interpret it). */
  key: string;
  /** The request's fingerprint; a different one under the same key is a mismatch. */
  fingerprint: string;
  /** How long the claimant holds the key before another claimant may take it over, in ms. */
  leaseMs: number;
  /** How long the record lives, in ms (measured again from completion). */
  ttlMs: number;
}

/** The answer to a claim. @category Idempotency */
export type IdempotencyClaim =
  | {
      /** This claimant holds the key and must `complete` or `release` it. */
      status: 'acquired';
      /** The fencing token: `complete` and `release` do nothing without it. */
      leaseId: string;
      /** True when an earlier claimant's lease had expired (it crashed or stalled) and was taken over. */
      takeover: boolean;
    }
  | {
      /** Another claimant holds a live lease. */
      status: 'in_progress';
      /** When that lease expires (epoch ms); a claim after it takes over. */
      leaseExpiresAt: number;
    }
  | {
      /** The key completed; here is what was stored. */
      status: 'completed';
      /** The stored result, as passed to `complete`. */
      result: unknown;
    }
  | {
      /** The key is in use (in flight or completed) with a different fingerprint. */
      status: 'mismatch';
    };

/** A stored record, as {@link IdempotencyStore.get} returns it. @category Idempotency */
export interface IdempotencyRecord {
  /** The (scoped) key. */
  key: string;
  /** The fingerprint of the request that claimed it. */
  fingerprint: string;
  /** `in_progress` while a claimant holds it, `completed` once a result is stored. */
  state: 'in_progress' | 'completed';
  /** The current lease, while in progress. */
  leaseId?: string;
  /** When the current lease expires (epoch ms), while in progress. */
  leaseExpiresAt?: number;
  /** The stored result, once completed. */
  result?: unknown;
  /** When the record expires (epoch ms). */
  expiresAt: number;
}

/** Counts reported by {@link IdempotencyStore.stats}. @category Idempotency */
export interface IdempotencyStoreStats {
  /** Records held. */
  entries: number;
  /** Records in progress. */
  inProgress: number;
  /** Records completed. */
  completed: number;
}

/**
 * Where idempotency records live. Implementations must make `claim` atomic (of N concurrent claims
 * of one key exactly one is `acquired`) and fence `complete`/`release` by lease id (a claimant whose
 * lease was taken over cannot overwrite the new holder's result). A record whose lease expired may
 * be taken over by exactly one claimant.
 *
 * Results passed to `complete` must be JSON-serialisable (a shared store serialises them).
 * A store that cannot answer rejects; callers turn that into `STORE_UNAVAILABLE`.
 * @category Idempotency
 */
export interface IdempotencyStore {
  /** Claims `request.key`, or reports why not. */
  claim(request: IdempotencyClaimRequest): Promise<IdempotencyClaim>;
  /**
   * Stores the result under the key and keeps it for `ttlMs`. Resolves false, storing nothing,
   * when `leaseId` no longer holds the key.
   */
  complete(key: string, leaseId: string, result: unknown, ttlMs: number): Promise<boolean>;
  /** Drops an in-progress record so the key is new again. False when `leaseId` no longer holds it. */
  release(key: string, leaseId: string): Promise<boolean>;
  /** Reads a record without claiming it. */
  get(key: string): Promise<IdempotencyRecord | undefined>;
  /** Drops every record (tests, admin tools). Optional. */
  clear?(): Promise<void>;
  /** Counts records. Optional. */
  stats?(): Promise<IdempotencyStoreStats>;
}
