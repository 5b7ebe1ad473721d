// Behaviours of MemoryIdempotencyStore beyond the shared store contract (store-contract.ts):
// its bound, its eviction of expired records, and what it refuses to evict.
import { describe, expect, test } from 'vitest';
import {
  IdempotencyError,
  type IdempotencyClaim,
  type IdempotencyClaimRequest,
  isIdempotencyError,
  ManualClock,
  MemoryIdempotencyStore,
} from '../../src/index.js';

const TTL = 60_000;
const LEASE = 5_000;

function request(key: string, overrides: Partial<IdempotencyClaimRequest> = {}): IdempotencyClaimRequest {
  return { key, fingerprint: `fp-${key}`, leaseMs: LEASE, ttlMs: TTL, ...overrides };
}

function acquired(claim: IdempotencyClaim): string {
  if (claim.status !== 'acquired') throw new Error(`expected acquired, got ${claim.status}`);
  return claim.leaseId;
}

/** Claims and completes `key` with `result`. */
async function store(s: MemoryIdempotencyStore, key: string, result: unknown = { key }, ttlMs = TTL): Promise<void> {
  const leaseId = acquired(await s.claim(request(key, { ttlMs })));
  expect(await s.complete(key, leaseId, result, ttlMs)).toBe(true);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('MemoryIdempotencyStore: options', () => {
  test.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10'])('maxEntries %s is a TypeError', (maxEntries) => {
    expect(() => new MemoryIdempotencyStore({ maxEntries: maxEntries as number })).toThrow(TypeError);
    expect(() => new MemoryIdempotencyStore({ maxEntries: maxEntries as number })).toThrow(/maxEntries/);
  });

  test('maxEntries 1 and no options at all are accepted', async () => {
    expect(new MemoryIdempotencyStore({ maxEntries: 1 })).toBeInstanceOf(MemoryIdempotencyStore);
    const s = new MemoryIdempotencyStore();
    expect((await s.claim(request('a'))).status).toBe('acquired');
  });
});

describe('MemoryIdempotencyStore: maxEntries bound', () => {
  test('holds under 10 000 distinct completed keys', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ maxEntries: 100, clock });
    let largest = 0;
    for (let i = 0; i < 10_000; i++) {
      await store(s, `key-${i}`);
      largest = Math.max(largest, s.size);
      if (i % 7 === 0) await clock.advance(1); // time moves, but nothing expires (TTL is a minute)
    }
    expect(largest).toBe(100);
    expect(s.size).toBe(100);
    expect((await s.stats()).entries).toBe(100);
  });

  test('the newest records are kept; the oldest completed ones made room', async () => {
    const s = new MemoryIdempotencyStore({ maxEntries: 10, clock: new ManualClock() });
    for (let i = 0; i < 25; i++) await store(s, `key-${i}`, { n: i });
    for (let i = 15; i < 25; i++) {
      expect(await s.claim(request(`key-${i}`)), `key-${i}`).toEqual({ status: 'completed', result: { n: i } });
    }
    expect(await s.get('key-0')).toBeUndefined();
    expect(await s.get('key-14')).toBeUndefined();
  });

  test('eviction goes by claim time, not by completion time', async () => {
    const s = new MemoryIdempotencyStore({ maxEntries: 3, clock: new ManualClock() });
    const leases: string[] = [];
    for (const key of ['k0', 'k1', 'k2']) leases.push(acquired(await s.claim(request(key))));
    // Completed newest first: k0 was claimed first and completed last.
    for (const i of [2, 1, 0]) expect(await s.complete(`k${i}`, leases[i]!, { n: i }, TTL)).toBe(true);
    acquired(await s.claim(request('k3')));
    expect(await s.get('k0')).toBeUndefined();
    expect((await s.get('k1'))?.result).toEqual({ n: 1 });
    expect((await s.get('k2'))?.result).toEqual({ n: 2 });
  });

  test('holds under 10 000 distinct keys claimed and released', async () => {
    const s = new MemoryIdempotencyStore({ maxEntries: 50, clock: new ManualClock() });
    for (let i = 0; i < 10_000; i++) {
      const leaseId = acquired(await s.claim(request(`key-${i}`)));
      if (i % 2 === 0) await s.release(`key-${i}`, leaseId);
      else await s.complete(`key-${i}`, leaseId, i, TTL);
      expect(s.size).toBeLessThanOrEqual(50);
    }
  });
});

