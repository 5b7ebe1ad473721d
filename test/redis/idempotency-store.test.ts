// Node only. RedisIdempotencyStore against a real redis-server (started per file on a free loopback
// port; fails loudly when the Debian package is missing): the shared IdempotencyStore contract, then
// what only Redis has — key layout, TTLs, one round trip per operation, outages, two instances.
//
// TTL: the contract's expiry tests run on the store's ManualClock (the store checks each record's
// expiry time against its clock, as it does leases). That Redis itself drops records is checked
// here twice: PTTL after each write, and a real 80 ms TTL polled with bounded real waits until the
// key is gone from Redis.
import { readFileSync, readdirSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type IdempotencyClaim, IdempotencyError, isIdempotencyError, ManualClock } from 'closed-loop';
import { RedisIdempotencyStore } from 'closed-loop/redis';
import { describeIdempotencyStoreContract } from '../idempotency/store-contract.js';
import { freePort, type RedisCluster, type RedisServer, startRedisCluster, startRedisServer } from '../support/redis-server.js';
import { withUnhandledRejections } from '../support/unhandled-rejections.js';

let server: RedisServer;
const clients: Redis[] = [];
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
}, 20_000);

afterAll(async () => {
  // disconnect, not quit: clients of the outage tests' stopped servers would queue a QUIT forever.
  for (const c of clients) c.disconnect();
  await server?.stop();
});

/** A client on the file's server (closed after the file). */
function connect(url = server.url, options: RedisOptions = {}): Redis {
  const client = new Redis(url, options);
  client.on('error', () => {}); // outage tests provoke connection errors on purpose
  clients.push(client);
  return client;
}

function uniquePrefix(label = 'test'): string {
  return `cl-${label}-${process.pid}-${++prefixes}:`;
}

const T0 = Date.UTC(2025, 0, 1);
const LEASE = 5_000;
const TTL = 60_000;
const req = (key: string, fingerprint = 'fp', leaseMs = LEASE, ttlMs = TTL) => ({ key, fingerprint, leaseMs, ttlMs });

function acquired(claim: IdempotencyClaim): Extract<IdempotencyClaim, { status: 'acquired' }> {
  if (claim.status !== 'acquired') throw new Error(`expected acquired, got ${JSON.stringify(claim)}`);
  return claim;
}

async function expectUnavailable(promise: Promise<unknown>): Promise<IdempotencyError> {
  const error = await promise.then(
    () => {
      throw new Error('expected STORE_UNAVAILABLE, but the call succeeded');
    },
    (e: unknown) => e,
  );
  expect(isIdempotencyError(error)).toBe(true);
  expect((error as IdempotencyError).code).toBe('STORE_UNAVAILABLE');
  expect((error as IdempotencyError).status).toBe(503);
  return error as IdempotencyError;
}

describeIdempotencyStoreContract('RedisIdempotencyStore', async ({ clock }) => {
  const client = connect();
  return { store: new RedisIdempotencyStore(client, { prefix: uniquePrefix('contract'), clock }) };
});

// A client with `enableAutoPipelining` batches the commands of one event-loop turn itself (the
// store then does not): every behaviour of the contract must hold all the same.
describeIdempotencyStoreContract('RedisIdempotencyStore, client with enableAutoPipelining', async ({ clock }) => {
  const client = connect(server.url, { enableAutoPipelining: true });
  return { store: new RedisIdempotencyStore(client, { prefix: uniquePrefix('autopipe'), clock }) };
});

