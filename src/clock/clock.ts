/** An opaque timer handle, as returned by a {@link Clock}'s `setTimeout`. @category Clock */
export type TimerHandle = unknown;

/**
 * The source of time for every time-dependent part of closed-loop. Inject one (for example a
 * {@link ManualClock}) to drive time in tests; the default is {@link realClock}.
 * @category Clock
 */
export interface Clock {
  /** The current time in epoch milliseconds. */
  now(): number;
  /** Calls `callback` after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer started by this clock's `setTimeout`. Unknown handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock. It reads `Date.now`, `setTimeout` and `clearTimeout` from `globalThis` on every
 * call rather than at import, so test tools that replace the globals later still apply.
 * @category Clock
 */
// Marked pure: a bundler cannot tell that a call at module level is free of side effects, and would
// keep this in every bundle, whether it uses the real clock or not.
export const realClock: Clock = /* @__PURE__ */ Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle: TimerHandle): void => {
    globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});

/**
 * Lets a background timer (one that nobody awaits) stop holding a Node process open. A no-op for
 * handles without `unref` (browsers, manual clocks).
 *
 * @param handle - a handle from a {@link Clock}'s `setTimeout`
 * @returns the same handle
 * @category Clock
 */
export function unrefTimer<H extends TimerHandle>(handle: H): H {
  const timer = handle as { unref?: () => void } | null;
  if (timer !== null && typeof timer === 'object' && typeof timer.unref === 'function') timer.unref();
  return handle;
}

interface ManualTimer {
  id: number;
  at: number;
  callback: () => void;
}

/**
 * A clock that moves only when told to: for tests of code that retries, backs off or waits.
 *
 * @example
 * ```ts
 * const clock = new ManualClock()
 * const done = retryWithBackoff(flaky, { clock })
 * await clock.advance(1000) // fires the backoff timer; no wall-clock sleep
 * ```
 * @category Clock
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  /** @param startMs - the initial time in epoch ms (default 0) */
  constructor(startMs = 0) {
    this.current = startMs;
  }

  /** {@inheritDoc Clock.now} */
  now(): number {
    return this.current;
  }

  /** {@inheritDoc Clock.setTimeout} */
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer = { id: this.nextId++, at: this.current + delay, callback };
    this.timers.push(timer);
    return timer.id;
  }

  /** {@inheritDoc Clock.clearTimeout} */
  clearTimeout(handle: TimerHandle): void {
    const index = this.timers.findIndex((t) => t.id === handle);
    if (index !== -1) this.timers.splice(index, 1);
  }

  /** How many timers are waiting to fire. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** When the earliest pending timer fires (epoch ms), or `undefined` if none is pending. */
  nextTimerAt(): number | undefined {
    let earliest: number | undefined;
    for (const t of this.timers) if (earliest === undefined || t.at < earliest) earliest = t.at;
    return earliest;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due in order, and lets promise
   * callbacks run after each one so that work a timer starts can schedule its own timers.
   *
   * @param ms - how far to move, in milliseconds
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    await settle();
    for (;;) {
      const next = this.takeDue(target);
      if (!next) break;
      this.current = next.at;
      next.callback();
      await settle();
    }
    this.current = target;
    await settle();
  }

  /**
   * Fires pending timers (and any they start) until none is left or `maxTimers` have fired.
   *
   * @param maxTimers - a guard against timers that reschedule forever (default 1000)
   */
  async runAll(maxTimers = 1000): Promise<void> {
    await settle();
    // One timer per turn, so the guard also stops a timer that reschedules itself with no delay
    // (advancing to the next due time would fire it forever).
    for (let fired = 0; fired < maxTimers; fired++) {
      const next = this.takeDue(Number.POSITIVE_INFINITY);
      if (!next) return;
      this.current = Math.max(this.current, next.at);
      next.callback();
      await settle();
    }
  }

  private takeDue(target: number): ManualTimer | undefined {
    let index = -1;
    for (let i = 0; i < this.timers.length; i++) {
      const t = this.timers[i]!;
      if (t.at <= target && (index === -1 || t.at < this.timers[index]!.at)) index = i;
    }
    return index === -1 ? undefined : this.timers.splice(index, 1)[0];
  }
}

// Lets pending promise callbacks run: one macrotask turn drains every queued microtask.
// setImmediate in Node; a MessageChannel in browsers, where nested setTimeout(0) is clamped to 4 ms.
let channel: MessageChannel | undefined;
const waiting: Array<() => void> = [];
function settle(): Promise<void> {
  return new Promise((resolve) => {
    const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
    if (typeof g.setImmediate === 'function') {
      g.setImmediate(resolve);
      return;
    }
    if (typeof MessageChannel === 'undefined') {
      globalThis.setTimeout(resolve, 0);
      return;
    }
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => waiting.shift()?.();
    }
    waiting.push(resolve);
    channel.port2.postMessage(null);
  });
}