describe('MemoryIdempotencyStore: expired records are evicted without being read', () => {
  test('after the TTL, claiming another key drops the expired records', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ maxEntries: 1000, clock });
    for (let i = 0; i < 20; i++) await store(s, `old-${i}`, i, 1_000);
    expect(s.size).toBe(20);

    await clock.advance(999);
    await store(s, 'fresh-1', 'x', 1_000);
    expect(s.size).toBe(21); // nothing had expired yet

    await clock.advance(1);
    await store(s, 'fresh-2', 'x', 1_000);
    // Old records went without a get or claim of their keys.
    expect(s.size).toBeLessThan(21);
    for (let i = 3; i < 10; i++) await store(s, `fresh-${i}`, 'x', 1_000);
    // All 20 of them, in a few writes; the fresh ones stay.
    expect(s.size).toBe(9);
    expect(await s.get('fresh-1')).toBeDefined();
  });

  test('a backlog of expired records is cleared by later writes, a bounded amount per write', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ maxEntries: 10_000, clock });
    for (let i = 0; i < 1000; i++) await store(s, `old-${i}`, i, 1_000);
    await clock.advance(2_000);
    await store(s, 'new-0', 0);
    // The first write removed some, not all: one write never pays for the whole backlog.
    expect(s.size).toBeLessThan(1000);
    expect(s.size).toBeGreaterThan(1);
    for (let i = 1; i < 500; i++) await store(s, `new-${i}`, i);
    // Only the 500 new records are left: every old one went without being read.
    expect(s.size).toBe(500);
  });

  test('an expired record behind a live one with a longer TTL is evicted by writes too', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ maxEntries: 10_000, clock });
    // First in the store: a long-lived record, and a claim whose holder never comes back.
    await store(s, 'long', 'L', 3_600_000);
    acquired(await s.claim(request('stuck', { ttlMs: 3_600_000, leaseMs: 1_000 })));
    // Behind them, many short-lived records (another route, another TTL).
    for (let i = 0; i < 500; i++) await store(s, `short-${i}`, i, 1_000);
    await clock.advance(1_000);
    for (let i = 0; i < 500; i++) await store(s, `later-${i}`, i, 3_600_000);
    expect(s.size).toBe(502);
    expect((await s.get('long'))?.result).toBe('L');
    expect((await s.get('stuck'))?.state).toBe('in_progress');
  });

  test('once a sweep pass has cleared a backlog, records that expire later are still evicted', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ maxEntries: 10_000, clock });
    for (let i = 0; i < 100; i++) await store(s, `first-${i}`, i, 1_000);
    await clock.advance(1_000);
    // Enough writes for several whole passes: the first backlog goes, and the passes see only
    // live records with a 5 s TTL.
    for (let i = 0; i < 200; i++) await store(s, `second-${i}`, i, 5_000);
    expect(s.size).toBe(200);
    await clock.advance(5_000);
    for (let i = 0; i < 100; i++) await store(s, `third-${i}`, i, 60_000);
    expect(s.size).toBe(100);
  });

  test('stats counts only live records, whatever order they were written in', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ clock });
    acquired(await s.claim(request('live-claim', { ttlMs: 10_000 })));
    await store(s, 'short', 's', 100);
    acquired(await s.claim(request('short-claim', { ttlMs: 100, leaseMs: 100 })));
    await store(s, 'long', 'l', 10_000);
    expect(await s.stats()).toEqual({ entries: 4, inProgress: 2, completed: 2 });
    await clock.advance(100);
    expect(await s.stats()).toEqual({ entries: 2, inProgress: 1, completed: 1 });
  });

  test('a claimed record that never completed expires after its TTL too', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ clock });
    acquired(await s.claim(request('crashed', { ttlMs: 1_000, leaseMs: 500 })));
    await clock.advance(1_000);
    await store(s, 'other');
    expect(s.size).toBe(1);
    expect(await s.get('crashed')).toBeUndefined();
  });

  test('a full store makes room from expired records wherever they are', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ maxEntries: 3, clock });
    // A live in-flight claim first, then two short-lived records behind it.
    acquired(await s.claim(request('holder', { ttlMs: TTL, leaseMs: TTL })));
    await store(s, 'short-1', 1, 1_000);
    await store(s, 'short-2', 2, 1_000);
    await clock.advance(1_000);
    await store(s, 'next', 3);
    expect(s.size).toBe(2);
    expect((await s.get('holder'))?.state).toBe('in_progress');
    expect((await s.get('next'))?.state).toBe('completed');
  });
});

