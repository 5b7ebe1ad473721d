import { type Clock, realClock } from '../clock/clock.js';
import { createIdempotencyKey } from '../idempotency/key.js';
import { sleep, Timeout } from '../internal/timeout.js';
import { checkNumber, hasMethods, positive } from '../internal/validate.js';

/** Options of {@link QueueLock.request}: the part of the Web Locks `LockOptions` the queue uses. @category Offline queue */
export interface QueueLockOptions {
  /** Exclusive only; locks that support more may take `shared`. */
  mode?: 'exclusive' | 'shared';
  /** When the lock is held elsewhere, call the callback at once with `null` instead of waiting. */
  ifAvailable?: boolean;
  /** Stops waiting for the lock; the request rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * A lock manager with the Web Locks `request(name, options?, callback)` shape: `navigator.locks`
 * fits, as do {@link InProcessLock} and {@link StorageLeaseLock}. The callback runs while the lock is
 * held (with `null` when `ifAvailable` was asked and the lock is taken); the lock is released when
 * the promise it returns settles, and `request` settles with it.
 * @category Offline queue
 */
export interface QueueLock {
  /** Runs `callback` while holding the lock `name`. */
  request<T>(name: string, callback: (lock: unknown) => T | PromiseLike<T>): Promise<T>;
  /** Runs `callback` while holding the lock `name`, as `options` say. */
  request<T>(name: string, options: QueueLockOptions, callback: (lock: unknown) => T | PromiseLike<T>): Promise<T>;
}

interface Waiter {
  grant(): void;
}

interface Held {
  readonly name: string;
  readonly mode: 'exclusive';
}

/**
 * An exclusive lock within one JavaScript realm (a page, a worker, a Node process): the fallback where
 * `navigator.locks` is missing (Node before 22, old browsers). It does not reach other tabs; see
 * {@link StorageLeaseLock} for that. Waiters are served in the order they asked.
 * @category Offline queue
 */
export class InProcessLock implements QueueLock {
  private readonly queues = new Map<string, Waiter[]>();
  private readonly held = new Set<string>();

  /** {@inheritDoc QueueLock.request} */
  request<T>(name: string, callback: (lock: unknown) => T | PromiseLike<T>): Promise<T>;
  /** {@inheritDoc QueueLock.request} */
  request<T>(name: string, options: QueueLockOptions, callback: (lock: unknown) => T | PromiseLike<T>): Promise<T>;
  async request<T>(
    name: string,
    optionsOrCallback: QueueLockOptions | ((lock: unknown) => T | PromiseLike<T>),
    maybeCallback?: (lock: unknown) => T | PromiseLike<T>,
  ): Promise<T> {
    const [options, callback] = lockArguments(name, optionsOrCallback, maybeCallback);
    if (options.mode === 'shared') throw new TypeError('closed-loop: InProcessLock supports exclusive locks only');
    options.signal?.throwIfAborted();
    if (this.held.has(name)) {
      if (options.ifAvailable) return callback(null);
      await this.wait(name, options.signal);
    }
    this.held.add(name);
    try {
      return await callback({ name, mode: 'exclusive' } satisfies Held);
    } finally {
      this.release(name);
    }
  }

