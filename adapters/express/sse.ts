import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ChangeEvent, type TimerHandle, unrefTimer } from 'closed-loop';
import { cursorFrame, eventFrame, heartbeatFrame, resyncFrame, retryFrame } from './sse-frames.js';
import { type RealtimeSseHandler, type RealtimeSseOptions, type RealtimeSseSource, realtimeSseSettings } from './sse-options.js';
import { ReplayBuffer } from './sse-replay-buffer.js';
import { openStream, readStreamRequest, refuse } from './sse-request.js';
import { SseStreams } from './sse-streams.js';

export type { RealtimeSseHandler, RealtimeSseOptions, RealtimeSseSource } from './sse-options.js';

/**
 * A GET handler that streams a realtime service's change events as Server-Sent Events
 * (`text/event-stream`), with a bounded replay buffer so that a client that reconnects with
 * `Last-Event-ID` gets exactly the events it missed.
 *
 * Wire format, one frame per change event: `id: <eventId>` and `data: <the event as JSON>`. The
 * handler also sends, as named events that a plain `EventSource`'s `onmessage` does not see:
 * - `event: resync` (with `id:` set to the current position) when a client resumes from an id the
 *   buffer no longer holds (too old, unknown, or from before a server restart): it may have missed
 *   events and should refetch. The stream then continues live.
 * - `event: cursor` with an empty `data:` line and an `id:`, when the stream opens and at heartbeats
 *   whenever events of topics the client did not ask for moved the position on. It only advances the
 *   client's last event id, so a resume does not reach back further than needed (and a client that
 *   drops before its first event can still resume).
 * - comment lines (`: heartbeat`) every `heartbeatMs`.
 *
 * Behaviour:
 * - The handler subscribes to the service when `realtimeSse()` is called (not at the first request),
 *   so the buffer also covers events published while no client was connected. It keeps the last
 *   `bufferSize` events of the topics it serves.
 * - `?topics=a,b` narrows a stream to those topics. The resume position is the change event's
 *   `eventId`, so a client can resume against any server instance whose service shares the bus (for
 *   example over Redis) and has seen that event.
 * - `Last-Event-ID` (the header, which `EventSource` sends on its own reconnects, or the
 *   `lastEventId` query parameter, for a manual reconnect; the header wins) → the buffered events after
 *   that id, in order, then live events. An id the buffer does not hold → the resync signal, then
 *   live. No id → live events from now on.
 * - Writes are batched: every connection has a queue, written with one `res.write` per event-loop
 *   turn, so fanning an event out to many clients costs one string per event plus one write per
 *   client per turn.
 * - Backpressure: while a socket does not take data, events queue; when a connection has more than
 *   `maxQueuedBytes` waiting it is destroyed (the client resumes with `Last-Event-ID`).
 * - Headers: `Content-Type: text/event-stream`, `Cache-Control: no-cache, no-transform` (no-transform
 *   keeps compression middleware from buffering the stream), `Connection: keep-alive` (HTTP/1),
 *   `X-Accel-Buffering: no` (nginx); they are flushed at once.
 * - A connection is cleaned up when the response closes (client gone, socket destroyed).
 *   `handler.close()` ends every stream and unsubscribes; call it when shutting down.
 *
 * Events are serialised with `JSON.stringify`; an event that cannot be (a cycle, a BigInt) is not
 * sent. Only `GET` (and `HEAD`, headers only) are answered; other methods get a 405.
 *
 * @example
 * ```ts
 * const service = new RealtimeSyncService()
 * const events = realtimeSse(service, { bufferSize: 5000 })
 * app.get('/events', events)
 * // client: new RealtimeSyncService({ transport: new SseTransport('/events') })
 * process.on('SIGTERM', () => events.close())
 * ```
 *
 * @param service - the service whose events are streamed
 * @param options - topics, replay buffer size, heartbeat interval, backpressure limit, clock
 * @returns the request handler, with `close()` and `connectionCount`
 */
