import type { Clock } from '../../clock/clock.js';
import type { IdempotencyStore } from '../store.js';

/**
 * Options of every server adapter's idempotency guard (`createIdempotencyMiddleware` from
 * `closed-loop/express`, `withIdempotency` from `closed-loop/fetch`, `idempotency` from
 * `closed-loop/hono`), and of {@link HttpIdempotency} for an adapter of your own. `Req` is what the
 * adapter hands to `scope`, `fingerprint` and `onStoreError`: Express's `req`, the web `Request`,
 * Hono's context.
 *
 * @category Idempotency
 */
export interface HttpIdempotencyOptions<Req> {
  /**
   * Where records live. Default: a new `MemoryIdempotencyStore` for this guard (one process only;
   * use `RedisIdempotencyStore` from `closed-loop/redis` for several servers).
   */
  store?: IdempotencyStore;
  /**
   * The request header that carries the key, matched case-insensitively. Default
   * `'Idempotency-Key'`. The legacy `X-Idempotency-Key` is accepted too; both with different keys
   * is a 400.
   */
  header?: string;
  /** The methods that are made idempotent; others pass through untouched. Default `['POST','PUT','PATCH']`. */
  methods?: readonly string[];
  /** Whether a request without a key is refused (400 `KEY_MISSING`) rather than passed through. Default false. */
  required?: boolean;
  /** How long a stored response is replayed, in ms. Default 86400000 (24 h). */
  ttlMs?: number;
  /**
   * How long a request holds its key before a retry may take it over (the first handler is taken
   * to have crashed), in ms. Default 30000. Pick it above the slowest handler's running time.
   */
  leaseMs?: number;
  /** The longest key accepted, in characters. Default 255. */
  maxKeyLength?: number;
  /**
   * The key space a request belongs to (a user, a tenant): the same key in two scopes is two
   * keys. Return `undefined` (or `''`) for the shared space. Default: one key space.
   */
  scope?: (req: Req) => string | undefined | null | PromiseLike<string | undefined | null>;
  /**
   * What identifies "the same request" under one key; a different one is a 422. Default: the
   * method, the concrete path (no query) and the canonical JSON of the body.
   */
  fingerprint?: (req: Req) => string | PromiseLike<string>;
  /**
   * What a request gets while the first one with its key is still running: `'reject'` (default)
   * a 409 with `Retry-After`; `'wait'` the first one's response once it completes.
   */
  concurrent?: 'reject' | 'wait';
  /** In `'wait'` mode, the longest wait before a 409, in ms. Default `leaseMs`. */
  waitTimeoutMs?: number;
  /**
   * The largest response body stored, in bytes. A larger one still reaches its client whole, and
   * is stored without its body (a retry gets `Idempotent-Body-Omitted: true`). Default 1 MiB.
   */
  maxResponseBytes?: number;
  /** Store 5xx responses too, instead of releasing the key so that a retry runs again. Default false. */
  cacheServerErrors?: boolean;
  /**
   * Response headers to replay besides `Content-Type`, `Location`, `Content-Location`, `ETag` and
   * `Last-Modified`. `Set-Cookie`, `Date` and request ids are never replayed, even when listed.
   */
  replayHeaders?: readonly string[];
  /**
   * How the guard's own refusals (400, 409, 422, 503) are answered: `'respond'` (default) as
   * `application/problem+json`; `'next'` by handing the `IdempotencyError` to the app's own error
   * handling (Express's `next(err)`; a throw for fetch handlers and Hono).
   */
  errors?: 'respond' | 'next';
  /**
   * Called when storing or releasing a result fails after the handler ran (the client has its
   * response; the key frees itself when its lease runs out). Default: nothing is logged.
   */
  onStoreError?: (error: unknown, req: Req) => void;
  /** The clock for leases, expiry and waits. Default the real clock. */
  clock?: Clock;
}

/** The methods made idempotent by default. */
export const DEFAULT_METHODS: readonly string[] = ['POST', 'PUT', 'PATCH'];

/** The longest a response waits for the store to confirm its result (see `answer-waits.ts`). */
export const STORE_ANSWER_WAIT_MS = 5000;

/**
 * A whole number option: `fallback` when absent, a TypeError when not an integer >= `min`.
 *
 * @internal
 */
export function integerOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(`closed-loop: \`${name}\` must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * One of `allowed`: the first when absent, a TypeError otherwise.
 *
 * @internal
 */
export function choiceOption<T extends string>(name: string, value: T | undefined, allowed: readonly T[]): T {
  if (value === undefined) return allowed[0]!;
  if (!allowed.includes(value)) {
    throw new TypeError(`closed-loop: \`${name}\` must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${String(value)}`);
  }
  return value;
}
