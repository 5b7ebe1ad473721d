// The Server-Sent Events wire format the handler writes: each frame is complete, ending in the blank
// line that dispatches it.
import type { ChangeEvent } from 'closed-loop';

// An SSE field value must not contain line breaks, and an `id` containing NUL is ignored by parsers:
// such an event id cannot be a resume point.
const UNSAFE_ID = /[\r\n\0]/;

/** A change event ready to send: its frame, and its id when a client can resume from it. */
export interface EventFrame {
  id: string | undefined;
  topic: string;
  frame: string;
}

/**
 * The frame of a change event: `id: <eventId>` (left out when the id cannot be a resume point) and
 * `data: <the event as JSON>`; undefined for a value that is not an object or not serialisable (a
 * cycle, a BigInt).
 */
export function eventFrame(event: ChangeEvent): EventFrame | undefined {
  if (event === null || typeof event !== 'object') return undefined;
  let json: string;
  try {
    json = JSON.stringify(event);
  } catch {
    return undefined;
  }
  if (typeof json !== 'string') return undefined;
  const id = typeof event.eventId === 'string' && event.eventId !== '' && !UNSAFE_ID.test(event.eventId) ? event.eventId : undefined;
  const frame = id === undefined ? `data: ${json}\n\n` : `id: ${id}\ndata: ${json}\n\n`;
  return { id, topic: String(event.topic), frame };
}

/** Moves the client's last event id to `id` without an event (`onmessage` does not see it). */
export function cursorFrame(id: string): string {
  return `id: ${id}\nevent: cursor\ndata:\n\n`;
}

/** Tells a client that resumed from an id no longer held to refetch; `id` (if any) is where it now stands. */
export function resyncFrame(id: string | undefined, lastEventId: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: resync\ndata: ${JSON.stringify({ lastEventId })}\n\n`;
}

/** How long a browser's `EventSource` waits before reconnecting. */
export function retryFrame(ms: number): string {
  return `retry: ${ms}\n\n`;
}

/** A comment line that keeps the stream busy for proxies; `then` (a frame) follows it in the same block. */
export function heartbeatFrame(then?: string): string {
  return `: heartbeat\n${then ?? '\n'}`;
}
