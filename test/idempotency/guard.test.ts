import { describe, expect, test } from 'vitest';
import {
  type IdempotencyBegin,
  type IdempotencyClaim,
  IdempotencyError,
  IdempotencyGuard,
  type IdempotencyGuardOptions,
  type IdempotencyStore,
  isIdempotencyError,
  ManualClock,
  MemoryIdempotencyStore,
} from '../../src/index.js';

const FP = 'fingerprint-1';

function setup(options: Partial<IdempotencyGuardOptions> = {}) {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryIdempotencyStore({ clock });
  const guard = new IdempotencyGuard({ store, clock, leaseMs: 1_000, ...options });
  return { clock, store, guard };
}

/** Follows a promise's outcome without awaiting it (and without an unhandled rejection). */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

async function rejection(promise: Promise<unknown>): Promise<IdempotencyError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(IdempotencyError);
    expect(isIdempotencyError(error)).toBe(true);
    return error as IdempotencyError;
  }
  throw new Error('expected an IdempotencyError');
}

function expectExecute(begun: IdempotencyBegin | undefined): Extract<IdempotencyBegin, { kind: 'execute' }> {
  expect(begun?.kind).toBe('execute');
  return begun as Extract<IdempotencyBegin, { kind: 'execute' }>;
}

const sleep = (clock: ManualClock, ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));

describe('IdempotencyGuard.begin', () => {
  test('a new key executes; after complete, a later begin replays the result', async () => {
    const { guard } = setup();
    const first = expectExecute(await guard.begin('k', FP));
    expect(first.lease.key).toBe('k');
    expect(typeof first.lease.leaseId).toBe('string');
    expect(first.lease.leaseId.length).toBeGreaterThan(0);
    expect(first.lease.takeover).toBe(false);

    expect(await first.lease.complete({ status: 201, body: { id: 7 } })).toBe(true);

    expect(await guard.begin('k', FP)).toEqual({ kind: 'replay', result: { status: 201, body: { id: 7 } } });
    expect(await guard.begin('k', FP)).toEqual({ kind: 'replay', result: { status: 201, body: { id: 7 } } });
  });

  test('keys are independent', async () => {
    const { guard } = setup();
    const a = expectExecute(await guard.begin('a', FP));
    expectExecute(await guard.begin('b', FP));
    await a.lease.complete('A');
    expect(await guard.begin('a', FP)).toEqual({ kind: 'replay', result: 'A' });
  });

  test('a different fingerprint under a completed key: KEY_MISMATCH (422); the stored result stays', async () => {
    const { guard } = setup();
    const first = expectExecute(await guard.begin('k', FP));
    await first.lease.complete('original');

    const error = await rejection(guard.begin('k', 'another-fingerprint'));
    expect(error.code).toBe('KEY_MISMATCH');
    expect(error.status).toBe(422);

    expect(await guard.begin('k', FP)).toEqual({ kind: 'replay', result: 'original' });
  });

  test('a different fingerprint under an in-flight key: KEY_MISMATCH, also in wait mode', async () => {
    for (const concurrent of ['reject', 'wait'] as const) {
      const { guard } = setup({ concurrent });
      expectExecute(await guard.begin('k', FP));
      const error = await rejection(guard.begin('k', 'another-fingerprint'));
      expect(error.code, concurrent).toBe('KEY_MISMATCH');
      expect(error.status).toBe(422);
    }
  });

  test('the key in flight: KEY_IN_USE (409) with a retryAfterMs within the holder\'s lease', async () => {
    const { guard, clock } = setup({ leaseMs: 5_000 });
    expectExecute(await guard.begin('k', FP));

    const error = await rejection(guard.begin('k', FP));
    expect(error.code).toBe('KEY_IN_USE');
    expect(error.status).toBe(409);
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(error.retryAfterMs).toBeLessThanOrEqual(5_000);

    await clock.advance(4_700);
    const later = await rejection(guard.begin('k', FP));
    expect(later.code).toBe('KEY_IN_USE');
    expect(later.retryAfterMs).toBeGreaterThan(0);
    // Never later than when the lease runs out and the key can be taken over.
    expect(later.retryAfterMs).toBeLessThanOrEqual(300);
  });

  test('reject mode answers at once: no timer is started', async () => {
    const { guard, clock } = setup();
    expectExecute(await guard.begin('k', FP));
    await rejection(guard.begin('k', FP));
    expect(clock.pendingTimers).toBe(0);
  });

  test('after the holder\'s lease expires, the next begin takes over', async () => {
    const { guard, clock } = setup({ leaseMs: 1_000 });
    expectExecute(await guard.begin('k', FP));
    await clock.advance(999);
    expect((await rejection(guard.begin('k', FP))).code).toBe('KEY_IN_USE');
    await clock.advance(1);
    const second = expectExecute(await guard.begin('k', FP));
    expect(second.lease.takeover).toBe(true);
  });

  test('a released key is new again', async () => {
    const { guard } = setup();
    const first = expectExecute(await guard.begin('k', FP));
    expect(await first.lease.release()).toBe(true);
    const second = expectExecute(await guard.begin('k', FP));
    expect(second.lease.takeover).toBe(false);
    expect(second.lease.leaseId).not.toBe(first.lease.leaseId);
  });

  test('a lease finishes once: release after complete does nothing', async () => {
    const { guard } = setup();
    const first = expectExecute(await guard.begin('k', FP));
    expect(await first.lease.complete('r')).toBe(true);
    expect(await first.lease.release()).toBe(false);
    expect(await first.lease.complete('other')).toBe(false);
    expect(await guard.begin('k', FP)).toEqual({ kind: 'replay', result: 'r' });
  });

  test('a completed result lives ttlMs, then the key is new again', async () => {
    const { guard, clock } = setup({ ttlMs: 10_000 });
    await expectExecute(await guard.begin('k', FP)).lease.complete('r');
    await clock.advance(9_999);
    expect((await guard.begin('k', FP)).kind).toBe('replay');
    await clock.advance(1);
    expect(expectExecute(await guard.begin('k', FP)).lease.takeover).toBe(false);
  });
});

