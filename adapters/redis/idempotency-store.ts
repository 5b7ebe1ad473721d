import type { Cluster, Redis } from 'ioredis';
import {
  asStoreUnavailable,
  type Clock,
  createIdempotencyKey,
  type IdempotencyClaim,
  type IdempotencyClaimRequest,
  IdempotencyError,
  type IdempotencyRecord,
  type IdempotencyStore,
  type IdempotencyStoreStats,
  realClock,
} from 'closed-loop';
// Bundled into closed-loop/redis (the core does not export it).
import { idMaker } from '../../src/internal/id-maker.js';
import { checkNumber, hasMethods, optionError, positive } from '../../src/internal/validate.js';
import { CommandBatch } from './command-batch.js';
import { withCommandTimeout } from './command-timeout.js';
import {
  CLAIM_CMD,
  COMPLETE_CMD,
  decodeResult,
  defineIdempotencyScripts,
  parseRecord,
  RELEASE_CMD,
  type StoredRecord,
} from './idempotency-record.js';
import { type ScanNode, scanKeys } from './key-scan.js';

/** Options of {@link RedisIdempotencyStore}. */
export interface RedisIdempotencyStoreOptions {
  /**
   * Put before every record key: a record lives at `` `${prefix}{${key}}` ``. Default
   * `'closed-loop:idempotency:'`. Give each app (or each test) its own prefix to keep their keys
   * apart; `clear` and `stats` only look at keys under it. Leave `{` and `}` out of it: the first
   * `{…}` in a Redis key is its Cluster hash tag, and the store tags each record by its own key. (The
   * client's own `keyPrefix` option, if any, is applied on top and understood by `clear`/`stats`.)
   */
  prefix?: string;
  /**
   * How long one Redis command may take, in ms, before it fails as `IdempotencyError`
   * `STORE_UNAVAILABLE`. Default 2000. Measured on `clock`, and enforced by the store whatever the
   * client's own settings: with ioredis' defaults a command sent while the connection is down
   * waits in the offline queue through up to 20 reconnection attempts, which is far too long for a
   * request to hang. The late answer of a timed-out command is ignored, but the command may still
   * have run: a claim that timed out can leave a lease nobody holds, which any retry takes over
   * once `leaseMs` has passed (a complete that timed out leaves the holder's lease to do the same).
   */
  commandTimeoutMs?: number;
  /**
   * The clock: `now()` decides lease and record expiry, `setTimeout` runs `commandTimeoutMs`.
   * Default the real clock. The time is sent to Redis with each claim (Redis' own clock is used only
   * for the keys' TTL), so the clocks of the server instances sharing a store should agree to well
   * within `leaseMs`: an instance whose clock runs ahead by more than that could take over a lease
   * that is still live.
   */
  clock?: Clock;
}

type ScriptCommand = (...args: Array<string | number>) => Promise<unknown>;

