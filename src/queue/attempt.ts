import type { Clock } from '../clock/clock.js';
import { ClosedLoopError } from '../errors/errors.js';
import type { Listeners } from '../internal/listeners.js';
import type { RetryOptions } from '../retry/options.js';
import { storageFailure } from './errors.js';
import type { OfflineQueueEvents } from './events.js';
import { classify, retryDelay } from './failure.js';
import type { ProcessOptions, ProcessResult } from './flush.js';
import { callHandler, type HandlerRegistry, type QueueHandler } from './handlers.js';
import type { QueueReader } from './reader.js';
import type { QueueStateStore } from './state.js';
import { type DeadLetter, errorInfo, type QueueItem, type QueueRecord, type QueueStorage, withoutFlight } from './storage.js';

// One delivery attempt of one item, from "is it due?" to what its outcome leaves in storage. An item
// is marked in flight before its handler runs and removed only after the handler succeeded, so a crash
// mid-attempt sends it again later, with the same key.

/** The parts of a queue object an attempt works with. */
export interface AttemptContext<P> {
  readonly storage: QueueStorage;
  readonly clock: Clock;
  readonly retry: RetryOptions;
  readonly maxAttempts: number;
  readonly maxRetentionMs: number;
  /** A deadline for one handler call in ms; 0 for none. */
  readonly timeoutMs: number;
  readonly handlers: HandlerRegistry<P>;
  readonly reader: QueueReader;
  readonly store: QueueStateStore;
  readonly events: Listeners<OfflineQueueEvents<P>>;
  /** Ids of held items: their caller is sending them, so flushes skip them. */
  readonly held: ReadonlySet<string>;
  /** Ids being sent now; `true` once `remove`/`clear` took the item away meanwhile. */
  readonly flying: Map<string, boolean>;
  /** The stored items changed: the `changed` event, and a state refresh. */
  changed(): void;
}

/**
 * Tries `seen` (as the flush's snapshot found it) once, if it is due: dead-letters it when it expired,
 * else sends it with its handler and stores the outcome, counted in `result`. Rejects only when the
 * item cannot be marked in flight (nothing was sent then).
 */
export async function attempt<P>(
  ctx: AttemptContext<P>,
  seen: QueueRecord,
  handlerArg: QueueHandler<P> | undefined,
  options: ProcessOptions,
  result: ProcessResult,
): Promise<void> {
  // Its caller is sending it: not ours to send (unless it is released, or the page dies).
  if (ctx.held.has(seen.id)) return;
  const now = ctx.clock.now();
  if (now - seen.createdAt >= ctx.maxRetentionMs) {
    const error = new ClosedLoopError(
      `closed-loop: queue item ${seen.id} was not delivered within maxRetentionMs (${ctx.maxRetentionMs} ms)`,
      'QUEUE_ITEM_EXPIRED',
      { retryable: false },
    );
    if (await deadLetter(ctx, seen, 'expired', error)) result.deadLettered++;
    return;
  }
  // An in-flight mark found while we hold the lock was left by a flush that died: send it again now.
  const due =
    seen.state === 'inFlight' ||
    seen.nextAttemptAt === undefined ||
    seen.nextAttemptAt <= now ||
    (options.networkRestored === true && seen.lastFailureUnanswered === true);
  if (!due) return;
  const handler = ctx.handlers.find(seen.type, handlerArg);
  if (!handler) {
    const error = new ClosedLoopError(
      seen.type === undefined
        ? `closed-loop: no handler for queue item ${seen.id}: pass \`handler\` to the OfflineQueue or to process()`
        : `closed-loop: no handler for queue item ${seen.id} of type ${JSON.stringify(seen.type)}: register one with registerHandler(${JSON.stringify(seen.type)}, handler)`,
      'QUEUE_NO_HANDLER',
    );
    result.failed++;
    ctx.store.failed++;
    ctx.events.emit('failed', seen as QueueItem<P>, error);
    return;
  }
  // Read again: the snapshot may be stale (removed, retried or changed since).
  const fresh = await ctx.reader.readOne(seen.id);
  if (fresh === undefined || fresh.state === 'deadLettered') return;
  const sending: QueueItem<P> = Object.freeze({ ...(fresh as QueueItem<P>), state: 'inFlight', inFlightSince: now });
  // Registered before the write, so a remove() that lands during it is not undone by it.
  ctx.flying.set(sending.id, false);
  try {
    await ctx.storage.put(sending);
  } catch (error) {
    ctx.flying.delete(sending.id);
    throw storageFailure(`mark queue item ${seen.id} as in flight`, error, seen.id);
  }
  if (ctx.flying.get(sending.id) === true) {
    ctx.flying.delete(sending.id);
    await deleteQuietly(ctx, sending.id);
    return;
  }
  ctx.changed();
  let value: unknown;
  let failure: { error: unknown } | undefined;
  try {
    value = await callHandler(handler, sending, ctx.timeoutMs, ctx.clock);
  } catch (error) {
    failure = { error };
  }
  const removed = ctx.flying.get(sending.id) === true;
  ctx.flying.delete(sending.id);
  if (!failure) {
    await deleteQuietly(ctx, sending.id);
    result.processed++;
    ctx.store.processed++;
    ctx.events.emit('processed', sending, value);
    ctx.changed();
    return;
  }
  if (removed) {
    await deleteQuietly(ctx, sending.id);
    return;
  }
  await settleFailure(ctx, sending, failure.error, result);
}