describe('RedisIdempotencyStore on a real redis-server', () => {
  describe('keys and records', () => {
    test('a record is one JSON string at `${prefix}{${key}}` (hash-tagged, prefixed)', async () => {
      const client = connect();
      const prefix = uniquePrefix('layout');
      const clock = new ManualClock(T0);
      const store = new RedisIdempotencyStore(client, { prefix, clock });
      const lease = acquired(await store.claim(req('order-1', 'fp-x')));

      expect(await client.keys(`${prefix}*`)).toEqual([`${prefix}{order-1}`]);
      expect(await client.type(`${prefix}{order-1}`)).toBe('string');
      const stored = JSON.parse((await client.get(`${prefix}{order-1}`))!);
      expect(stored).toMatchObject({ fp: 'fp-x', s: 'p', l: lease.leaseId, le: T0 + LEASE, e: T0 + TTL });

      await store.complete('order-1', lease.leaseId, { id: 1 }, TTL);
      const done = JSON.parse((await client.get(`${prefix}{order-1}`))!);
      expect(done).toMatchObject({ fp: 'fp-x', s: 'c', e: T0 + TTL });
      expect(done.l).toBeUndefined();
      expect(JSON.parse(done.r)).toEqual({ id: 1 });
    });

    test('the default prefix is closed-loop:idempotency:', async () => {
      const client = connect();
      const store = new RedisIdempotencyStore(client);
      const key = `default-prefix-${process.pid}-${Date.now()}`;
      const lease = acquired(await store.claim(req(key)));
      expect(await client.exists(`closed-loop:idempotency:{${key}}`)).toBe(1);
      expect(await store.release(key, lease.leaseId)).toBe(true);
      expect(await client.exists(`closed-loop:idempotency:{${key}}`)).toBe(0);
    });

    test("the client's own keyPrefix is applied on top, and clear/stats understand it", async () => {
      const raw = connect();
      const app = `app-${process.pid}-${++prefixes}:`;
      const client = connect(server.url, { keyPrefix: app });
      const store = new RedisIdempotencyStore(client, { prefix: 'idem:', clock: new ManualClock(T0) });
      acquired(await store.claim(req('k1')));
      acquired(await store.claim(req('k2')));
      await raw.set(`${app}unrelated`, 'keep me');
      expect((await raw.keys(`${app}*`)).sort()).toEqual([`${app}idem:{k1}`, `${app}idem:{k2}`, `${app}unrelated`]);
      expect(await store.stats()).toEqual({ entries: 2, inProgress: 2, completed: 0 });
      await store.clear();
      expect(await raw.keys(`${app}*`)).toEqual([`${app}unrelated`]);
      expect(await store.stats()).toEqual({ entries: 0, inProgress: 0, completed: 0 });
    });

    test('clear and stats stay inside the prefix, even one holding glob characters', async () => {
      const client = connect();
      const clock = new ManualClock(T0);
      const n = ++prefixes;
      // Unescaped, the pattern `g*[x]?:*` would match `gabcxQ:…` too.
      const globby = new RedisIdempotencyStore(client, { prefix: `g${n}*[x]?:`, clock });
      const other = new RedisIdempotencyStore(client, { prefix: `g${n}abcxQ:`, clock });
      acquired(await globby.claim(req('mine')));
      acquired(await other.claim(req('theirs')));
      expect(await globby.stats()).toEqual({ entries: 1, inProgress: 1, completed: 0 });
      await globby.clear();
      expect(await globby.get('mine')).toBeUndefined();
      expect((await other.get('theirs'))?.state).toBe('in_progress');
      expect(await other.stats()).toEqual({ entries: 1, inProgress: 1, completed: 0 });
    });

    test('clear and stats work in batches: 1200 records', async () => {
      const client = connect();
      const store = new RedisIdempotencyStore(client, { prefix: uniquePrefix('many'), clock: new ManualClock(T0) });
      const claims = await Promise.all(Array.from({ length: 1200 }, (_, i) => store.claim(req(`k${i}`))));
      await Promise.all(claims.slice(0, 200).map((c, i) => store.complete(`k${i}`, acquired(c).leaseId, i, TTL)));
      expect(await store.stats()).toEqual({ entries: 1200, inProgress: 1000, completed: 200 });
      await store.clear();
      expect(await store.stats()).toEqual({ entries: 0, inProgress: 0, completed: 0 });
      expect(await client.keys(`${store.prefix}*`)).toEqual([]);
    });
  });

  describe('TTL in Redis', () => {
    test('every write sets a PTTL: max(ttl, lease) on claim, lease left on takeover, ttl on complete', async () => {
      const client = connect();
      const prefix = uniquePrefix('pttl');
      const clock = new ManualClock(T0);
      const store = new RedisIdempotencyStore(client, { prefix, clock });
      const pttl = (key: string) => client.pttl(`${prefix}{${key}}`);

      acquired(await store.claim(req('a', 'fp', 5_000, 60_000)));
      expect(await pttl('a')).toBeGreaterThan(59_000);
      expect(await pttl('a')).toBeLessThanOrEqual(60_000);

      acquired(await store.claim(req('b', 'fp', 90_000, 60_000)));
      expect(await pttl('b')).toBeGreaterThan(89_000);
      expect(await pttl('b')).toBeLessThanOrEqual(90_000);

      const c = acquired(await store.claim(req('c', 'fp', 10_000, 12_000)));
      await clock.advance(10_000);
      const taken = acquired(await store.claim(req('c', 'fp', 10_000, 12_000)));
      expect(taken.takeover).toBe(true);
      expect(await pttl('c')).toBeGreaterThan(9_000); // the record now lives to the new lease's end
      expect(await pttl('c')).toBeLessThanOrEqual(10_000);
      expect(await store.complete('c', c.leaseId, 'fenced', 30_000)).toBe(false);
      expect(await store.complete('c', taken.leaseId, 'ok', 30_000)).toBe(true);
      expect(await pttl('c')).toBeGreaterThan(29_000);
      expect(await pttl('c')).toBeLessThanOrEqual(30_000);
    });

    test('Redis drops an expired record by itself (real 80 ms TTL); the key is new again', async () => {
      const client = connect();
      const prefix = uniquePrefix('real-ttl');
      const store = new RedisIdempotencyStore(client, { prefix }); // real clock
      const lease = acquired(await store.claim(req('short', 'fp', 40, 80)));
      expect(await store.complete('short', lease.leaseId, 'soon gone', 80)).toBe(true);
      expect(await store.claim(req('short', 'fp', 40, 80))).toEqual({ status: 'completed', result: 'soon gone' });
      const deadline = Date.now() + 2_000;
      while ((await client.exists(`${prefix}{short}`)) === 1) {
        if (Date.now() > deadline) throw new Error('Redis kept the record for 2 s past an 80 ms TTL');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await store.get('short')).toBeUndefined();
      expect(acquired(await store.claim(req('short', 'fp2', 40, 80))).takeover).toBe(false);
    });
  });

  describe('the commands of one event-loop turn go to Redis as one pipeline', () => {
    /** redis-server's count of socket reads so far (INFO stats), asked on a connection of its own. */
    async function readsProcessed(): Promise<number> {
      const info = await connect().info('stats');
      const found = /total_reads_processed:(\d+)/.exec(info);
      if (!found) throw new Error('INFO stats has no total_reads_processed (redis-server 6.2 or later needed)');
      return Number(found[1]);
    }

    test('50 concurrent claims: a few socket reads in Redis, not 50, and each claim its own answer', async () => {
      const client = connect();
      const store = new RedisIdempotencyStore(client, { prefix: uniquePrefix('batch'), clock: new ManualClock(T0) });
      acquired(await store.claim(req('warm-up'))); // connected, scripts loaded
      const before = await readsProcessed();
      // 48 new keys, and one key claimed twice within the same turn.
      const claims = await Promise.all([
        ...Array.from({ length: 48 }, (_, i) => store.claim(req(`key-${i}`))),
        store.claim(req('twice')),
        store.claim(req('twice')),
      ]);
      const reads = (await readsProcessed()) - before;
      // The INFO connection's own read and this batch's; a read split in two is still far from 50.
      expect(reads).toBeLessThanOrEqual(6);
      expect(claims.slice(0, 48).every((c) => c.status === 'acquired')).toBe(true);
      expect(new Set(claims.slice(0, 48).map((c) => acquired(c).leaseId)).size).toBe(48);
      expect(claims.slice(48).map((c) => c.status)).toEqual(['acquired', 'in_progress']);
    });

    test('a command that fails in Redis fails alone: the others of its pipeline get their answers', async () => {
      const client = connect();
      const prefix = uniquePrefix('batch-error');
      const store = new RedisIdempotencyStore(client, { prefix, clock: new ManualClock(T0) });
      await client.set(`${prefix}{corrupt}`, 'not json');
      const results = await Promise.allSettled([store.claim(req('a')), store.claim(req('corrupt')), store.claim(req('b'))]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const error = (results[1] as PromiseRejectedResult).reason;
      expect(isIdempotencyError(error) && error.code).toBe('STORE_UNAVAILABLE');
      const lease = acquired((results[0] as PromiseFulfilledResult<IdempotencyClaim>).value).leaseId;
      expect(await store.complete('a', lease, { ok: 1 }, TTL)).toBe(true);
    });

    test('on a client with enableAutoPipelining, two claims of one key in one turn: one acquired, one in progress', async () => {
      const store = new RedisIdempotencyStore(connect(server.url, { enableAutoPipelining: true }), { prefix: uniquePrefix('auto') });
      const claims = await Promise.all([store.claim(req('x')), store.claim(req('x')), store.claim(req('y'))]);
      expect(claims.map((c) => c.status)).toEqual(['acquired', 'in_progress', 'acquired']);
    });
  });

  describe('one round trip per operation', () => {
    let monitorClient: Redis;
    const seen: Array<{ args: string[]; source: string }> = [];

    beforeAll(async () => {
      monitorClient = connect();
      const monitor = await monitorClient.monitor();
      monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ args, source }));
      clients.push(monitor);
    });

    /** The commands `client` sent while `fn` ran (between two ECHO markers on the same connection). */
    async function commandsDuring(client: Redis, fn: () => Promise<unknown>): Promise<string[]> {
      const id = `${Date.now()}-${Math.random()}`;
      await client.echo(`mark-start-${id}`);
      await fn();
      await client.echo(`mark-end-${id}`);
      const deadline = Date.now() + 2_000;
      const find = (marker: string) => seen.findIndex((e) => e.args[0]?.toLowerCase() === 'echo' && e.args[1] === marker);
      while (find(`mark-end-${id}`) === -1) {
        if (Date.now() > deadline) throw new Error('MONITOR never showed the end marker');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const start = find(`mark-start-${id}`);
      const end = find(`mark-end-${id}`);
      const source = seen[start]!.source;
      return seen
        .slice(start + 1, end)
        .filter((e) => e.source === source)
        .map((e) => e.args[0]!.toLowerCase());
    }

    test('claim (new, in progress, completed, mismatch, takeover), complete, release and get: one command each', async () => {
      const client = connect();
      await client.ping();
      const clock = new ManualClock(T0);
      const store = new RedisIdempotencyStore(client, { prefix: uniquePrefix('rtt'), clock });
      const script = (commands: string[]) => {
        expect(commands).toHaveLength(1);
        expect(['eval', 'evalsha']).toContain(commands[0]);
      };

      let lease: string | undefined;
      script(await commandsDuring(client, async () => (lease = acquired(await store.claim(req('k'))).leaseId)));
      script(await commandsDuring(client, () => store.claim(req('k')))); // in progress
      script(await commandsDuring(client, () => store.claim(req('k', 'other')))); // mismatch
      await clock.advance(LEASE);
      script(await commandsDuring(client, async () => (lease = acquired(await store.claim(req('k'))).leaseId))); // takeover
      script(await commandsDuring(client, () => store.complete('k', lease!, { ok: true }, TTL)));
      script(await commandsDuring(client, () => store.claim(req('k')))); // completed
      const l2 = acquired(await store.claim(req('k2'))).leaseId;
      script(await commandsDuring(client, () => store.release('k2', l2)));
      expect(await commandsDuring(client, () => store.get('k'))).toEqual(['get']);

      // After the first call on a connection ioredis sends the cached script's SHA, not the source.
      expect(await commandsDuring(client, () => store.claim(req('k3')))).toEqual(['evalsha']);
    });

    test('after SCRIPT FLUSH the scripts are sent again and the store keeps working', async () => {
      const client = connect();
      const store = new RedisIdempotencyStore(client, { prefix: uniquePrefix('flush'), clock: new ManualClock(T0) });
      acquired(await store.claim(req('before')));
      await client.script('FLUSH');
      const lease = acquired(await store.claim(req('after')));
      expect(await store.complete('after', lease.leaseId, 'ok', TTL)).toBe(true);
      expect(await store.claim(req('after'))).toEqual({ status: 'completed', result: 'ok' });
    });
  });

  describe('several instances on one Redis', () => {
    test('50 concurrent claims across two stores on two clients: exactly one acquired', async () => {
      const prefix = uniquePrefix('two');
      const clock = new ManualClock(T0);
      const a = new RedisIdempotencyStore(connect(), { prefix, clock });
      const b = new RedisIdempotencyStore(connect(), { prefix, clock });
      await Promise.all([a.get('warm'), b.get('warm')]); // both connected, so neither gets a head start
      const claims = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).claim(req('shared'))));
      expect(claims.filter((c) => c.status === 'acquired')).toHaveLength(1);
      expect(claims.filter((c) => c.status === 'in_progress')).toHaveLength(49);
    });

    test('a takeover and fencing work across instances; a result stored by one replays on the other', async () => {
      const prefix = uniquePrefix('two-fence');
      const clock = new ManualClock(T0);
      const a = new RedisIdempotencyStore(connect(), { prefix, clock });
      const b = new RedisIdempotencyStore(connect(), { prefix, clock });
      const first = acquired(await a.claim(req('job')));
      await clock.advance(LEASE);
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim(req('job'))));
      const winners = claims.filter((c) => c.status === 'acquired');
      expect(winners).toHaveLength(1);
      const winner = acquired(winners[0]!);
      expect(winner.takeover).toBe(true);
      expect(await a.complete('job', first.leaseId, 'stale', TTL)).toBe(false);
      expect(await b.complete('job', winner.leaseId, 'fresh', TTL)).toBe(true);
      expect(await a.claim(req('job'))).toEqual({ status: 'completed', result: 'fresh' });
    });
  });

  describe('failures: STORE_UNAVAILABLE within commandTimeoutMs', () => {
    test('a paused server (SIGSTOP): every operation fails within the timeout; late answers are ignored', async () => {
      const paused = await startRedisServer();
      try {
        const client = connect(paused.url); // ioredis defaults: offline queue, 20 retries per request
        const store = new RedisIdempotencyStore(client, { prefix: uniquePrefix('paused'), commandTimeoutMs: 300 });
        const lease = acquired(await store.claim(req('k', 'fp', 60_000, TTL)));

        const unhandled = await withUnhandledRejections(async () => {
          paused.process.kill('SIGSTOP');
          const started = Date.now();
          const errors = await Promise.all([
            expectUnavailable(store.claim(req('k2'))),
            expectUnavailable(store.complete('k', lease.leaseId, 'x', TTL)),
            expectUnavailable(store.release('k', lease.leaseId)),
            expectUnavailable(store.get('k')),
            expectUnavailable(store.stats()),
            expectUnavailable(store.clear()),
          ]);
          const elapsed = Date.now() - started;
          expect(elapsed).toBeGreaterThanOrEqual(290);
          expect(elapsed).toBeLessThan(1_000);
          expect(errors[0].message).toMatch(/did not answer .* within 300 ms/);
          // The server wakes and answers the abandoned commands: nothing breaks, nothing leaks.
          paused.process.kill('SIGCONT');
          expect(await client.ping()).toBe('PONG');
        });
        expect(unhandled).toEqual([]);
      } finally {
        await paused.stop();
      }
    });

    test("the timeout runs on the store's clock", async () => {
      const paused = await startRedisServer();
      try {
        const client = connect(paused.url);
        await client.ping();
        const clock = new ManualClock(T0);
        const store = new RedisIdempotencyStore(client, { prefix: uniquePrefix('manual-timeout'), commandTimeoutMs: 1_000, clock });
        paused.process.kill('SIGSTOP');
        let outcome: unknown = 'pending';
        const claim = store.claim(req('k')).then(
          (value) => (outcome = value),
          (error: unknown) => (outcome = error),
        );
        await clock.advance(999);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(outcome).toBe('pending');
        await clock.advance(1);
        await claim;
        expect(isIdempotencyError(outcome) && outcome.code).toBe('STORE_UNAVAILABLE');
        expect(clock.pendingTimers).toBe(0);
        paused.process.kill('SIGCONT');
        await client.ping();
      } finally {
        await paused.stop();
      }
    });

    test('a server that went down (client with default retry settings) fails within the timeout', async () => {
      const doomed = await startRedisServer();
      const client = connect(doomed.url);
      const store = new RedisIdempotencyStore(client, { prefix: uniquePrefix('down'), commandTimeoutMs: 300 });
      acquired(await store.claim(req('k')));
      await doomed.stop();
      const unhandled = await withUnhandledRejections(async () => {
        const started = Date.now();
        await expectUnavailable(store.claim(req('k2')));
        await expectUnavailable(store.get('k'));
        expect(Date.now() - started).toBeLessThan(1_500);
        // The commands still wait in ioredis' offline queue; closing the client rejects them.
        client.disconnect();
      });
      expect(unhandled).toEqual([]);
    });

    test('a server never reached (nothing listening) fails within the timeout', async () => {
      const port = await freePort();
      const client = connect(`redis://127.0.0.1:${port}`);
      const store = new RedisIdempotencyStore(client, { prefix: uniquePrefix('never'), commandTimeoutMs: 250 });
      const unhandled = await withUnhandledRejections(async () => {
        const started = Date.now();
        await expectUnavailable(store.claim(req('k')));
        const elapsed = Date.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(240);
        expect(elapsed).toBeLessThan(1_000);
        client.disconnect();
      });
      expect(unhandled).toEqual([]);
    });

    test('a client with maxRetriesPerRequest: 0 fails at once, before the timeout, with the cause', async () => {
      const port = await freePort();
      const client = connect(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
      const store = new RedisIdempotencyStore(client, { prefix: uniquePrefix('no-queue'), commandTimeoutMs: 5_000 });
      const started = Date.now();
      const error = await expectUnavailable(store.claim(req('k')));
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(error.cause).toBeInstanceOf(Error);
      client.disconnect();
    });

    test('a closed client fails at once with the cause', async () => {
      const client = connect();
      const store = new RedisIdempotencyStore(client, { prefix: uniquePrefix('closed') });
      await client.quit();
      const error = await expectUnavailable(store.claim(req('k')));
      expect(String((error.cause as Error).message)).toMatch(/closed/i);
    });

    test('a Redis error (wrong type, or not a record under the prefix) is STORE_UNAVAILABLE with the cause', async () => {
      const client = connect();
      const prefix = uniquePrefix('bad');
      const store = new RedisIdempotencyStore(client, { prefix });
      await client.lpush(`${prefix}{list}`, 'x');
      await client.set(`${prefix}{junk}`, 'not json');
      const wrongType = await expectUnavailable(store.claim(req('list')));
      expect(String((wrongType.cause as Error).message)).toMatch(/WRONGTYPE/);
      const junk = await expectUnavailable(store.claim(req('junk')));
      expect(String((junk.cause as Error).message)).toMatch(/not an idempotency record/);
      await expectUnavailable(store.get('junk'));
      // stats skips what is not a record
      expect(await store.stats()).toEqual({ entries: 0, inProgress: 0, completed: 0 });
    });
  });

  describe('construction', () => {
    test('refuses a non-client and a bad commandTimeoutMs', () => {
      expect(() => new RedisIdempotencyStore({} as never)).toThrow(TypeError);
      expect(() => new RedisIdempotencyStore(connect(), { commandTimeoutMs: 0 })).toThrow(TypeError);
      expect(() => new RedisIdempotencyStore(connect(), { commandTimeoutMs: Number.NaN })).toThrow(TypeError);
    });

    test('a non-serialisable result is refused before anything is sent', async () => {
      const store = new RedisIdempotencyStore(connect(), { prefix: uniquePrefix('bigint'), clock: new ManualClock(T0) });
      const lease = acquired(await store.claim(req('k')));
      await expect(store.complete('k', lease.leaseId, { n: 1n }, TTL)).rejects.toThrow(TypeError);
      expect((await store.get('k'))?.state).toBe('in_progress');
    });

    test('the adapter imports ioredis for its types only (ioredis is an optional peer)', () => {
      const dir = new URL('../../adapters/redis/', import.meta.url);
      for (const file of readdirSync(dir).filter((f) => f === 'index.ts' || f === 'idempotency-store.ts')) {
        const source = readFileSync(new URL(file, dir), 'utf8');
        const code = source.split('\n').filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)); // not comment lines
        for (const line of code.filter((l) => /from ['"]ioredis['"]|require\(['"]ioredis['"]\)|import\(['"]ioredis['"]\)/.test(l))) {
          expect(line, `${file}: ${line}`).toMatch(/^import type /);
        }
      }
    });
  });
});

