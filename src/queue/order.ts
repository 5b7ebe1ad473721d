import type { DeadLetter, QueueRecord } from './storage.js';

// The orders items are taken and listed in. Ties end on the id, so every tab sees one order.

/** The order a flush takes items in: higher priority first, then oldest first. */
export function flushOrder(a: QueueRecord, b: QueueRecord): number {
  return b.priority - a.priority || a.createdAt - b.createdAt || compareIds(a.id, b.id);
}

/** The order of the dead-letter list: oldest dead letter first. */
export function deadLetterOrder(a: DeadLetter, b: DeadLetter): number {
  return a.deadLetteredAt - b.deadLetteredAt || compareIds(a.id, b.id);
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
