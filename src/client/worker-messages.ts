import { ClosedLoopError, HttpError } from '../errors/errors.js';
import type { QueueErrorInfo } from '../queue/storage.js';

// The messages closed-loop/service-worker's handleBackgroundSync posts to the windows, one per item
// it delivered or dead-lettered. Defined here, in the core, because a page's sync client reads them
// too: a call it queued and is still waiting on may be delivered by the worker instead of the page.
// Not exported from the package root; the service-worker entry exports the names.

/** The `type` of the message the worker posts for each item it delivered. */
export const PROCESSED_MESSAGE = 'closed-loop:processed';

/** The `type` of the message the worker posts for each item it moved to the dead letters. */
export const DEAD_LETTERED_MESSAGE = 'closed-loop:dead-lettered';

/**
 * The error a waiting call rejects with when the worker dead-lettered its item: an `HttpError` when
 * the server answered, otherwise a non-retryable `ClosedLoopError` with the original code and message.
 */
export function deadLetterError(info: QueueErrorInfo | undefined): Error {
  const message = info?.message ?? 'closed-loop: the service worker moved the item to the dead letters';
  if (typeof info?.status === 'number') return new HttpError(info.status, { message });
  return new ClosedLoopError(message, info?.code ?? 'DEAD_LETTERED', { retryable: false });
}