describe('IdempotencyGuard.begin: concurrent "wait"', () => {
  test('a waiter gets the replay once the holder completes', async () => {
    const { guard, clock } = setup({ concurrent: 'wait', leaseMs: 10_000 });
    const holder = expectExecute(await guard.begin('k', FP));
    const waiter = track(guard.begin('k', FP));

    await clock.advance(2_000);
    expect(waiter.settled).toBe(false);

    expect(await holder.lease.complete({ ok: true })).toBe(true);
    // It polls the store; within its longest poll interval (500 ms by default) it sees the result.
    await clock.advance(500);
    expect(waiter.settled).toBe(true);
    expect(waiter.error).toBeUndefined();
    expect(waiter.value).toEqual({ kind: 'replay', result: { ok: true } });
    expect(clock.pendingTimers).toBe(0);
  });

  test('a waiter takes over (execute) when the holder\'s lease expires', async () => {
    const { guard, clock } = setup({ concurrent: 'wait', leaseMs: 1_000, waitTimeoutMs: 5_000 });
    const holder = expectExecute(await guard.begin('k', FP));
    const waiter = track(guard.begin('k', FP));

    await clock.advance(999);
    expect(waiter.settled).toBe(false);
    await clock.advance(501);
    expect(waiter.settled).toBe(true);
    const taken = expectExecute(waiter.value);
    expect(taken.lease.takeover).toBe(true);

    // The stalled holder is fenced off; the new holder's result stands.
    expect(await taken.lease.complete('new')).toBe(true);
    expect(await holder.lease.complete('old')).toBe(false);
    expect(await guard.begin('k', FP)).toEqual({ kind: 'replay', result: 'new' });
  });

  test('a waiter gets the key (execute) when the holder releases it', async () => {
    const { guard, clock } = setup({ concurrent: 'wait', leaseMs: 10_000 });
    const holder = expectExecute(await guard.begin('k', FP));
    const waiter = track(guard.begin('k', FP));
    await clock.advance(100);
    expect(waiter.settled).toBe(false);
    await holder.lease.release();
    await clock.advance(500);
    expect(expectExecute(waiter.value).lease.takeover).toBe(false);
  });

  test('a waiter gets KEY_IN_USE after waitTimeoutMs, with a retryAfterMs', async () => {
    const { guard, clock } = setup({ concurrent: 'wait', leaseMs: 10_000, waitTimeoutMs: 300 });
    expectExecute(await guard.begin('k', FP));
    const waiter = track(guard.begin('k', FP));

    await clock.advance(299);
    expect(waiter.settled).toBe(false);
    await clock.advance(1);
    expect(waiter.settled).toBe(true);
    expect(isIdempotencyError(waiter.error)).toBe(true);
    const error = waiter.error as IdempotencyError;
    expect(error.code).toBe('KEY_IN_USE');
    expect(error.status).toBe(409);
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(clock.pendingTimers).toBe(0);
  });

  test('waitTimeoutMs defaults to leaseMs: a waiter on a stalled holder takes over rather than time out', async () => {
    const { guard, clock } = setup({ concurrent: 'wait', leaseMs: 2_000 });
    expectExecute(await guard.begin('k', FP));
    const waiter = track(guard.begin('k', FP));
    await clock.advance(1_999);
    expect(waiter.settled).toBe(false);
    await clock.advance(600);
    expect(waiter.error).toBeUndefined();
    expect(expectExecute(waiter.value).lease.takeover).toBe(true);
  });
});

