// The IdempotencyStore contract, as a reusable suite: every store (memory, Redis, …) runs it through
// `describeIdempotencyStoreContract`. Not a test file by itself. It runs in Node and in the browser,
// so it imports nothing Node-only.
//
// Time is a ManualClock that the store is built with: leases and record expiry follow it. TTLs and
// leases here are long in real terms (a store may also expire records by real time, as Redis does),
// and only the manual clock moves past them.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  type IdempotencyClaim,
  type IdempotencyClaimRequest,
  type IdempotencyStore,
  ManualClock,
} from 'closed-loop';

/** What a contract run gets from its store factory. */
export interface ContractStore {
  store: IdempotencyStore;
  /** Called after each test (close connections). */
  close?: () => Promise<void>;
}

/** Builds a fresh, empty store on `clock` (a store per test; stores must not see each other's keys). */
export type MakeContractStore = (opts: { clock: ManualClock }) => Promise<ContractStore>;

const T0 = Date.UTC(2025, 0, 1); // a realistic epoch-ms start: stores may keep times as numbers
const LEASE = 5_000;
const TTL = 60_000;

function req(key: string, fingerprint = 'fp-1', leaseMs = LEASE, ttlMs = TTL): IdempotencyClaimRequest {
  return { key, fingerprint, leaseMs, ttlMs };
}

function acquired(claim: IdempotencyClaim): Extract<IdempotencyClaim, { status: 'acquired' }> {
  if (claim.status !== 'acquired') throw new Error(`expected acquired, got ${JSON.stringify(claim)}`);
  return claim;
}

/**
 * Declares the IdempotencyStore contract suite for one store. `clear` and `stats` are optional in the
 * interface; this suite expects them (every store of this package has them).
 *
 * @param name - the suite's name
 * @param makeStore - a fresh, empty store per test, built on the given clock
 */
