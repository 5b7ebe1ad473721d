import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { type ChangeEvent, type Clock, realClock, type TimerHandle, unrefTimer } from 'closed-loop';

/**
 * What {@link realtimeSse} needs of a realtime service: a `RealtimeSyncService` fits, and so does
 * anything else with the same `subscribe`.
 */
export interface RealtimeSseSource {
  /** Subscribes to a topic (`'*'`: every topic); returns the unsubscribe function. */
  subscribe(topic: string, callback: (event: ChangeEvent) => void): () => void;
}

/** Options of {@link realtimeSse}. */
export interface RealtimeSseOptions {
  /**
   * The topics this endpoint serves. Default: every topic (the handler subscribes to `'*'`). With a
   * list, the handler subscribes to those topics only, and a request whose `?topics=` names any
   * other topic gets a 400.
   */
  topics?: readonly string[];
  /**
   * How many of the latest events the replay buffer keeps for clients that resume with
   * `Last-Event-ID`. Default 1000; 0 keeps none (every resume gets the resync signal). The buffer is
   * shared by all connections and filled from the moment `realtimeSse()` is called.
   */
  bufferSize?: number;
  /**
   * How often every open stream gets a heartbeat (an SSE comment line), so that proxies and load
   * balancers do not close idle streams. Default 15000 ms; 0 sends none. Driven by `clock`.
   */
  heartbeatMs?: number;
  /**
   * Sent once per stream as the SSE `retry:` field: how long a browser's own `EventSource` waits
   * before reconnecting. Default: not sent (the browser's default, or `SseTransport`'s
   * `reconnectDelayMs`, applies).
   */
  retryMs?: number;
  /**
   * How much output one connection may have waiting (bytes not yet taken by the socket plus
   * characters queued for the next write) before the handler drops it. Default 1 MiB; a resuming
   * client's replay comes on top until the socket has taken it. A client that stops reading is cut
   * off rather than buffered for without bound; when it reconnects with `Last-Event-ID` it gets what
   * it missed from the replay buffer (or the resync signal).
   */
  maxQueuedBytes?: number;
  /** The clock for heartbeats. Default `realClock`. */
  clock?: Clock;
}

/**
 * The GET handler {@link realtimeSse} returns: an Express request handler (it also works as a plain
 * `node:http` request listener) with a way to stop it.
 */
export interface RealtimeSseHandler extends RequestHandler {
  /**
   * Stops the endpoint: unsubscribes from the service, ends every open stream (after writing what
   * was queued) and stops the heartbeat timer. Later requests get a 503. Idempotent.
   */
  close(): void;
  /** How many streams are open right now. */
  readonly connectionCount: number;
}

const DEFAULT_BUFFER_SIZE = 1000;
const DEFAULT_HEARTBEAT_MS = 15_000;
const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;

// An SSE field value must not contain line breaks, and an `id` containing NUL is ignored by parsers:
// such an event id cannot be a resume point.
const UNSAFE_ID = /[\r\n\0]/;

/** One buffered event: its position, its id (when resumable), its topic and its ready-made frame. */
interface Entry {
  seq: number;
  id: string | undefined;
  topic: string;
  frame: string;
}

/**
 * The ring of the last `capacity` events, indexed by event id. Positions (`seq`) count every event
 * the handler has seen; position -1 is "before the first event".
 */
class ReplayBuffer {
  private readonly ring: Array<Entry | undefined>;
  private readonly byId = new Map<string, number>();
  /** The position the next event gets. */
  next = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<Entry | undefined>(capacity);
  }

  /** The oldest position still held (equals `next` when the buffer is empty). */
  get oldest(): number {
    return Math.max(0, this.next - this.capacity);
  }

  push(id: string | undefined, topic: string, frame: string): Entry {
    const entry: Entry = { seq: this.next++, id, topic, frame };
    if (this.capacity === 0) return entry;
    const slot = entry.seq % this.capacity;
    const evicted = this.ring[slot];
    if (evicted?.id !== undefined && this.byId.get(evicted.id) === evicted.seq) this.byId.delete(evicted.id);
    this.ring[slot] = entry;
    if (id !== undefined) this.byId.set(id, entry.seq);
    return entry;
  }

  /** The position of a held event id, or undefined when it is unknown or was evicted. */
  positionOf(id: string): number | undefined {
    const seq = this.byId.get(id);
    return seq !== undefined && seq >= this.oldest ? seq : undefined;
  }

  /** The held entries after position `seq`, oldest first. */
  *after(seq: number): Generator<Entry> {
    for (let s = Math.max(seq + 1, this.oldest); s < this.next; s++) yield this.ring[s % this.capacity]!;
  }

  /** The newest held entry with a resumable id, or undefined. */
  latestResumable(): Entry | undefined {
    for (let s = this.next - 1; s >= this.oldest; s--) {
      const entry = this.ring[s % this.capacity]!;
      if (entry.id !== undefined) return entry;
    }
    return undefined;
  }
}