export function realtimeSse(service: RealtimeSseSource, options: RealtimeSseOptions = {}): RealtimeSseHandler {
  const { bufferSize, heartbeatMs, maxQueuedBytes, retryMs, served, clock } = realtimeSseSettings(service, options);
  const buffer = new ReplayBuffer(bufferSize);
  const streams = new SseStreams(maxQueuedBytes, stopHeartbeat);
  let heartbeat: TimerHandle; // undefined while none runs
  let closed = false;

  const onEvent = (event: ChangeEvent): void => {
    if (closed) return;
    const ready = eventFrame(event);
    if (ready === undefined) return;
    const entry = buffer.push(ready.id, ready.topic, ready.frame);
    for (const stream of streams.values()) {
      if (stream.topics !== undefined && !stream.topics.has(entry.topic)) continue;
      if (entry.id !== undefined) stream.position = entry.seq;
      streams.enqueue(stream, entry.frame);
    }
  };

  const unsubscribes: Array<() => void> = [];
  if (served === undefined) unsubscribes.push(service.subscribe('*', onEvent));
  else for (const topic of served) unsubscribes.push(service.subscribe(topic, onEvent));

  /** Moves `stream` to the buffer's cursor: the frame that tells the client, or '' when there is none. */
  function moveToCursor(stream: { position: number }): string {
    const cursor = buffer.cursor();
    if (cursor === undefined) return '';
    stream.position = cursor.seq;
    return cursorFrame(cursor.id);
  }

  function startHeartbeat(): void {
    if (heartbeatMs === 0 || heartbeat !== undefined || closed) return;
    heartbeat = unrefTimer(clock.setTimeout(beat, heartbeatMs));
  }

  function stopHeartbeat(): void {
    if (heartbeat === undefined) return;
    clock.clearTimeout(heartbeat);
    heartbeat = undefined;
  }

  function beat(): void {
    heartbeat = undefined;
    for (const stream of streams.values()) {
      // Events of topics it did not ask for moved the position on: let its last event id follow.
      const behind = stream.topics !== undefined && stream.position < buffer.next - 1;
      streams.enqueue(stream, heartbeatFrame(behind ? moveToCursor(stream) || undefined : undefined));
    }
    if (streams.size > 0) startHeartbeat();
  }

  /**
   * What a new stream starts with (the `retry:` field, then the replay and a cursor, or the resync
   * signal), and the position its client then stands at.
   */
  function opening(topics: ReadonlySet<string> | undefined, lastEventId: string | undefined): { text: string; position: number } {
    const at = { position: buffer.next - 1 };
    let text = retryMs !== undefined ? retryFrame(retryMs) : '';
    const from = lastEventId === undefined ? undefined : buffer.positionOf(lastEventId);
    if (lastEventId !== undefined && from === undefined) {
      const cursor = buffer.cursor();
      if (cursor !== undefined) at.position = cursor.seq;
      return { text: text + resyncFrame(cursor?.id, lastEventId), position: at.position };
    }
    let replayed = false;
    if (from !== undefined) {
      for (const entry of buffer.after(from)) {
        if (topics !== undefined && !topics.has(entry.topic)) continue;
        text += entry.frame;
        if (entry.id !== undefined) {
          at.position = entry.seq;
          replayed = true;
        }
      }
    }
    // Tell the client where it stands unless the last replayed event already did.
    if (!replayed || at.position < buffer.next - 1) text += moveToCursor(at);
    return { text, position: at.position };
  }

  function handle(req: IncomingMessage & { originalUrl?: string }, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      refuse(req, res, 405, 'Only GET opens an event stream.', { Allow: 'GET, HEAD' });
      return;
    }
    if (closed) {
      refuse(req, res, 503, 'The event stream endpoint is shut down.');
      return;
    }
    const request = readStreamRequest(req, res, served);
    if (request === undefined || !openStream(req, res)) return;
    const start = opening(request.topics, request.lastEventId);
    streams.add(res, request.topics, start.position, start.text);
    startHeartbeat();
  }

  const handler = function realtimeSseHandler(req: IncomingMessage, res: ServerResponse): void {
    handle(req, res);
  } as unknown as RealtimeSseHandler;
  Object.defineProperty(handler, 'connectionCount', { get: () => streams.size, enumerable: true });
  handler.close = () => {
    if (closed) return;
    closed = true;
    for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
    stopHeartbeat();
    streams.endAll();
  };
  return handler;
}