export function describeIdempotencyStoreContract(name: string, makeStore: MakeContractStore): void {
  describe(`IdempotencyStore contract: ${name}`, () => {
    let clock: ManualClock;
    let store: IdempotencyStore;
    let close: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      clock = new ManualClock(T0);
      const made = await makeStore({ clock });
      store = made.store;
      close = made.close;
    });

    afterEach(async () => {
      await close?.();
    });

    describe('claim', () => {
      test('a new key is acquired with a lease id, and get shows it in progress', async () => {
        const claim = acquired(await store.claim(req('k1')));
        expect(typeof claim.leaseId).toBe('string');
        expect(claim.leaseId.length).toBeGreaterThan(0);
        expect(claim.takeover).toBe(false);
        const record = await store.get('k1');
        expect(record).toMatchObject({
          key: 'k1',
          fingerprint: 'fp-1',
          state: 'in_progress',
          leaseId: claim.leaseId,
          leaseExpiresAt: T0 + LEASE,
          expiresAt: T0 + TTL,
        });
        expect(record?.result).toBeUndefined();
      });

      test('an in-progress record lives for max(ttlMs, leaseMs) from the claim', async () => {
        acquired(await store.claim(req('short-ttl', 'fp', 10_000, 2_000)));
        expect((await store.get('short-ttl'))?.expiresAt).toBe(T0 + 10_000);
        await clock.advance(5_000); // past the ttl, inside the lease: still held
        expect(await store.claim(req('short-ttl', 'fp', 10_000, 2_000))).toEqual({
          status: 'in_progress',
          leaseExpiresAt: T0 + 10_000,
        });
      });

      test('of 50 concurrent claims of one key exactly one is acquired; the others see the lease', async () => {
        const claims = await Promise.all(Array.from({ length: 50 }, () => store.claim(req('race'))));
        const winners = claims.filter((c) => c.status === 'acquired');
        expect(winners).toHaveLength(1);
        for (const c of claims) {
          if (c.status !== 'acquired') expect(c).toEqual({ status: 'in_progress', leaseExpiresAt: T0 + LEASE });
        }
      });

      test('the same key while the lease lives is in_progress with leaseExpiresAt', async () => {
        const first = acquired(await store.claim(req('busy')));
        await clock.advance(LEASE - 1);
        expect(await store.claim(req('busy'))).toEqual({ status: 'in_progress', leaseExpiresAt: T0 + LEASE });
        // Nothing changed: the first holder still holds it.
        expect((await store.get('busy'))?.leaseId).toBe(first.leaseId);
      });

      test('a different fingerprint under the key is a mismatch, in flight and completed, and changes nothing', async () => {
        const first = acquired(await store.claim(req('mm', 'fp-a')));
        const before = await store.get('mm');
        expect(await store.claim(req('mm', 'fp-b'))).toEqual({ status: 'mismatch' });
        expect(await store.get('mm')).toEqual(before);

        expect(await store.complete('mm', first.leaseId, { ok: 1 }, TTL)).toBe(true);
        const completed = await store.get('mm');
        expect(await store.claim(req('mm', 'fp-b'))).toEqual({ status: 'mismatch' });
        expect(await store.get('mm')).toEqual(completed);
        // Mismatch wins over an expired lease too: a different request never takes over.
        const other = acquired(await store.claim(req('mm2', 'fp-a')));
        await clock.advance(LEASE);
        expect(await store.claim(req('mm2', 'fp-b'))).toEqual({ status: 'mismatch' });
        expect((await store.get('mm2'))?.leaseId).toBe(other.leaseId);
      });

      test('keys are independent, whatever characters they hold', async () => {
        const keys = ['a', 'b', 'with space', 'curly{}}{', '*?[glob]\\', 'scope:a:key', 'ünï©ødé-🔑', 'x'.repeat(255)];
        const claims = await Promise.all(keys.map((k) => store.claim(req(k))));
        for (const c of claims) expect(c.status).toBe('acquired');
        for (const k of keys) expect((await store.get(k))?.key).toBe(k);
        // Completing one leaves the others in progress.
        expect(await store.complete(keys[3]!, acquired(claims[3]!).leaseId, 'done', TTL)).toBe(true);
        expect((await store.get(keys[3]!))?.state).toBe('completed');
        expect((await store.get(keys[4]!))?.state).toBe('in_progress');
        expect((await store.get(keys[2]!))?.state).toBe('in_progress');
      });
    });

    describe('complete', () => {
      const results: Array<[string, unknown]> = [
        ['a nested object', { order: { id: 'o-1', lines: [{ sku: 'A', qty: 2 }, { sku: 'B', qty: 1 }], meta: {} }, empty: [] }],
        ['a base64 string', 'SGVsbG8sIFdvcmxkIS8rPT0/Pz4+PDw8Li4uLi4uLg+/+A=='],
        ['an HTTP response shape', { status: 201, headers: { 'content-type': 'application/json' }, body: 'eyJpZCI6MX0=' }],
        ['text with quotes, slashes, newlines and unicode', 'a "quoted" \\ back/slash\nline\ttab ünï©ødé 🔑 \u0000 \u2028'],
        ['numbers', { int: 9007199254740991, neg: -42, float: 0.1 + 0.2, exp: 1e-7, zero: 0 }],
        ['an empty array', []],
        ['null', null],
        ['false', false],
        ['an empty string', ''],
      ];
      for (const [label, result] of results) {
        test(`the stored result comes back from claim and get: ${label}`, async () => {
          const lease = acquired(await store.claim(req('r')));
          expect(await store.complete('r', lease.leaseId, result, TTL)).toBe(true);
          expect(await store.claim(req('r'))).toEqual({ status: 'completed', result });
          const record = await store.get('r');
          expect(record?.state).toBe('completed');
          expect(record?.result).toEqual(result);
        });
      }

      test('an undefined result is completed with an undefined result', async () => {
        const lease = acquired(await store.claim(req('u')));
        expect(await store.complete('u', lease.leaseId, undefined, TTL)).toBe(true);
        const claim = await store.claim(req('u'));
        expect(claim.status).toBe('completed');
        expect((claim as { result?: unknown }).result).toBeUndefined();
      });

      test('a completed record drops its lease and lives ttlMs from completion', async () => {
        const lease = acquired(await store.claim(req('c', 'fp', LEASE, 20_000)));
        await clock.advance(1_000);
        expect(await store.complete('c', lease.leaseId, { n: 1 }, 20_000)).toBe(true);
        const record = await store.get('c');
        expect(record).toMatchObject({ key: 'c', fingerprint: 'fp', state: 'completed', expiresAt: T0 + 1_000 + 20_000 });
        expect(record?.leaseId).toBeUndefined();
        expect(record?.leaseExpiresAt).toBeUndefined();
        await clock.advance(20_000 - 1);
        expect((await store.claim(req('c', 'fp', LEASE, 20_000))).status).toBe('completed');
      });

      test('complete with a wrong lease id, on an unknown key, or twice resolves false and changes nothing', async () => {
        const lease = acquired(await store.claim(req('w')));
        expect(await store.complete('w', 'not-the-lease', 'x', TTL)).toBe(false);
        expect(await store.complete('unknown', lease.leaseId, 'x', TTL)).toBe(false);
        expect((await store.get('w'))?.state).toBe('in_progress');
        expect(await store.complete('w', lease.leaseId, 'first', TTL)).toBe(true);
        expect(await store.complete('w', lease.leaseId, 'second', TTL)).toBe(false);
        expect((await store.get('w'))?.result).toBe('first');
      });

      test('a holder past its lease can still complete while nobody took over', async () => {
        const lease = acquired(await store.claim(req('late')));
        await clock.advance(LEASE + 1_000);
        expect(await store.complete('late', lease.leaseId, 'late but fine', TTL)).toBe(true);
        expect(await store.claim(req('late'))).toEqual({ status: 'completed', result: 'late but fine' });
      });
    });

    describe('takeover and fencing', () => {
      test('after the lease expires exactly one of 20 concurrent claimants takes over, with a new lease id', async () => {
        const first = acquired(await store.claim(req('t')));
        await clock.advance(LEASE);
        const claims = await Promise.all(Array.from({ length: 20 }, () => store.claim(req('t'))));
        const winners = claims.filter((c) => c.status === 'acquired');
        expect(winners).toHaveLength(1);
        const winner = acquired(winners[0]!);
        expect(winner.takeover).toBe(true);
        expect(winner.leaseId).not.toBe(first.leaseId);
        const newExpiry = T0 + LEASE + LEASE;
        for (const c of claims) if (c !== winner) expect(c).toEqual({ status: 'in_progress', leaseExpiresAt: newExpiry });
        expect(await store.get('t')).toMatchObject({ state: 'in_progress', leaseId: winner.leaseId, leaseExpiresAt: newExpiry });
      });

      test('a takeover lengthens the record when the lease outlives it, and never shortens it', async () => {
        acquired(await store.claim(req('tl', 'fp', 10_000, 12_000)));
        await clock.advance(10_000);
        acquired(await store.claim(req('tl', 'fp', 10_000, 12_000)));
        expect((await store.get('tl'))?.expiresAt).toBe(T0 + 20_000);

        acquired(await store.claim(req('tk')));
        await clock.advance(LEASE);
        acquired(await store.claim(req('tk')));
        expect((await store.get('tk'))?.expiresAt).toBe(T0 + 10_000 + TTL);
      });

      test("the old holder's complete and release after a takeover resolve false and change nothing", async () => {
        const old = acquired(await store.claim(req('f')));
        await clock.advance(LEASE);
        const current = acquired(await store.claim(req('f')));
        const before = await store.get('f');

        expect(await store.complete('f', old.leaseId, 'stale result', TTL)).toBe(false);
        expect(await store.get('f')).toEqual(before);
        expect(await store.release('f', old.leaseId)).toBe(false);
        expect(await store.get('f')).toEqual(before);

        expect(await store.complete('f', current.leaseId, 'fresh result', TTL)).toBe(true);
        expect(await store.complete('f', old.leaseId, 'stale result', TTL)).toBe(false);
        expect(await store.release('f', old.leaseId)).toBe(false);
        expect(await store.claim(req('f'))).toEqual({ status: 'completed', result: 'fresh result' });
      });

      test('a completed record is never taken over, however old', async () => {
        const lease = acquired(await store.claim(req('done')));
        expect(await store.complete('done', lease.leaseId, 1, TTL)).toBe(true);
        await clock.advance(TTL - 1);
        expect(await store.claim(req('done'))).toEqual({ status: 'completed', result: 1 });
      });
    });

    describe('release', () => {
      test('release makes the key new again', async () => {
        const lease = acquired(await store.claim(req('rel')));
        expect(await store.release('rel', lease.leaseId)).toBe(true);
        expect(await store.get('rel')).toBeUndefined();
        const again = acquired(await store.claim(req('rel', 'another-fingerprint')));
        expect(again.takeover).toBe(false);
        expect(again.leaseId).not.toBe(lease.leaseId);
      });

      test('release with a wrong lease id, twice, or of a completed record resolves false and changes nothing', async () => {
        const lease = acquired(await store.claim(req('rel2')));
        expect(await store.release('rel2', 'nope')).toBe(false);
        expect((await store.get('rel2'))?.leaseId).toBe(lease.leaseId);
        expect(await store.release('rel2', lease.leaseId)).toBe(true);
        expect(await store.release('rel2', lease.leaseId)).toBe(false);
        expect(await store.release('never-claimed', lease.leaseId)).toBe(false);

        const l3 = acquired(await store.claim(req('rel3')));
        expect(await store.complete('rel3', l3.leaseId, 'kept', TTL)).toBe(true);
        expect(await store.release('rel3', l3.leaseId)).toBe(false);
        expect(await store.claim(req('rel3'))).toEqual({ status: 'completed', result: 'kept' });
      });
    });

    describe('expiry', () => {
      test('after ttlMs a completed key is new again', async () => {
        const lease = acquired(await store.claim(req('ttl', 'fp', LEASE, 30_000)));
        expect(await store.complete('ttl', lease.leaseId, 'old', 30_000)).toBe(true);
        await clock.advance(30_000);
        expect(await store.get('ttl')).toBeUndefined();
        const again = acquired(await store.claim(req('ttl', 'a-different-fingerprint', LEASE, 30_000)));
        expect(again.takeover).toBe(false);
      });

      test('an abandoned in-progress record expires too, and its old lease cannot complete it', async () => {
        const lease = acquired(await store.claim(req('gone', 'fp', LEASE, 20_000)));
        await clock.advance(20_000);
        expect(await store.get('gone')).toBeUndefined();
        expect(await store.complete('gone', lease.leaseId, 'too late', TTL)).toBe(false);
        expect(acquired(await store.claim(req('gone'))).takeover).toBe(false);
      });
    });

    describe('get, clear, stats', () => {
      test('get of an unknown key is undefined', async () => {
        expect(await store.get('nothing-here')).toBeUndefined();
      });

      test('stats counts live records by state; expired ones are not counted', async () => {
        expect(await store.stats!()).toEqual({ entries: 0, inProgress: 0, completed: 0 });
        const a = acquired(await store.claim(req('s-a')));
        acquired(await store.claim(req('s-b')));
        acquired(await store.claim(req('s-c', 'fp', LEASE, 10_000)));
        expect(await store.complete('s-a', a.leaseId, 'A', TTL)).toBe(true);
        expect(await store.stats!()).toEqual({ entries: 3, inProgress: 2, completed: 1 });
        await clock.advance(10_000); // s-c's record expires
        expect(await store.stats!()).toEqual({ entries: 2, inProgress: 1, completed: 1 });
      });

      test('clear drops every record: every key is new again', async () => {
        const keys = Array.from({ length: 30 }, (_, i) => `clear-${i}`);
        const claims = await Promise.all(keys.map((k) => store.claim(req(k))));
        await store.complete(keys[0]!, acquired(claims[0]!).leaseId, 'x', TTL);
        await store.clear!();
        expect(await store.stats!()).toEqual({ entries: 0, inProgress: 0, completed: 0 });
        for (const k of keys.slice(0, 3)) expect(await store.get(k)).toBeUndefined();
        expect(acquired(await store.claim(req(keys[0]!))).takeover).toBe(false);
        // The cleared holder's lease is gone with its record.
        expect(await store.complete(keys[1]!, acquired(claims[1]!).leaseId, 'x', TTL)).toBe(false);
      });
    });
  });
}