describe('RedisIdempotencyStore on a Redis Cluster (3 masters)', () => {
  let cluster: RedisCluster;
  const clusterClients: Cluster[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  }, 30_000);

  afterAll(async () => {
    for (const c of clusterClients) c.disconnect();
    await cluster?.stop();
  });

  function connectCluster(): Cluster {
    const client = new Cluster(cluster.startupNodes);
    client.on('error', () => {});
    clusterClients.push(client);
    return client;
  }

  describeIdempotencyStoreContract('RedisIdempotencyStore on a Redis Cluster', async ({ clock }) => {
    const client = connectCluster();
    return {
      store: new RedisIdempotencyStore(client, { prefix: uniquePrefix('cluster'), clock }),
      close: async () => client.disconnect(),
    };
  });

  test('records spread over the masters by key; stats and clear cover every master', async () => {
    const client = connectCluster();
    const prefix = uniquePrefix('cluster-spread');
    const store = new RedisIdempotencyStore(client, { prefix, clock: new ManualClock(T0) });
    const claims = await Promise.all(Array.from({ length: 90 }, (_, i) => store.claim(req(`order-${i}`))));
    await Promise.all(claims.slice(0, 30).map((c, i) => store.complete(`order-${i}`, acquired(c).leaseId, { i }, TTL)));
    const perNode = await Promise.all(client.nodes('master').map((node) => node.keys(`${prefix}*`)));
    expect(perNode).toHaveLength(3);
    for (const keys of perNode) expect(keys.length).toBeGreaterThan(0);
    expect(perNode.flat()).toHaveLength(90);

    expect(await store.stats()).toEqual({ entries: 90, inProgress: 60, completed: 30 });
    await store.clear();
    expect(await store.stats()).toEqual({ entries: 0, inProgress: 0, completed: 0 });
    for (const node of client.nodes('master')) expect(await node.keys(`${prefix}*`)).toEqual([]);
  });

  test('50 concurrent claims across two Cluster clients: exactly one acquired', async () => {
    const prefix = uniquePrefix('cluster-two');
    const clock = new ManualClock(T0);
    const a = new RedisIdempotencyStore(connectCluster(), { prefix, clock });
    const b = new RedisIdempotencyStore(connectCluster(), { prefix, clock });
    const claims = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).claim(req('shared'))));
    expect(claims.filter((c) => c.status === 'acquired')).toHaveLength(1);
  });
});
