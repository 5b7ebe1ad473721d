import { isOfflineQueuedError } from '../errors/errors.js';
import { hasMethods } from '../internal/validate.js';
import type { QueuedRequest, SyncClientQueue, SyncMethod } from './options.js';

// Durable calls: the client holds each one in its offline queue while it sends it (see
// SyncRequestOptions.durable). The queue's side is OfflineQueue.hold/release/remove.

/** What of a call the queue stores. */
interface QueuedCall {
  method: SyncMethod;
  path: string;
  bodyValue: unknown;
  headers: Record<string, string> | undefined;
}

/** What the queue stores for a call (also for one queued when it cannot get through). */
export function queuedRequest(call: QueuedCall): QueuedRequest {
  const payload: QueuedRequest = { method: call.method, path: call.path };
  if (call.bodyValue !== undefined) payload.body = call.bodyValue;
  if (call.headers !== undefined) payload.headers = call.headers;
  return payload;
}

/** The parts of a call that holding it reads and writes. */
interface HeldCall extends QueuedCall {
  durable: boolean;
  key: string | undefined;
  /** Set to the held item's id before the first send. */
  held: string | undefined;
}

/**
 * Runs a call through `send`. A durable one is held in the queue while it is sent: taken out on a
 * final answer, left to the queue (and the call rejects with OfflineQueuedError) when it cannot get
 * through.
 */
export async function holdWhileSending<C extends HeldCall, R>(
  call: C,
  queue: SyncClientQueue | undefined,
  itemType: string,
  send: (call: C) => Promise<R>,
): Promise<R> {
  if (!call.durable) return send(call);
  const holder = queue!;
  const item = await holder.hold!(queuedRequest(call), { idempotencyKey: call.key!, type: itemType });
  call.held = item.id;
  let response: R;
  try {
    response = await send(call);
  } catch (error) {
    if (!isOfflineQueuedError(error)) await forget(holder, item.id);
    throw error;
  }
  await forget(holder, item.id);
  return response;
}

/** Takes a durable call's item out of the queue once the server answered it for good. */
async function forget(queue: SyncClientQueue, id: string): Promise<void> {
  try {
    await queue.remove!(id);
  } catch {
    // It stays stored: the queue sends it again later with its key, and the server replays its answer.
  }
}

/** Durable calls need a queue that can hold items while they are sent. */
export function checkHoldingQueue(queue: SyncClientQueue | undefined): void {
  if (queue === undefined) throw new TypeError('closed-loop: `durable` needs the client\'s `offlineQueue`');
  if (!hasMethods(queue, ['hold', 'release', 'remove'])) {
    throw new TypeError('closed-loop: `durable` needs an `offlineQueue` with hold, release and remove (an OfflineQueue)');
  }
}

