import { attempt, type AttemptContext } from './attempt.js';
import { QueueStorageError } from './errors.js';
import type { QueueHandler } from './handlers.js';
import { type QueueLock, sharedInProcessLock } from './lock.js';
import { flushOrder } from './order.js';
import type { Snapshot } from './reader.js';
import type { DeadLetter } from './storage.js';

// A flush: under the queue's lock, rounds of attempts over the due items until a round finds none
// it has not tried, so items added meanwhile go out in the same flush and each is tried once.

/** Options of {@link OfflineQueue.process}. @category Offline queue */
export interface ProcessOptions {
  /**
   * When another flush holds the lock (in this queue or another tab), resolve at once with
   * `skipped: true` instead of waiting for it. Default false.
   */
  ifAvailable?: boolean;
  /**
   * The network just came back: items whose last failure got no answer are due at once, whatever
   * their backoff. `startAutoSync` sets it on the `online` event.
   */
  networkRestored?: boolean;
}

/** What one {@link OfflineQueue.process} call did. @category Offline queue */
export interface ProcessResult {
  /** Items delivered (handler succeeded) and removed. */
  processed: number;
  /** Attempts that failed with the item left pending for a later attempt (or with no handler for it). */
  failed: number;
  /** Items moved to the dead-letter list (including unreadable entries found for the first time). */
  deadLettered: number;
  /** Pending and in-flight items left after the flush (not yet due, failed, or without a handler). */
  remaining: number;
  /** True when `ifAvailable` was set and another flush held the lock, so nothing was tried. */
  skipped: boolean;
}

/** The parts of a queue object a flush works with: those of an attempt, and the lock. */
export interface FlushContext<P> extends AttemptContext<P> {
  /** Keeps flushes apart; the default one is replaced by the in-process lock if it refuses outright. */
  lock: QueueLock;
  /** Whether `lock` is the default one (a lock passed as an option is never replaced). */
  readonly lockIsDefault: boolean;
  readonly lockName: string;
}

/** One flush under the lock (see {@link OfflineQueue.process}). */
export async function flush<P>(ctx: FlushContext<P>, handler: QueueHandler<P> | undefined, options: ProcessOptions): Promise<ProcessResult> {
  let granted = false;
  const body = async (lock: unknown): Promise<ProcessResult> => {
    granted = true;
    if (lock === null && options.ifAvailable) return skippedResult(ctx);
    return pass(ctx, handler, options);
  };
  const lockOptions = options.ifAvailable ? { ifAvailable: true } : {};
  try {
    return await ctx.lock.request(ctx.lockName, lockOptions, body);
  } catch (error) {
    const fallback = sharedInProcessLock();
    // navigator.locks can refuse outright (a SecurityError in an opaque origin): keep flushing with
    // the in-process lock rather than never.
    if (granted || !ctx.lockIsDefault || ctx.lock === fallback) throw error;
    ctx.lock = fallback;
    return fallback.request(ctx.lockName, lockOptions, body);
  }
}

/** The result of a flush that did not run: another one held the lock. */
export async function skippedResult<P>(ctx: FlushContext<P>): Promise<ProcessResult> {
  const { live } = await ctx.reader.read();
  return { processed: 0, failed: 0, deadLettered: 0, remaining: live.length, skipped: true };
}

async function pass<P>(ctx: FlushContext<P>, handlerArg: QueueHandler<P> | undefined, options: ProcessOptions): Promise<ProcessResult> {
  const result: ProcessResult = { processed: 0, failed: 0, deadLettered: 0, remaining: 0, skipped: false };
  const tried = new Set<string>();
  ctx.store.setSyncing(true);
  try {
    for (let rounds = 0; ; rounds++) {
      const snapshot = await ctx.reader.read();
      reportUnreadable(ctx, snapshot, result, rounds === 0);
      const round = snapshot.live.filter((record) => !tried.has(record.id)).sort(flushOrder);
      if (round.length === 0) {
        result.remaining = snapshot.live.length;
        break;
      }
      for (const record of round) {
        tried.add(record.id);
        await attempt(ctx, record, handlerArg, options, result);
      }
    }
  } finally {
    ctx.store.lastSyncAt = ctx.clock.now();
    ctx.store.setSyncing(false);
  }
  if (result.remaining === 0 && result.processed + result.deadLettered > 0) ctx.events.emit('drained');
  return result;
}

// Unreadable entries are left in storage untouched: each is reported once as a dead letter.
function reportUnreadable<P>(ctx: FlushContext<P>, snapshot: Snapshot, result: ProcessResult, reportNameless: boolean): void {
  for (const letter of snapshot.dead) {
    if (letter.reason !== 'corrupt') continue;
    if (!ctx.reader.claimReport(letter.id)) continue;
    result.deadLettered++;
    ctx.events.emit(
      'deadLettered',
      letter as DeadLetter<P>,
      new QueueStorageError('QUEUE_ENTRY_UNREADABLE', letter.lastError.message, { itemId: letter.id }),
    );
  }
  // Entries without an id cannot be remembered: they are reported once per flush.
  if (!reportNameless) return;
  for (const entry of snapshot.nameless) {
    ctx.events.emit(
      'error',
      new QueueStorageError('QUEUE_ENTRY_UNREADABLE', 'closed-loop: the queue storage returned an entry without a usable id (or a repeated id); it was left where it is', {
        cause: entry,
      }),
    );
  }
}
