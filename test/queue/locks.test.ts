import { describe, expect, test } from 'vitest';
import { InProcessLock, type LeaseStore, ManualClock, MemoryQueueStorage, OfflineQueue, StorageLeaseLock } from '../../src/index.js';
import { countingHandler, deferred } from './_helpers.js';

describe('InProcessLock', () => {
  test('one holder per name at a time; waiters are served in order; other names are independent', async () => {
    const lock = new InProcessLock();
    const order: string[] = [];
    const gate = deferred<void>();
    const first = lock.request('a', async () => {
      order.push('1 start');
      await gate.promise;
      order.push('1 end');
      return 1;
    });
    const second = lock.request('a', {}, async () => {
      order.push('2');
      return 2;
    });
    const third = lock.request('a', () => {
      order.push('3');
      return 3;
    });
    const other = await lock.request('b', () => 'b');
    expect(other).toBe('b');
    gate.resolve();
    expect(await Promise.all([first, second, third])).toEqual([1, 2, 3]);
    expect(order).toEqual(['1 start', '1 end', '2', '3']);
  });

  test('ifAvailable calls back with null while held; the lock is free again after a callback throws', async () => {
    const lock = new InProcessLock();
    const gate = deferred<void>();
    const held = lock.request('a', () => gate.promise);
    expect(await lock.request('a', { ifAvailable: true }, (l) => l)).toBeNull();
    gate.resolve();
    await held;
    await expect(lock.request('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await lock.request('a', { ifAvailable: true }, (l) => l !== null)).toBe(true);
  });

  test('an aborted wait rejects with the reason and never runs its callback', async () => {
    const lock = new InProcessLock();
    const gate = deferred<void>();
    const held = lock.request('a', () => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const waiting = lock.request('a', { signal: controller.signal }, () => {
      ran = true;
    });
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    gate.resolve();
    await held;
    expect(ran).toBe(false);
  });

  test('refuses shared mode and bad arguments', async () => {
    const lock = new InProcessLock();
    await expect(lock.request('a', { mode: 'shared' }, () => 1)).rejects.toThrow(TypeError);
    await expect(lock.request('a', {} as never)).rejects.toThrow(TypeError);
  });
});

// A lease store with the atomic semantics IndexedDBQueueStorage has (JavaScript is single-threaded).
class MemoryLeaseStore implements LeaseStore {
  leases = new Map<string, { owner: string; expiresAt: number }>();
  async tryAcquireLease(name: string, owner: string, now: number, expiresAt: number): Promise<boolean> {
    const current = this.leases.get(name);
    if (current && current.owner !== owner && current.expiresAt > now) return false;
    this.leases.set(name, { owner, expiresAt });
    return true;
  }
  async releaseLease(name: string, owner: string): Promise<void> {
    if (this.leases.get(name)?.owner === owner) this.leases.delete(name);
  }
}

describe('StorageLeaseLock', () => {
  test('two lock objects on one store exclude each other like two tabs; the lease is released after the callback', async () => {
    const store = new MemoryLeaseStore();
    const clock = new ManualClock(0);
    const tabA = new StorageLeaseLock(store, { clock, pollMs: 100 });
    const tabB = new StorageLeaseLock(store, { clock, pollMs: 100 });
    const gate = deferred<void>();
    const order: string[] = [];
    const a = tabA.request('q', async () => {
      order.push('A');
      await gate.promise;
    });
    await clock.advance(0);
    expect(await tabB.request('q', { ifAvailable: true }, (l) => l)).toBeNull();
    const b = tabB.request('q', () => {
      order.push('B');
    });
    await clock.advance(500);
    expect(order).toEqual(['A']);
    gate.resolve();
    await a;
    expect(store.leases.has('q')).toBe(false);
    await clock.advance(100);
    await b;
    expect(order).toEqual(['A', 'B']);
  });

  test('a holder that died (never released) blocks others only until its lease runs out', async () => {
    const store = new MemoryLeaseStore();
    const clock = new ManualClock(0);
    await store.tryAcquireLease('q', 'dead-tab', 0, 10_000);
    const lock = new StorageLeaseLock(store, { clock, leaseMs: 10_000, pollMs: 1_000 });
    let ran = false;
    const waiting = lock.request('q', () => {
      ran = true;
    });
    await clock.advance(9_000);
    expect(ran).toBe(false);
    await clock.advance(1_000);
    await waiting;
    expect(ran).toBe(true);
  });

  test('a long callback keeps its lease renewed, so nobody takes it meanwhile', async () => {
    const store = new MemoryLeaseStore();
    const clock = new ManualClock(0);
    const tabA = new StorageLeaseLock(store, { clock, leaseMs: 3_000 });
    const tabB = new StorageLeaseLock(store, { clock, leaseMs: 3_000 });
    const gate = deferred<void>();
    const a = tabA.request('q', () => gate.promise);
    for (let t = 0; t < 30_000; t += 1_000) {
      await clock.advance(1_000);
      expect(await tabB.request('q', { ifAvailable: true }, (l) => l)).toBeNull();
    }
    gate.resolve();
    await a;
    expect(clock.pendingTimers).toBe(0);
  });

  test('as an OfflineQueue lock: two queues on one storage, each with its own lease lock, deliver 50 items once each', async () => {
    const storage = new MemoryQueueStorage();
    const store = new MemoryLeaseStore();
    const a = new OfflineQueue({ storage, lock: new StorageLeaseLock(store, { pollMs: 1 }) });
    const b = new OfflineQueue({ storage, lock: new StorageLeaseLock(store, { pollMs: 1 }) });
    for (let i = 0; i < 50; i++) await a.add(i);
    let running = 0;
    let most = 0;
    const { handler, countsById } = countingHandler(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 0));
      running--;
    });
    await Promise.all([a.process(handler), b.process(handler), b.process(handler)]);
    expect(countsById().size).toBe(50);
    expect([...countsById().values()].every((n) => n === 1)).toBe(true);
    expect(most).toBe(1);
  });

  test('refuses a store without lease methods and bad timings', () => {
    expect(() => new StorageLeaseLock({} as never)).toThrow(TypeError);
    expect(() => new StorageLeaseLock(new MemoryLeaseStore(), { leaseMs: 0 })).toThrow(TypeError);
    expect(() => new StorageLeaseLock(new MemoryLeaseStore(), { pollMs: Number.NaN })).toThrow(TypeError);
  });
});

describe('the queue lock', () => {
  test('a custom lock is asked for the storage-derived name, or for lockName', async () => {
    const names: string[] = [];
    const inner = new InProcessLock();
    const lock = {
      request: (name: string, options: object, callback: (l: unknown) => unknown) => {
        names.push(name);
        return inner.request(name, options, callback);
      },
    } as unknown as InProcessLock;
    const storage = new MemoryQueueStorage();
    await new OfflineQueue({ storage, lock }).process(() => 'ok');
    await new OfflineQueue({ storage, lock, lockName: 'mine' }).process(() => 'ok');
    expect(names).toEqual([`closed-loop:offline-queue:${storage.name}`, 'mine']);
  });
});
