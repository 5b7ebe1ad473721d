// A record in Redis: its JSON shape, and the Lua scripts that claim, complete and release it, each
// atomically in one round trip. RedisIdempotencyStore (idempotency-store.ts) sends them.
import { asStoreUnavailable, IdempotencyError } from 'closed-loop';
import type { Cluster, Redis } from 'ioredis';

/** A record as it is stored (JSON, one string value per key). Short field names: it is stored often. */
export interface StoredRecord {
  /** Format version. */
  v: number;
  /** Fingerprint. */
  fp: string;
  /** State: `p` in progress, `c` completed. */
  s: 'p' | 'c';
  /** Lease id (in progress). */
  l?: string;
  /** Lease expiry, epoch ms (in progress). */
  le?: number;
  /** The result as JSON text (completed; absent for `undefined`). Kept as text so Lua never reshapes it. */
  r?: string;
  /** Record expiry, epoch ms. */
  e: number;
}

// The scripts run atomically in Redis: each operation is one round trip. ioredis sends a script as
// EVAL the first time on a connection and as EVALSHA afterwards (falling back to EVAL on NOSCRIPT).
// Times are epoch ms from the store's clock (ARGV), never Redis' TIME, so tests can drive leases.
// Numbers stay below 1e14 (cjson keeps 14 significant digits), true of epoch ms until year 5138.

// KEYS[1] record key. ARGV: fingerprint, leaseMs, ttlMs, now, new lease id.
// Returns {'acquired', leaseId, '0'|'1' (takeover)} | {'in_progress', leaseExpiresAt} |
// {'completed', record JSON} | {'mismatch'}.
const CLAIM_LUA = `
local fp = ARGV[1]
local leaseMs = tonumber(ARGV[2])
local ttlMs = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local leaseId = ARGV[5]
local raw = redis.call('GET', KEYS[1])
if raw then
  local ok, rec = pcall(cjson.decode, raw)
  if not ok or type(rec) ~= 'table' or type(rec.e) ~= 'number' or type(rec.fp) ~= 'string' then
    return redis.error_reply('closed-loop: not an idempotency record: ' .. KEYS[1])
  end
  if rec.e > now then
    if rec.fp ~= fp then return {'mismatch'} end
    if rec.s == 'c' then return {'completed', raw} end
    if type(rec.le) == 'number' and rec.le > now then return {'in_progress', tostring(rec.le)} end
    -- The holder's lease ran out (it crashed or stalled): take over with a new lease id, so the old
    -- holder's late complete or release finds a different id and does nothing.
    rec.l = leaseId
    rec.le = now + leaseMs
    if rec.e < now + leaseMs then rec.e = now + leaseMs end
    redis.call('SET', KEYS[1], cjson.encode(rec), 'PX', math.max(1, math.ceil(rec.e - now)))
    return {'acquired', leaseId, '1'}
  end
end
local life = math.max(ttlMs, leaseMs)
local rec = {v = 1, fp = fp, s = 'p', l = leaseId, le = now + leaseMs, e = now + life}
redis.call('SET', KEYS[1], cjson.encode(rec), 'PX', math.max(1, math.ceil(life)))
return {'acquired', leaseId, '0'}
`;

// KEYS[1] record key. ARGV: lease id, result JSON, '1' when there is a result, ttlMs, now.
// Returns 1 when stored, 0 when the lease no longer holds the key.
const COMPLETE_LUA = `
local ttlMs = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, rec = pcall(cjson.decode, raw)
if not ok or type(rec) ~= 'table' then return 0 end
if rec.s ~= 'p' or rec.l ~= ARGV[1] or type(rec.e) ~= 'number' or rec.e <= now then return 0 end
local out = {v = 1, fp = rec.fp, s = 'c', e = now + ttlMs}
if ARGV[3] == '1' then out.r = ARGV[2] end
redis.call('SET', KEYS[1], cjson.encode(out), 'PX', math.max(1, math.ceil(ttlMs)))
return 1
`;

// KEYS[1] record key. ARGV: lease id. Returns 1 when dropped, 0 when the lease no longer holds it.
const RELEASE_LUA = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, rec = pcall(cjson.decode, raw)
if not ok or type(rec) ~= 'table' then return 0 end
if rec.s ~= 'p' or rec.l ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

// Command names defined on the client with `defineCommand`: namespaced and versioned, so they
// neither clash with the app's own nor with another version of this store on the same client.
export const CLAIM_CMD = 'closedLoopIdempotencyClaimV1';
export const COMPLETE_CMD = 'closedLoopIdempotencyCompleteV1';
export const RELEASE_CMD = 'closedLoopIdempotencyReleaseV1';

/** Defines the three scripts on `client` as commands (once per client: a second store reuses them). */
export function defineIdempotencyScripts(client: Redis | Cluster): void {
  define(client, CLAIM_CMD, CLAIM_LUA);
  define(client, COMPLETE_CMD, COMPLETE_LUA);
  define(client, RELEASE_CMD, RELEASE_LUA);
}

function define(client: Redis | Cluster, name: string, lua: string): void {
  if (typeof (client as unknown as Record<string, unknown>)[name] === 'function') return;
  client.defineCommand(name, { numberOfKeys: 1, lua });
}

/** A stored record read back (a claim's `completed` answer, `get`, `stats`), or `STORE_UNAVAILABLE` when it is not one. */
export function parseRecord(raw: string): StoredRecord {
  let stored: unknown;
  try {
    stored = JSON.parse(raw);
  } catch (error) {
    throw asStoreUnavailable(error, 'A Redis idempotency record is not JSON');
  }
  const record = stored as StoredRecord | null;
  if (!record || typeof record !== 'object' || typeof record.fp !== 'string' || typeof record.e !== 'number') {
    throw new IdempotencyError('STORE_UNAVAILABLE', 'A Redis key under the idempotency prefix is not an idempotency record');
  }
  return record;
}

/** The result a completed record holds (`undefined` when it stored none). */
export function decodeResult(record: StoredRecord): unknown {
  return typeof record.r === 'string' ? JSON.parse(record.r) : undefined;
}