/**
 * An {@link IdempotencyStore} on Redis, for apps that run on several servers: every instance given a
 * store on the same Redis shares one key space, and a key claimed on one is in use on all of them.
 *
 * - `claim` (takeover of an expired lease included), `complete` and `release` are each one atomic
 *   Lua script, one round trip. Each record is one JSON string at `` `${prefix}{${key}}` `` (hash
 *   tagged, so it lives in one Redis Cluster slot) and expires by Redis TTL (`PX`): `max(ttlMs,
 *   leaseMs)` after a claim, `ttlMs` after completion.
 * - A lease is fenced by its id: once another claimant took it over, the old holder's `complete`
 *   and `release` resolve false and change nothing.
 * - Lease and record expiry are decided by the store's `clock`, sent with each command, so the
 *   instances' clocks should agree to within a small part of `leaseMs`.
 * - Any command that has not answered within `commandTimeoutMs` (default 2000), and any Redis or
 *   connection error, rejects with `IdempotencyError` `STORE_UNAVAILABLE` (the Redis error as
 *   `cause`), whatever the client's retry and offline-queue settings.
 * - The claims, completions and releases of one event-loop turn go to Redis as one pipeline (one
 *   write for all the requests in flight), each with its own answer. Not on a `Cluster` (each
 *   record has its own slot), nor on a client with `enableAutoPipelining`, which pipelines itself.
 *
 * The store does not own the client: close it yourself (`client.quit()`). It defines three
 * namespaced script commands on it (`closedLoopIdempotency…V1`). `ioredis` is an optional peer
 * dependency; this module does not import it at run time.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { createIdempotencyMiddleware } from 'closed-loop/express'
 * import { RedisIdempotencyStore } from 'closed-loop/redis'
 *
 * const store = new RedisIdempotencyStore(new Redis(process.env.REDIS_URL), { prefix: 'shop:idem:' })
 * app.use(createIdempotencyMiddleware({ store }))
 * ```
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  /** The client the store talks through. */
  readonly client: Redis | Cluster;
  /** The key prefix (see {@link RedisIdempotencyStoreOptions.prefix}). */
  readonly prefix: string;
  /** The per-command deadline in ms. */
  readonly commandTimeoutMs: number;
  private readonly clock: Clock;
  // Lease ids fence within one key's history, across every store instance sharing the Redis: a
  // UUID v7 per store instance and a counter are as unique as a fresh UUID per claim, for less.
  private readonly newLeaseId = idMaker(`${createIdempotencyKey()}:`);
  // The scripts of one event-loop turn go as one pipeline (not on a Cluster, nor on a client that
  // already pipelines by itself).
  private readonly batch: CommandBatch | undefined;

  /**
   * @param client - an `ioredis` `Redis` or `Cluster` client (the store neither connects nor closes it)
   * @param options - `prefix`, `commandTimeoutMs` and `clock`
   */
  constructor(client: Redis | Cluster, options: RedisIdempotencyStoreOptions = {}) {
    if (!hasMethods(client, ['defineCommand'])) {
      throw new TypeError('closed-loop: RedisIdempotencyStore needs an ioredis client (new Redis(...) or new Cluster(...))');
    }
    const prefix = options.prefix ?? 'closed-loop:idempotency:';
    if (typeof prefix !== 'string') throw optionError('prefix', `a string, got ${typeof prefix}`);
    const timeout = checkNumber('commandTimeoutMs', options.commandTimeoutMs, positive) ?? 2000;
    this.client = client;
    this.prefix = prefix;
    this.commandTimeoutMs = timeout;
    this.clock = options.clock ?? realClock;
    defineIdempotencyScripts(client);
    const own = client as { isCluster?: boolean; options?: { enableAutoPipelining?: boolean } };
    this.batch = own.isCluster || own.options?.enableAutoPipelining ? undefined : new CommandBatch(client as Redis);
  }

  /**
   * Claims `request.key`, or reports why not (`in_progress`, `completed`, `mismatch`): one atomic
   * Lua script, one round trip. A record whose lease has expired (by the store's clock) is taken
   * over here, with a new lease id, by exactly one claimant.
   */
  async claim(request: IdempotencyClaimRequest): Promise<IdempotencyClaim> {
    const leaseMs = ms('leaseMs', request.leaseMs);
    const ttlMs = ms('ttlMs', request.ttlMs);
    const args = [this.redisKey(request.key), request.fingerprint, leaseMs, ttlMs, this.clock.now(), this.newLeaseId()];
    const reply = await this.run('claim', () => this.send(CLAIM_CMD, args));
    const [status, a, b] = Array.isArray(reply) ? (reply as unknown[]).map(text) : [];
    switch (status) {
      case 'acquired':
        return { status: 'acquired', leaseId: a!, takeover: b === '1' };
      case 'in_progress':
        return { status: 'in_progress', leaseExpiresAt: Number(a) };
      case 'completed':
        return { status: 'completed', result: decodeResult(parseRecord(a!)) };
      case 'mismatch':
        return { status: 'mismatch' };
      default:
        throw new IdempotencyError('STORE_UNAVAILABLE', 'Redis gave an unexpected answer to an idempotency claim');
    }
  }

  /**
   * Stores `result` (JSON-serialisable; a result that is not throws a `TypeError` before anything
   * is sent) and keeps the record `ttlMs`. Resolves false, storing nothing, when `leaseId` no longer
   * holds the key. One atomic Lua script.
   */
  async complete(key: string, leaseId: string, result: unknown, ttlMs: number): Promise<boolean> {
    const json = result === undefined ? undefined : JSON.stringify(result);
    const args = [this.redisKey(key), leaseId, json ?? '', json === undefined ? '0' : '1', ms('ttlMs', ttlMs), this.clock.now()];
    const reply = await this.run('complete', () => this.send(COMPLETE_CMD, args));
    return Number(reply) === 1;
  }

  /** Drops the in-progress record so the key is new again; false when `leaseId` no longer holds it. One atomic Lua script. */
  async release(key: string, leaseId: string): Promise<boolean> {
    const reply = await this.run('release', () => this.send(RELEASE_CMD, [this.redisKey(key), leaseId]));
    return Number(reply) === 1;
  }

  /** Reads a record without claiming it (one `GET`); `undefined` when there is none or it has expired. */
  async get(key: string): Promise<IdempotencyRecord | undefined> {
    const raw = await this.run('get', () => this.client.get(this.redisKey(key)));
    if (raw === null || raw === undefined) return undefined;
    const stored = parseRecord(raw);
    if (stored.e <= this.clock.now()) return undefined;
    const record: IdempotencyRecord = {
      key,
      fingerprint: stored.fp,
      state: stored.s === 'c' ? 'completed' : 'in_progress',
      expiresAt: stored.e,
    };
    if (stored.s === 'c') {
      record.result = decodeResult(stored);
    } else {
      record.leaseId = stored.l!;
      record.leaseExpiresAt = stored.le!;
    }
    return record;
  }

  /**
   * Drops every record under this store's `prefix` (tests, admin tools): `SCAN MATCH prefix*` and
   * `UNLINK` in batches of 500, one round trip per batch (each under `commandTimeoutMs`). Not
   * atomic: a record written meanwhile may survive. On a Redis Cluster every master node is scanned;
   * nodes that join or slots that move during the scan can be missed.
   */
  async clear(): Promise<void> {
    await scanKeys(this.client, this.prefix, this.run, async (node, keys) => {
      const replies = await this.exec(node, keys.map((k) => ['unlink', k]));
      for (const [error] of replies) if (error) throw unavailable('clear', error);
    });
  }

  /**
   * Counts the live records under this store's `prefix` by state. O(number of records): a `SCAN`
   * and a batch of `GET`s per 500 keys, meant for dashboards and tests, not for a hot path. On a
   * Redis Cluster every master node is scanned.
   */
  async stats(): Promise<IdempotencyStoreStats> {
    const now = this.clock.now();
    const counts: IdempotencyStoreStats = { entries: 0, inProgress: 0, completed: 0 };
    await scanKeys(this.client, this.prefix, this.run, async (node, keys) => {
      const replies = await this.exec(node, keys.map((k) => ['get', k]));
      for (const [error, raw] of replies) {
        // A key of another type under the prefix (WRONGTYPE) or a string that is not a record: skipped.
        if (error || typeof raw !== 'string') continue;
        let stored: StoredRecord;
        try {
          stored = parseRecord(raw);
        } catch {
          continue;
        }
        if (stored.e <= now) continue;
        counts.entries++;
        if (stored.s === 'c') counts.completed++;
        else counts.inProgress++;
      }
    });
    return counts;
  }

  /** The Redis key of a record (before the client's own `keyPrefix`, which ioredis adds). */
  private redisKey(key: string): string {
    return `${this.prefix}{${key}}`;
  }

  /** Runs one of the store's scripts: with the other commands of this turn, where it can. */
  private send(name: string, args: Array<string | number>): Promise<unknown> {
    if (this.batch !== undefined) return this.batch.send(name, args);
    const command = (this.client as unknown as Record<string, ScriptCommand>)[name]!;
    return command.apply(this.client, args);
  }

  /** One pipeline round trip on `node`: each command's error or reply. */
  private async exec(node: ScanNode, commands: Array<Array<string | number>>): Promise<Array<[Error | null, unknown]>> {
    const replies = await this.run('pipeline', () => node.pipeline(commands).exec());
    if (!replies) throw new IdempotencyError('STORE_UNAVAILABLE', 'Redis discarded an idempotency pipeline');
    return replies;
  }

  /**
   * Runs one Redis call under `commandTimeoutMs`. Whichever comes first settles the result: the
   * answer (the timer is cleared) or the timer (the late answer, or its rejection, is swallowed).
   * An arrow function: the key scan is handed it.
   */
  private readonly run = <T>(what: string, call: () => Promise<T>): Promise<T> =>
    withCommandTimeout(
      this.clock,
      this.commandTimeoutMs,
      call,
      () => new IdempotencyError('STORE_UNAVAILABLE', `Redis did not answer the idempotency ${what} within ${this.commandTimeoutMs} ms`),
      (error) => unavailable(what, error),
    );
}

function unavailable(what: string, error: unknown): IdempotencyError {
  return asStoreUnavailable(error, `The idempotency ${what} failed in Redis${error instanceof Error ? `: ${error.message}` : ''}`);
}

/** A claim's or completion's `leaseMs`/`ttlMs`: required here (the guard always sends them). */
function ms(name: string, value: number): number {
  if (value === undefined) throw optionError(name, `${positive.text}, got undefined`);
  return checkNumber(name, value, positive)!;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