// A failed attempt: the item goes to the dead letters (refused, or out of attempts) or waits out a delay.
async function settleFailure<P>(ctx: AttemptContext<P>, sending: QueueItem<P>, error: unknown, result: ProcessResult): Promise<void> {
  const { verdict: classified, retryAfterMs } = classify(error);
  let verdict = classified;
  const attempts = verdict === 'unanswered' ? sending.attempts : sending.attempts + 1;
  if (verdict !== 'unanswered' && ctx.retry.shouldRetry) {
    try {
      verdict = (await ctx.retry.shouldRetry(error, attempts)) ? 'retry' : 'reject';
    } catch (thrown) {
      ctx.events.emit('error', thrown);
    }
  }
  if (verdict === 'reject' || attempts >= ctx.maxAttempts) {
    const counted: QueueItem<P> = { ...sending, attempts, failures: sending.failures + 1 };
    if (await deadLetter(ctx, counted, verdict === 'reject' ? 'rejected' : 'exhausted', error)) result.deadLettered++;
    return;
  }
  const failures = sending.failures + 1;
  const now = ctx.clock.now();
  const next: QueueItem<P> = Object.freeze({
    ...withoutFlight(sending),
    attempts,
    failures,
    state: 'pending',
    nextAttemptAt: now + retryDelay(failures, retryAfterMs, ctx.retry),
    lastFailureUnanswered: verdict === 'unanswered',
    lastError: errorInfo(error),
  });
  try {
    await ctx.storage.put(next);
  } catch (failed) {
    // It stays marked in flight: the next flush sends it again, with its key. Nothing is lost.
    ctx.events.emit('error', storageFailure(`record the failed attempt of queue item ${sending.id}`, failed, sending.id));
  }
  result.failed++;
  ctx.store.failed++;
  ctx.events.emit('failed', next, error);
  ctx.changed();
}

// Resolves false when the dead letter could not be stored (reported on the error event).
async function deadLetter<P>(ctx: AttemptContext<P>, record: QueueRecord, reason: DeadLetter['reason'], error: unknown): Promise<boolean> {
  const letter = Object.freeze({
    ...withoutFlight(record),
    state: 'deadLettered',
    reason,
    deadLetteredAt: ctx.clock.now(),
    lastError: errorInfo(error),
  }) as DeadLetter<P>;
  try {
    await ctx.storage.put(letter);
  } catch (failed) {
    ctx.events.emit('error', storageFailure(`move queue item ${record.id} to the dead letters`, failed, record.id));
    return false;
  }
  ctx.events.emit('deadLettered', letter, error);
  ctx.changed();
  return true;
}

async function deleteQuietly<P>(ctx: AttemptContext<P>, id: string): Promise<void> {
  try {
    await ctx.storage.delete(id);
  } catch (error) {
    // The item stays stored: it is sent again later with the same key and the server replays.
    ctx.events.emit('error', storageFailure(`remove delivered queue item ${id}`, error, id));
  }
}