describe('MemoryIdempotencyStore: live in-flight claims are never evicted', () => {
  test('a full store evicts completed records, never a live claim', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ maxEntries: 5, clock });
    const leases = new Map<string, string>();
    for (const key of ['a', 'b', 'c']) leases.set(key, acquired(await s.claim(request(key))));
    for (let i = 0; i < 50; i++) await store(s, `done-${i}`);
    expect(s.size).toBe(5);
    for (const [key, leaseId] of leases) {
      const record = await s.get(key);
      expect(record?.state, key).toBe('in_progress');
      expect(record?.leaseId, key).toBe(leaseId);
      // A second claimant is still turned away: the handler cannot run twice.
      expect((await s.claim(request(key))).status, key).toBe('in_progress');
      expect(await s.complete(key, leaseId, 'done', TTL), key).toBe(true);
    }
  });

  test('full of live claims: a new claim fails with STORE_UNAVAILABLE and nothing is evicted', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ maxEntries: 3, clock });
    for (const key of ['a', 'b', 'c']) acquired(await s.claim(request(key)));

    const error = await rejection(s.claim(request('d')));
    expect(error).toBeInstanceOf(IdempotencyError);
    expect(isIdempotencyError(error)).toBe(true);
    expect((error as IdempotencyError).code).toBe('STORE_UNAVAILABLE');
    expect((error as IdempotencyError).status).toBe(503);

    expect(s.size).toBe(3);
    for (const key of ['a', 'b', 'c']) expect((await s.get(key))?.state).toBe('in_progress');
    expect(await s.get('d')).toBeUndefined();
    // Claims of keys already held still answer normally.
    expect((await s.claim(request('a'))).status).toBe('in_progress');
  });

  test('room comes back when a claim completes, is released, or its lease lapses', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ maxEntries: 2, clock });
    const a = acquired(await s.claim(request('a')));
    acquired(await s.claim(request('b', { leaseMs: 1_000 })));
    expect((await rejection(s.claim(request('c'))) as IdempotencyError).code).toBe('STORE_UNAVAILABLE');

    // Released: the key leaves at once.
    expect(await s.release('a', a)).toBe(true);
    const c = acquired(await s.claim(request('c')));
    expect((await rejection(s.claim(request('d'))) as IdempotencyError).code).toBe('STORE_UNAVAILABLE');

    // A lapsed lease is no longer a live claim (its holder crashed): it may make room.
    await clock.advance(1_000);
    acquired(await s.claim(request('d')));
    expect(await s.get('b')).toBeUndefined();

    // Completed: the oldest completed record makes room.
    expect(await s.complete('c', c, 'done', TTL)).toBe(true);
    acquired(await s.claim(request('e')));
    expect(await s.get('c')).toBeUndefined();
    expect((await s.get('d'))?.state).toBe('in_progress');
  });

  test('a lease that lapsed while the store was not full is still taken over, not evicted', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ maxEntries: 10, clock });
    const first = acquired(await s.claim(request('a', { leaseMs: 1_000 })));
    await clock.advance(1_000);
    const claim = await s.claim(request('a', { leaseMs: 1_000 }));
    expect(claim).toMatchObject({ status: 'acquired', takeover: true });
    expect(acquired(claim)).not.toBe(first);
    expect(s.size).toBe(1);
  });
});

describe('MemoryIdempotencyStore: get returns a copy', () => {
  test('changing the returned record does not change the store', async () => {
    const clock = new ManualClock();
    const s = new MemoryIdempotencyStore({ clock });
    const leaseId = acquired(await s.claim(request('a')));
    const record = await s.get('a');
    expect(record).toMatchObject({ key: 'a', fingerprint: 'fp-a', state: 'in_progress', leaseId });
    record!.state = 'completed';
    record!.leaseId = 'forged';
    record!.fingerprint = 'other';
    record!.expiresAt = 0;
    record!.leaseExpiresAt = Number.POSITIVE_INFINITY;

    const again = await s.get('a');
    expect(again).toMatchObject({ state: 'in_progress', leaseId, fingerprint: 'fp-a' });
    expect(again!.expiresAt).toBeGreaterThan(0);
    expect(again!.leaseExpiresAt).toBe(LEASE);
    expect(await s.complete('a', 'forged', 'x', TTL)).toBe(false);
    expect(await s.complete('a', leaseId, 'x', TTL)).toBe(true);
  });

  test('each get returns a new object', async () => {
    const s = new MemoryIdempotencyStore({ clock: new ManualClock() });
    await store(s, 'a', { n: 1 });
    const one = await s.get('a');
    const two = await s.get('a');
    expect(one).toEqual(two);
    expect(one).not.toBe(two);
    one!.state = 'in_progress';
    expect((await s.get('a'))!.state).toBe('completed');
  });

  test('get on an unknown key is undefined', async () => {
    const s = new MemoryIdempotencyStore({ clock: new ManualClock() });
    expect(await s.get('nope')).toBeUndefined();
  });
});