describe('IdempotencyGuard: store failures', () => {
  function failingStore(overrides: Partial<IdempotencyStore>): IdempotencyStore {
    const clock = new ManualClock();
    const inner = new MemoryIdempotencyStore({ clock });
    return {
      claim: (r) => inner.claim(r),
      complete: (...a) => inner.complete(...a),
      release: (...a) => inner.release(...a),
      get: (k) => inner.get(k),
      ...overrides,
    };
  }

  test('a claim that rejects: STORE_UNAVAILABLE (503) with the store\'s error as cause', async () => {
    const cause = new Error('ECONNREFUSED');
    const guard = new IdempotencyGuard({ store: failingStore({ claim: () => Promise.reject(cause) }), clock: new ManualClock() });
    const error = await rejection(guard.begin('k', FP));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(error.cause).toBe(cause);
  });

  test('a claim that throws synchronously: STORE_UNAVAILABLE too', async () => {
    const cause = new TypeError('client is closed');
    const store = failingStore({
      claim: () => {
        throw cause;
      },
    });
    const guard = new IdempotencyGuard({ store, clock: new ManualClock() });
    const error = await rejection(guard.begin('k', FP));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.cause).toBe(cause);
  });

  test('a rejected claim in wait mode fails at once, without waiting', async () => {
    const clock = new ManualClock();
    const cause = new Error('down');
    const guard = new IdempotencyGuard({
      store: failingStore({ claim: () => Promise.reject(cause) }),
      clock,
      concurrent: 'wait',
    });
    const error = await rejection(guard.begin('k', FP));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(clock.pendingTimers).toBe(0);
  });

  test('complete and release that reject: STORE_UNAVAILABLE with cause', async () => {
    const cause = new Error('timeout');
    const store = failingStore({ complete: () => Promise.reject(cause), release: () => Promise.reject(cause) });
    const guard = new IdempotencyGuard({ store, clock: new ManualClock() });
    const begun = expectExecute(await guard.begin('k', FP));
    const onComplete = await rejection(begun.lease.complete('r'));
    expect(onComplete.code).toBe('STORE_UNAVAILABLE');
    expect(onComplete.cause).toBe(cause);
    const onRelease = await rejection(begun.lease.release());
    expect(onRelease.code).toBe('STORE_UNAVAILABLE');
    expect(onRelease.cause).toBe(cause);
  });

  test('an IdempotencyError from the store passes through as it is', async () => {
    const clock = new ManualClock();
    const store = new MemoryIdempotencyStore({ clock, maxEntries: 1 });
    const guard = new IdempotencyGuard({ store, clock });
    expectExecute(await guard.begin('a', FP));
    const error = await rejection(guard.begin('b', FP));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.cause).toBeUndefined();
  });

  test('an answer the guard does not know: STORE_UNAVAILABLE', async () => {
    const store = failingStore({ claim: async () => ({ status: 'weird' }) as unknown as IdempotencyClaim });
    const guard = new IdempotencyGuard({ store, clock: new ManualClock() });
    expect((await rejection(guard.begin('k', FP))).code).toBe('STORE_UNAVAILABLE');
  });

  test('run() with a failing store does not call fn', async () => {
    const store = failingStore({ claim: () => Promise.reject(new Error('down')) });
    const guard = new IdempotencyGuard({ store, clock: new ManualClock() });
    let calls = 0;
    const error = await rejection(guard.run('k', FP, () => ++calls));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(calls).toBe(0);
  });
});