  private wait(name: string, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiters = this.queues.get(name) ?? [];
      const onAbort = (): void => {
        const index = waiters.indexOf(waiter);
        if (index !== -1) waiters.splice(index, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      waiters.push(waiter);
      this.queues.set(name, waiters);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(name: string): void {
    const waiters = this.queues.get(name);
    const next = waiters?.shift();
    if (waiters && waiters.length === 0) this.queues.delete(name);
    if (next) {
      // Handed over directly: the lock stays held, so no newcomer slips in between.
      next.grant();
      return;
    }
    this.held.delete(name);
  }
}

/**
 * Where a {@link StorageLeaseLock} keeps its leases. {@link IndexedDBQueueStorage} is one: its
 * transactions make taking a lease atomic across tabs.
 * @category Offline queue
 */
export interface LeaseStore {
  /**
   * Atomically: gives the lease `name` to `owner` until `expiresAt` if nobody holds it, its holder's
   * lease ended before `now`, or `owner` holds it already (a renewal). Resolves whether `owner` holds it.
   */
  tryAcquireLease(name: string, owner: string, now: number, expiresAt: number): Promise<boolean>;
  /** Gives the lease `name` up if `owner` holds it. */
  releaseLease(name: string, owner: string): Promise<void>;
}

// What makes a storage a LeaseStore.
const LEASE_METHODS = ['tryAcquireLease', 'releaseLease'];

/** Options of {@link StorageLeaseLock}. @category Offline queue */
export interface StorageLeaseLockOptions {
  /**
   * How long a lease lasts without renewal, in ms: after a crash, other tabs wait this long. The
   * holder renews it every third of that while its callback runs. Default 10000.
   */
  leaseMs?: number;
  /** How often a waiting request tries again, in ms. Default 250. */
  pollMs?: number;
  /** The clock for lease times, renewals and polling. Default {@link realClock}. */
  clock?: Clock;
}

/**
 * A lock across tabs for where Web Locks are missing: a lease with an expiry in a shared
 * {@link LeaseStore}. A tab that dies without releasing blocks the others for at most `leaseMs`. A
 * holder frozen for longer than `leaseMs` (a suspended background tab) can lose its lease while its
 * callback still runs; for the offline queue that costs a duplicate send, which the server
 * deduplicates by the item's key.
 * @category Offline queue
 */
export class StorageLeaseLock implements QueueLock {
  private readonly store: LeaseStore;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly clock: Clock;
  // Each lock object is its own owner: two of them on one store exclude each other like two tabs.
  private readonly owner = createIdempotencyKey();
  private readonly local = new InProcessLock();

  /**
   * @param store - where leases live, shared by the tabs (an {@link IndexedDBQueueStorage})
   * @param options - lease length, polling and clock
   */
  constructor(store: LeaseStore, options: StorageLeaseLockOptions = {}) {
    if (!hasMethods(store, LEASE_METHODS)) {
      throw new TypeError('closed-loop: StorageLeaseLock(store): `store` must implement tryAcquireLease and releaseLease');
    }
    this.store = store;
    this.leaseMs = checkNumber('leaseMs', options.leaseMs, positive, 'StorageLeaseLock') ?? 10_000;
    this.pollMs = checkNumber('pollMs', options.pollMs, positive, 'StorageLeaseLock') ?? 250;
    this.clock = options.clock ?? realClock;
  }

  /** {@inheritDoc QueueLock.request} */
  request<T>(name: string, callback: (lock: unknown) => T | PromiseLike<T>): Promise<T>;
  /** {@inheritDoc QueueLock.request} */
  request<T>(name: string, options: QueueLockOptions, callback: (lock: unknown) => T | PromiseLike<T>): Promise<T>;
  async request<T>(
    name: string,
    optionsOrCallback: QueueLockOptions | ((lock: unknown) => T | PromiseLike<T>),
    maybeCallback?: (lock: unknown) => T | PromiseLike<T>,
  ): Promise<T> {
    const [options, callback] = lockArguments(name, optionsOrCallback, maybeCallback);
    if (options.mode === 'shared') throw new TypeError('closed-loop: StorageLeaseLock supports exclusive locks only');
    // Requests of this lock object queue locally first, so one object never races itself for a lease.
    return this.local.request(name, { ifAvailable: options.ifAvailable, signal: options.signal }, async (local) => {
      if (local === null) return callback(null);
      const acquired = await this.acquire(name, options);
      if (!acquired) return callback(null);
      const stopRenewing = this.renew(name);
      try {
        return await callback({ name, mode: 'exclusive' } satisfies Held);
      } finally {
        stopRenewing();
        await this.store.releaseLease(name, this.owner).catch(() => undefined);
      }
    });
  }

  private async acquire(name: string, options: QueueLockOptions): Promise<boolean> {
    for (;;) {
      options.signal?.throwIfAborted();
      const now = this.clock.now();
      if (await this.store.tryAcquireLease(name, this.owner, now, now + this.leaseMs)) return true;
      if (options.ifAvailable) return false;
      await sleep(this.clock, this.pollMs, options.signal);
    }
  }

  private renew(name: string): () => void {
    // Background work nobody awaits: it must not hold a Node process open.
    const timer = new Timeout(this.clock, true);
    let stopped = false;
    const tick = (): void => {
      const now = this.clock.now();
      this.store.tryAcquireLease(name, this.owner, now, now + this.leaseMs).then(
        (held) => {
          // Lost (we were frozen past the lease): stop renewing; the callback finishes regardless.
          if (held && !stopped) schedule();
        },
        () => {
          if (!stopped) schedule();
        },
      );
    };
    const schedule = (): void => timer.set(tick, this.leaseMs / 3);
    schedule();
    return () => {
      stopped = true;
      timer.clear();
    };
  }
}

function lockArguments<T>(
  name: string,
  optionsOrCallback: QueueLockOptions | ((lock: unknown) => T | PromiseLike<T>),
  maybeCallback: ((lock: unknown) => T | PromiseLike<T>) | undefined,
): [QueueLockOptions, (lock: unknown) => T | PromiseLike<T>] {
  if (typeof name !== 'string') throw new TypeError('closed-loop: lock.request(name, …): `name` must be a string');
  const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback;
  const options = typeof optionsOrCallback === 'function' ? {} : (optionsOrCallback ?? {});
  if (typeof callback !== 'function') throw new TypeError('closed-loop: lock.request(name, options?, callback): `callback` must be a function');
  return [options, callback];
}

// Pure: a bundler drops it (and the class) from apps that never use the queue.
const shared = /* @__PURE__ */ new InProcessLock();

/**
 * The lock a queue uses when given none: `navigator.locks` where present (tabs and workers of one
 * origin), else the lease lock of a storage that offers leases, else one in-process lock shared by
 * every queue of this realm.
 *
 * @internal
 */
export function defaultLock(storage: unknown, clock: Clock): QueueLock {
  const locks = (globalThis as { navigator?: { locks?: QueueLock } }).navigator?.locks;
  if (locks && typeof locks.request === 'function') return locks;
  if (hasMethods(storage, LEASE_METHODS)) return new StorageLeaseLock(storage as LeaseStore, { clock });
  return shared;
}

/**
 * The in-process lock shared by queues of this realm (the fallback after a `navigator.locks` that
 * refuses to work, e.g. in an opaque origin).
 *
 * @internal
 */
export function sharedInProcessLock(): QueueLock {
  return shared;
}
