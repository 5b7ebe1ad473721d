import { type Clock, type TimerHandle, unrefTimer } from '../clock/clock.js';

/**
 * One timer on a {@link Clock}, at most one pending: `set` replaces a pending one, `clear` cancels
 * it, `pending` says whether one waits. A `background` timeout (nobody awaits it) is unref'd so that
 * it never holds a Node process open.
 */
export class Timeout {
  /** Whether a timer is waiting to fire. */
  pending = false;
  private handle?: TimerHandle;

  /**
   * @param clock - the clock it runs on
   * @param background - unref the timer
   */
  constructor(
    private readonly clock: Clock,
    private readonly background?: boolean,
  ) {}

  /** Calls `callback` after `ms`, replacing any pending timer. */
  set(callback: () => void, ms: number): void {
    this.clear();
    this.pending = true;
    const handle = this.clock.setTimeout(() => {
      this.pending = false;
      callback();
    }, ms);
    this.handle = this.background ? unrefTimer(handle) : handle;
  }

  /** Cancels the pending timer, if any. */
  clear(): void {
    if (!this.pending) return;
    this.pending = false;
    this.clock.clearTimeout(this.handle);
  }
}

/**
 * Resolves after `ms` on `clock`; rejects with the signal's reason when `signal` aborts first (the
 * timer is then cleared). On the clock directly rather than a {@link Timeout}: a bundle that only
 * sleeps (the idempotency guard) then leaves the class out.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal!.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