describe('IdempotencyGuard.run', () => {
  test('runs fn once; a later run replays its result', async () => {
    const { guard } = setup();
    let calls = 0;
    const fn = () => ({ charge: ++calls });
    expect(await guard.run('k', FP, fn)).toEqual({ result: { charge: 1 }, replayed: false });
    expect(await guard.run('k', FP, fn)).toEqual({ result: { charge: 1 }, replayed: true });
    expect(calls).toBe(1);
  });

  test('exactly once under 50 concurrent runs of one key in wait mode; all get the same result', async () => {
    const { guard, clock } = setup({ concurrent: 'wait', leaseMs: 10_000 });
    let sideEffects = 0;
    const fn = async () => {
      sideEffects++;
      await sleep(clock, 300); // the work takes a while
      return { orderId: 'o-1', n: sideEffects };
    };
    const runs = Array.from({ length: 50 }, () => track(guard.run('order-1', FP, fn)));

    for (let i = 0; i < 40 && !runs.every((r) => r.settled); i++) await clock.advance(100);

    expect(runs.every((r) => r.settled)).toBe(true);
    expect(runs.filter((r) => r.error !== undefined)).toEqual([]);
    expect(sideEffects).toBe(1);
    for (const run of runs) expect(run.value!.result).toEqual({ orderId: 'o-1', n: 1 });
    expect(runs.filter((r) => r.value!.replayed === false)).toHaveLength(1);
    expect(runs.filter((r) => r.value!.replayed === true)).toHaveLength(49);
    expect(clock.pendingTimers).toBe(0);
  });

  test('50 concurrent runs in reject mode: one runs, 49 get KEY_IN_USE', async () => {
    const { guard, clock } = setup({ leaseMs: 10_000 });
    let sideEffects = 0;
    const fn = async () => {
      sideEffects++;
      await sleep(clock, 300);
      return 'done';
    };
    const runs = Array.from({ length: 50 }, () => track(guard.run('k', FP, fn)));
    await clock.advance(300);
    expect(runs.every((r) => r.settled)).toBe(true);
    expect(sideEffects).toBe(1);
    expect(runs.filter((r) => r.value?.result === 'done' && !r.value.replayed)).toHaveLength(1);
    const rejected = runs.filter((r) => r.error !== undefined);
    expect(rejected).toHaveLength(49);
    for (const r of rejected) expect((r.error as IdempotencyError).code).toBe('KEY_IN_USE');
  });

  test('fn that throws: the error passes through, the key is released, a retry runs fn again', async () => {
    const { guard } = setup();
    let calls = 0;
    const boom = new Error('card declined by a flaky gateway');
    const fn = () => {
      calls++;
      if (calls === 1) throw boom;
      return 'charged';
    };
    await expect(guard.run('k', FP, fn)).rejects.toBe(boom);
    expect(await guard.run('k', FP, fn)).toEqual({ result: 'charged', replayed: false });
    expect(await guard.run('k', FP, fn)).toEqual({ result: 'charged', replayed: true });
    expect(calls).toBe(2);
  });

  test('fn that rejects asynchronously releases the key too', async () => {
    const { guard, store } = setup();
    const boom = new Error('async failure');
    await expect(guard.run('k', FP, async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(await store.get('k')).toBeUndefined();
  });

  test('in wait mode, when the holder\'s fn throws, one waiter runs fn and the others replay it', async () => {
    const { guard, clock } = setup({ concurrent: 'wait', leaseMs: 10_000 });
    let calls = 0;
    const fn = async () => {
      calls++;
      await sleep(clock, 100);
      if (calls === 1) throw new Error('first try fails');
      return `result-${calls}`;
    };
    const runs = Array.from({ length: 10 }, () => track(guard.run('k', FP, fn)));
    for (let i = 0; i < 40 && !runs.every((r) => r.settled); i++) await clock.advance(100);
    expect(runs.every((r) => r.settled)).toBe(true);
    expect(calls).toBe(2);
    expect(runs.filter((r) => r.error !== undefined)).toHaveLength(1);
    const ok = runs.filter((r) => r.error === undefined);
    for (const r of ok) expect(r.value!.result).toBe('result-2');
    expect(ok.filter((r) => !r.value!.replayed)).toHaveLength(1);
  });

  test('lease lost: a holder that ran past leaseMs cannot overwrite the new holder\'s result', async () => {
    const { guard, clock, store } = setup({ leaseMs: 1_000 });
    const results: string[] = [];
    const slow = track(
      guard.run('k', FP, async () => {
        await sleep(clock, 5_000); // stalls far past its lease
        results.push('slow');
        return 'slow';
      }),
    );
    await clock.advance(1_000);
    // The lease expired: a retry takes over and finishes first.
    expect(await guard.run('k', FP, () => (results.push('fast'), 'fast'))).toEqual({ result: 'fast', replayed: false });
    await clock.advance(4_000);
    expect(slow.settled).toBe(true);
    expect(results).toEqual(['fast', 'slow']);
    // The slow holder's complete was fenced off: the stored result is still the new one.
    expect((await store.get('k'))?.result).toBe('fast');
    expect(await guard.run('k', FP, () => 'third')).toEqual({ result: 'fast', replayed: true });
  });

  test('lease lost: the old holder\'s complete resolves false and its release frees nothing', async () => {
    const { guard, clock } = setup({ leaseMs: 1_000 });
    const old = expectExecute(await guard.begin('k', FP));
    await clock.advance(1_000);
    const current = expectExecute(await guard.begin('k', FP));
    expect(current.lease.takeover).toBe(true);
    expect(await old.lease.release()).toBe(false);
    expect((await rejection(guard.begin('k', FP))).code).toBe('KEY_IN_USE');
    expect(await current.lease.complete('new')).toBe(true);
    expect(await old.lease.complete('old')).toBe(false);
    expect(await guard.begin('k', FP)).toEqual({ kind: 'replay', result: 'new' });
  });
});

describe('IdempotencyGuard: options', () => {
  const store = new MemoryIdempotencyStore({ clock: new ManualClock() });

  test('a missing or invalid store is a TypeError', () => {
    expect(() => new IdempotencyGuard(undefined as unknown as IdempotencyGuardOptions)).toThrow(TypeError);
    expect(() => new IdempotencyGuard({} as IdempotencyGuardOptions)).toThrow(TypeError);
    expect(() => new IdempotencyGuard({ store: {} as IdempotencyStore })).toThrow(TypeError);
  });

  test.each(['ttlMs', 'leaseMs', 'waitTimeoutMs', 'pollIntervalMs'] as const)('%s must be a finite number > 0', (name) => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100', null]) {
      expect(() => new IdempotencyGuard({ store, [name]: bad as unknown as number }), `${name}: ${String(bad)}`).toThrow(TypeError);
    }
    expect(() => new IdempotencyGuard({ store, [name]: 1 })).not.toThrow();
  });

  test('concurrent must be "reject" or "wait"', () => {
    expect(() => new IdempotencyGuard({ store, concurrent: 'queue' as 'wait' })).toThrow(TypeError);
    expect(() => new IdempotencyGuard({ store, concurrent: 'wait' })).not.toThrow();
    expect(() => new IdempotencyGuard({ store, concurrent: 'reject' })).not.toThrow();
  });

  test('defaults: 24 h TTL, 30 s lease', () => {
    const guard = new IdempotencyGuard({ store });
    expect(guard.ttlMs).toBe(86_400_000);
    expect(guard.leaseMs).toBe(30_000);
    expect(guard.store).toBe(store);
  });
});