/** One open stream. */
interface Connection {
  res: ServerResponse;
  /** undefined: every topic. */
  topics: ReadonlySet<string> | undefined;
  queue: string[];
  queuedChars: number;
  /** The position the client's last event id stands for. */
  position: number;
  /** Waiting for 'drain': nothing is written until then. */
  blocked: boolean;
  /** How much may wait: `maxQueuedBytes`, plus the replay until the socket has taken it. */
  limit: number;
  closed: boolean;
}

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
  if (service === null || typeof service !== 'object' || typeof service.subscribe !== 'function') {
    throw new TypeError('realtimeSse: service must have a subscribe(topic, callback) method');
  }
  const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
  if (!Number.isSafeInteger(bufferSize) || bufferSize < 0) {
    throw new TypeError(`realtimeSse: bufferSize must be an integer >= 0, got ${String(bufferSize)}`);
  }
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  if (typeof heartbeatMs !== 'number' || !Number.isFinite(heartbeatMs) || heartbeatMs < 0) {
    throw new TypeError(`realtimeSse: heartbeatMs must be a finite number >= 0, got ${String(heartbeatMs)}`);
  }
  const maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  if (typeof maxQueuedBytes !== 'number' || !(maxQueuedBytes > 0)) {
    throw new TypeError(`realtimeSse: maxQueuedBytes must be a number > 0, got ${String(maxQueuedBytes)}`);
  }
  const retryMs = options.retryMs;
  if (retryMs !== undefined && (!Number.isSafeInteger(retryMs) || retryMs < 0)) {
    throw new TypeError(`realtimeSse: retryMs must be an integer >= 0, got ${String(retryMs)}`);
  }
  let served: ReadonlySet<string> | undefined;
  if (options.topics !== undefined) {
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new TypeError('realtimeSse: topics must be a non-empty array of topic names');
    }
    for (const topic of options.topics) {
      if (typeof topic !== 'string' || topic === '' || topic === '*') {
        throw new TypeError(`realtimeSse: invalid topic ${JSON.stringify(topic)}`);
      }
    }
    served = new Set(options.topics);
  }
  const clock = options.clock ?? realClock;

  const buffer = new ReplayBuffer(bufferSize);
  const connections = new Set<Connection>();
  const dirty = new Set<Connection>();
  let flushScheduled = false;
  let heartbeat: TimerHandle | undefined;
  let closed = false;
  // Stands for position -1 ("before the first event this handler saw") while no event has an id yet.
  // Unique per handler, so a resume from it on another instance or after a restart gets a resync.
  const origin = `sse-origin-${randomUUID()}`;

  const onEvent = (event: ChangeEvent): void => {
    if (closed || event === null || typeof event !== 'object') return;
    let json: string;
    try {
      json = JSON.stringify(event);
    } catch {
      return;
    }
    if (typeof json !== 'string') return;
    const id = typeof event.eventId === 'string' && event.eventId !== '' && !UNSAFE_ID.test(event.eventId) ? event.eventId : undefined;
    const frame = id === undefined ? `data: ${json}\n\n` : `id: ${id}\ndata: ${json}\n\n`;
    const entry = buffer.push(id, String(event.topic), frame);
    for (const conn of connections) {
      if (conn.topics !== undefined && !conn.topics.has(entry.topic)) continue;
      if (id !== undefined) conn.position = entry.seq;
      enqueue(conn, frame);
    }
  };

  const unsubscribes: Array<() => void> = [];
  if (served === undefined) unsubscribes.push(service.subscribe('*', onEvent));
  else for (const topic of served) unsubscribes.push(service.subscribe(topic, onEvent));

  /** The frame that moves a client's last event id to the current position, or '' when there is none. */
  function cursorFrame(conn: Connection): string {
    const latest = buffer.latestResumable();
    if (latest !== undefined) {
      conn.position = latest.seq;
      return `id: ${latest.id}\nevent: cursor\ndata:\n\n`;
    }
    if (buffer.oldest === 0) {
      conn.position = buffer.next - 1;
      return `id: ${origin}\nevent: cursor\ndata:\n\n`;
    }
    return '';
  }

  function enqueue(conn: Connection, chunk: string): void {
    if (conn.closed) return;
    conn.queue.push(chunk);
    conn.queuedChars += chunk.length;
    if (conn.queuedChars + conn.res.writableLength > conn.limit) {
      // It does not read: drop it rather than buffer without bound. It resumes with Last-Event-ID.
      drop(conn, true);
      return;
    }
    if (conn.blocked) return;
    dirty.add(conn);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushAll);
    }
  }

  function flushAll(): void {
    flushScheduled = false;
    for (const conn of dirty) flush(conn);
    dirty.clear();
  }

  function flush(conn: Connection): void {
    if (conn.closed || conn.blocked || conn.queue.length === 0) return;
    const chunk = conn.queue.length === 1 ? conn.queue[0]! : conn.queue.join('');
    conn.queue = [];
    conn.queuedChars = 0;
    if (conn.res.write(chunk)) {
      conn.limit = maxQueuedBytes;
    } else {
      conn.blocked = true;
      conn.res.once('drain', () => {
        conn.blocked = false;
        conn.limit = maxQueuedBytes;
        flush(conn);
      });
    }
  }

  function drop(conn: Connection, destroy: boolean): void {
    if (conn.closed) return;
    conn.closed = true;
    connections.delete(conn);
    dirty.delete(conn);
    conn.queue = [];
    conn.queuedChars = 0;
    if (destroy) conn.res.destroy();
    if (connections.size === 0) stopHeartbeat();
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
    for (const conn of connections) {
      const behind = conn.topics !== undefined && conn.position < buffer.next - 1;
      enqueue(conn, behind ? `: heartbeat\n${cursorFrame(conn) || '\n'}` : ': heartbeat\n\n');
    }
    if (connections.size > 0) startHeartbeat();
  }

  function handle(req: IncomingMessage & { originalUrl?: string }, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reject(res, 405, 'Only GET opens an event stream.', { Allow: 'GET, HEAD' });
      return;
    }
    if (closed) {
      reject(res, 503, 'The event stream endpoint is shut down.');
      return;
    }
    const query = new URL(req.originalUrl ?? req.url ?? '/', 'http://localhost').searchParams;
    let topics: Set<string> | undefined;
    const requested = query
      .getAll('topics')
      .flatMap((value) => value.split(','))
      .map((topic) => topic.trim())
      .filter((topic) => topic !== '');
    if (requested.length > 0 && !requested.includes('*')) topics = new Set(requested);
    if (served !== undefined) {
      if (topics === undefined) topics = new Set(served);
      const unknown = [...topics].filter((topic) => !served!.has(topic));
      if (unknown.length > 0) {
        reject(res, 400, `This endpoint does not serve topic(s) ${unknown.map((t) => JSON.stringify(t)).join(', ')}.`);
        return;
      }
      // Every served topic asked for: no per-event filtering needed.
      if (topics.size === served.size) topics = undefined;
    }
    const header = req.headers['last-event-id'];
    const lastEventId = typeof header === 'string' ? header : (query.get('lastEventId') ?? undefined);

    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    if (req.httpVersionMajor < 2) res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.flushHeaders();
    res.socket?.setNoDelay(true);

    const conn: Connection = {
      res,
      topics,
      queue: [],
      queuedChars: 0,
      position: buffer.next - 1,
      blocked: false,
      limit: maxQueuedBytes,
      closed: false,
    };
    let opening = retryMs !== undefined ? `retry: ${retryMs}\n\n` : '';
    const from = lastEventId === undefined ? undefined : lastEventId === origin && buffer.oldest === 0 ? -1 : buffer.positionOf(lastEventId);
    if (lastEventId !== undefined && from === undefined) {
      const cursor = cursorFrame(conn);
      const id = cursor === '' ? '' : cursor.slice(0, cursor.indexOf('\n') + 1);
      opening += `${id}event: resync\ndata: ${JSON.stringify({ lastEventId })}\n\n`;
    } else {
      let replayed = false;
      if (from !== undefined) {
        for (const entry of buffer.after(from)) {
          if (topics !== undefined && !topics.has(entry.topic)) continue;
          opening += entry.frame;
          if (entry.id !== undefined) {
            conn.position = entry.seq;
            replayed = true;
          }
        }
      }
      // Tell the client where it stands unless the last replayed event already did.
      if (!replayed || conn.position < buffer.next - 1) opening += cursorFrame(conn);
    }

    connections.add(conn);
    res.on('close', () => drop(conn, false));
    res.on('error', () => drop(conn, true));
    // A replay is as large as the buffer allows: it must not count against the backpressure limit,
    // or a client far behind would be dropped on every resume.
    conn.limit = maxQueuedBytes + opening.length;
    if (opening !== '') enqueue(conn, opening);
    startHeartbeat();
  }

  const handler = function realtimeSseHandler(req: IncomingMessage, res: ServerResponse): void {
    handle(req, res);
  } as unknown as RealtimeSseHandler;
  Object.defineProperty(handler, 'connectionCount', { get: () => connections.size, enumerable: true });
  handler.close = () => {
    if (closed) return;
    closed = true;
    for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
    stopHeartbeat();
    for (const conn of [...connections]) {
      flush(conn);
      drop(conn, false);
      conn.res.end();
    }
  };
  return handler;
}

function reject(res: ServerResponse, status: number, detail: string, headers: Record<string, string> = {}): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/problem+json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify({ type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail }));
}
