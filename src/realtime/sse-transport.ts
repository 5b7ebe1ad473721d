import { type Clock, realClock, type TimerHandle, unrefTimer } from '../clock/clock.js';
import { HttpError, parseRetryAfter } from '../errors/errors.js';
import type { ChangeEvent, RealtimeStatus, RealtimeTransport, RealtimeTransportListener } from './types.js';

/** One event dispatched by {@link SseParser}. */
export interface SseMessage {
  /** The `event:` field, or `'message'` when the frame had none. */
  type: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The stream's last event id at dispatch (set by this or an earlier frame's `id:`). */
  lastEventId: string;
}

/**
 * An incremental parser of the `text/event-stream` format as the HTML standard defines it: fields
 * `id`, `event`, `data` (several lines join with `\n`) and `retry`, comment lines (`:`), line ends
 * CRLF, LF or CR, a leading BOM, and chunks split anywhere (even between CR and LF). A frame without
 * data dispatches nothing but still sets {@link SseParser.lastEventId}; an unfinished frame at the end
 * of the stream is never dispatched.
 */
export class SseParser {
  /** The last event id of the stream so far: what a reconnect sends as `Last-Event-ID`. */
  lastEventId: string;
  private idBuffer: string;
  private data = '';
  private eventType = '';
  private line = '';
  private skipLineFeed = false;
  private started = false;

  /**
   * @param onMessage - called for every dispatched event
   * @param onRetry - called with the value of a valid `retry:` field, in ms
   * @param lastEventId - the last event id to start from (a resumed stream keeps it until the server sets another)
   */
  constructor(
    private readonly onMessage: (message: SseMessage) => void,
    private readonly onRetry?: (ms: number) => void,
    lastEventId = '',
  ) {
    this.lastEventId = lastEventId;
    this.idBuffer = lastEventId;
  }

  /**
   * Feeds the next piece of decoded text.
   *
   * @param chunk - text as it arrived; may end anywhere
   */
  push(chunk: string): void {
    let start = 0;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) start = 1;
    }
    if (this.skipLineFeed && chunk.length > start) {
      this.skipLineFeed = false;
      if (chunk.charCodeAt(start) === 10) start++;
    }
    for (let i = start; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.line === '' ? chunk.slice(start, i) : this.line + chunk.slice(start, i);
      this.line = '';
      if (c === 13) {
        if (i + 1 < chunk.length) {
          if (chunk.charCodeAt(i + 1) === 10) i++;
        } else {
          this.skipLineFeed = true;
        }
      }
      start = i + 1;
      this.processLine(line);
    }
    if (start < chunk.length) this.line += chunk.slice(start);
  }

  private processLine(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' a comment
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case 'data':
        this.data += `${value}\n`;
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.idBuffer = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.onRetry?.(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    this.lastEventId = this.idBuffer;
    if (this.data === '') {
      this.eventType = '';
      return;
    }
    const message: SseMessage = {
      type: this.eventType === '' ? 'message' : this.eventType,
      data: this.data.slice(0, -1),
      lastEventId: this.lastEventId,
    };
    this.data = '';
    this.eventType = '';
    this.onMessage(message);
  }
}

/** Extra request headers of an {@link SseTransport}: for example an `Authorization` header. @category Realtime */
export type SseTransportHeaders = Record<string, string> | Headers;

/** Options of {@link SseTransport}. @category Realtime */
export interface SseTransportOptions {
  /** The clock for reconnect delays and the idle watchdog. Default `realClock`. */
  clock?: Clock;
  /**
   * How long to wait after a drop before reconnecting. Default 1000 ms. Each further failed attempt
   * in a row doubles the wait (with jitter: between half and all of it) up to `maxReconnectDelayMs`;
   * an attempt counts as good once the stream delivers something. With streaming fetch, a `retry:`
   * field from the server replaces this value and a `Retry-After` on a failed response lengthens the
   * next wait (`EventSource` shows neither).
   */
  reconnectDelayMs?: number;
  /** The longest wait between reconnect attempts. Default 30000 ms. */
  maxReconnectDelayMs?: number;
  /**
   * Streaming fetch only: a stream that delivers nothing (not even a heartbeat) for this long is
   * treated as dropped, which catches half-open connections. Default 45000 ms (three of
   * `realtimeSse`'s default heartbeats); 0 turns it off. Keep it above the server's `heartbeatMs`.
   * `EventSource` hides heartbeats, so it has no watchdog.
   */
  idleTimeoutMs?: number;
  /**
   * Which topics to ask the server for (`?topics=`). Default: every topic the endpoint serves.
   * A list asks for those. `'watched'` follows the service: the topics that have subscribers (all
   * of them once someone subscribes to `'*'`); when that set changes the stream is reopened (resuming
   * from the last event id, so nothing is lost on topics still watched; a newly watched topic may get
   * events from up to one server heartbeat before), and while nothing is watched no stream is open.
   */
  topics?: readonly string[] | 'watched';
  /** The last event id to resume from on the first connection, e.g. one kept across a page reload. */
  lastEventId?: string;
  /**
   * Extra request headers (or a function, possibly async, called before every attempt, for tokens
   * that expire). Streaming fetch only: `EventSource` cannot send headers, so with this option
   * `mode: 'auto'` uses fetch in browsers too; for `EventSource` use cookies (`withCredentials`).
   */
  headers?: SseTransportHeaders | (() => SseTransportHeaders | Promise<SseTransportHeaders>);
  /** The fetch to use (tests, instrumented clients). Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** The `EventSource` class to use. Default `globalThis.EventSource`. */
  EventSource?: typeof EventSource;
  /**
   * `'auto'` (default): `EventSource` where it exists and neither `headers` nor `fetch` is given,
   * otherwise streaming fetch (Node has no `EventSource`). `'fetch'` or `'eventsource'` force one.
   */
  mode?: 'auto' | 'fetch' | 'eventsource';
  /** Sends cookies cross-origin (`EventSource` `withCredentials`, fetch `credentials: 'include'`). Default false. */
  withCredentials?: boolean;
  /**
   * Where {@link SseTransport.publish} POSTs events (as JSON, with `headers`). Default: none, and
   * `publish` does nothing: the stream is one-way, and the service has already delivered the event to
   * its own subscribers. With a URL, the server handler is the app's own (for example one that calls
   * `service.publish(body.topic, body)` after checking the caller may); a non-2xx answer rejects with
   * an `HttpError`, which the service reports as an `error` event.
   */
  publishUrl?: string;
}

const DEFAULT_RECONNECT_DELAY_MS = 1000;
const DEFAULT_MAX_RECONNECT_DELAY_MS = 30_000;
const DEFAULT_IDLE_TIMEOUT_MS = 45_000;

/**
 * The client half of the SSE pair: a {@link RealtimeTransport} that reads a `realtimeSse()` endpoint
 * (`closed-loop/express`) and resumes after every drop.
 *
 * - Browsers: `EventSource`. Node (no `EventSource` in Node 20) or with custom `headers`: streaming
 *   `fetch` with `Accept: text/event-stream`, parsed as the HTML standard specifies (fields, comments,
 *   CRLF/LF/CR line ends, chunks split anywhere).
 * - Reconnects: after a drop (or a failed attempt) it waits `reconnectDelayMs` on the clock (doubling,
 *   capped, on repeated failures) and reconnects with the last event id it saw — the `Last-Event-ID`
 *   header with fetch, the `lastEventId` query parameter with `EventSource` (the transport closes the
 *   `EventSource` on error and reconnects itself, so the delay and the status are its own). The server
 *   replays exactly the events after that id, so the service gets every event once, in order.
 * - Status: `'connected'` when a stream opens, `'reconnecting'` when it drops, `'resynced'` when the
 *   server says it cannot replay from the last id (its buffer no longer reaches back, or it
 *   restarted): the app should refetch. A reconnect without any id to resume from also reports
 *   `'resynced'`. Before the first successful connection the status stays `'connecting'`.
 * - Frames whose data is not a change event (not JSON, no `topic`/`eventId`) are ignored.
 * - {@link SseTransport.publish} is a no-op unless `publishUrl` is set: see that option.
 *
 * @example
 * ```ts
 * const service = new RealtimeSyncService({
 *   transport: new SseTransport('/events', { headers: () => ({ Authorization: `Bearer ${token()}` }) }),
 * })
 * service.on('status', (status) => { if (status === 'resynced') refetchAll() })
 * ```
 * @category Realtime
 */
export class SseTransport implements RealtimeTransport {
  private readonly url: URL;
  private readonly clock: Clock;
  private readonly reconnectDelayMs: number;
  private readonly maxReconnectDelayMs: number;
  private readonly idleTimeoutMs: number;
  private readonly fixedTopics: readonly string[] | undefined;
  private readonly followWatched: boolean;
  private readonly headers: SseTransportOptions['headers'];
  private readonly fetchFn: typeof fetch | undefined;
  private readonly EventSourceClass: typeof EventSource | undefined;
  private readonly withCredentials: boolean;
  private readonly publishUrl: string | undefined;

  private listener: RealtimeTransportListener | undefined;
  private closed = false;
  private cursor: string | undefined;
  private serverRetryMs: number | undefined;
  private status: RealtimeStatus | undefined;
  /** Bumped whenever the current attempt or stream is abandoned: late callbacks of old ones are ignored. */
  private generation = 0;
  /** An attempt is in flight or a stream is open. */
  private active = false;
  private open = false;
  private everOpened = false;
  /** The last stream was lost (not closed on purpose) since the last open. */
  private lost = false;
  private failures = 0;
  private reconnectTimer: TimerHandle | undefined;
  private idleTimer: TimerHandle | undefined;
  private lastActivity = 0;
  private abortController: AbortController | undefined;
  private source: EventSource | undefined;
  private readonly watched = new Set<string>();
  private streamKey: string | undefined;
  private retopicQueued = false;

  /**
   * @param url - the `realtimeSse()` endpoint; relative URLs resolve against the page in browsers
   * @param options - clock, reconnect delays, topics, headers, fetch or EventSource, publish URL
   */
  constructor(url: string | URL, options: SseTransportOptions = {}) {
    const base = (globalThis as { location?: { href?: unknown } }).location?.href;
    try {
      this.url = new URL(String(url), typeof base === 'string' ? base : undefined);
    } catch {
      throw new TypeError(`SseTransport: invalid URL ${JSON.stringify(String(url))}`);
    }
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') {
      throw new TypeError(`SseTransport: the URL must be http(s), got ${this.url.protocol}`);
    }
    this.clock = options.clock ?? realClock;
    this.reconnectDelayMs = checkMs('reconnectDelayMs', options.reconnectDelayMs, DEFAULT_RECONNECT_DELAY_MS);
    this.maxReconnectDelayMs = checkMs(
      'maxReconnectDelayMs',
      options.maxReconnectDelayMs,
      Math.max(DEFAULT_MAX_RECONNECT_DELAY_MS, this.reconnectDelayMs),
    );
    if (this.maxReconnectDelayMs < this.reconnectDelayMs) {
      throw new TypeError('SseTransport: maxReconnectDelayMs must not be below reconnectDelayMs');
    }
    this.idleTimeoutMs = checkMs('idleTimeoutMs', options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS);
    const topics = options.topics;
    this.followWatched = topics === 'watched';
    if (topics !== undefined && topics !== 'watched') {
      if (!Array.isArray(topics) || topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === '' || t.includes(','))) {
        throw new TypeError("SseTransport: topics must be 'watched' or a non-empty array of topic names without commas");
      }
      this.fixedTopics = topics.includes('*') ? undefined : [...topics];
    }
    if (options.lastEventId !== undefined) {
      if (typeof options.lastEventId !== 'string') throw new TypeError('SseTransport: lastEventId must be a string');
      if (options.lastEventId !== '') this.cursor = options.lastEventId;
    }
    if (options.headers !== undefined && typeof options.headers !== 'function' && (typeof options.headers !== 'object' || options.headers === null)) {
      throw new TypeError('SseTransport: headers must be an object or a function returning one');
    }
    this.headers = options.headers;
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError('SseTransport: fetch must be a function');
    if (options.EventSource !== undefined && typeof options.EventSource !== 'function') {
      throw new TypeError('SseTransport: EventSource must be a class');
    }
    const mode = options.mode ?? 'auto';
    if (mode !== 'auto' && mode !== 'fetch' && mode !== 'eventsource') {
      throw new TypeError(`SseTransport: mode must be 'auto', 'fetch' or 'eventsource', got ${JSON.stringify(mode)}`);
    }
    const globalEventSource = (globalThis as { EventSource?: typeof EventSource }).EventSource;
    const eventSource = options.EventSource ?? globalEventSource;
    const useEventSource =
      mode === 'eventsource' || (mode === 'auto' && eventSource !== undefined && options.headers === undefined && options.fetch === undefined);
    if (useEventSource) {
      if (eventSource === undefined) throw new TypeError("SseTransport: mode 'eventsource' needs an EventSource (none here)");
      if (options.headers !== undefined) {
        throw new TypeError("SseTransport: EventSource cannot send headers; use mode 'fetch' or cookies (withCredentials)");
      }
      this.EventSourceClass = eventSource;
    }
    this.fetchFn = options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined);
    if (!useEventSource && this.fetchFn === undefined) throw new TypeError('SseTransport: no fetch available; pass options.fetch');
    this.withCredentials = options.withCredentials === true;
    if (options.publishUrl !== undefined) {
      try {
        this.publishUrl = new URL(String(options.publishUrl), typeof base === 'string' ? base : undefined).href;
      } catch {
        throw new TypeError(`SseTransport: invalid publishUrl ${JSON.stringify(String(options.publishUrl))}`);
      }
      if (this.fetchFn === undefined) throw new TypeError('SseTransport: publishUrl needs fetch; pass options.fetch');
    }
  }

  /** The last event id seen: where the next connection resumes. `undefined` before the first one. */
  get lastEventId(): string | undefined {
    return this.cursor;
  }

  /** {@inheritDoc RealtimeTransport.connect} */
  connect(listener: RealtimeTransportListener): void {
    if (this.listener !== undefined) throw new Error('SseTransport: connect() was already called');
    if (this.closed) throw new Error('SseTransport: the transport is closed');
    this.listener = listener;
    this.start();
  }

  /**
   * Does nothing unless `publishUrl` is set (then: POSTs the event as JSON). See
   * {@link SseTransportOptions.publishUrl}.
   *
   * @param event - the event the service published
   */
  publish(event: ChangeEvent): void | Promise<void> {
    if (this.publishUrl === undefined || this.closed) return;
    return this.post(this.publishUrl, event);
  }

  /** With `topics: 'watched'`: the service has subscribers on `topic`; the stream is reopened to include it. */
  watch(topic: string): void {
    if (!this.followWatched || this.watched.has(topic)) return;
    this.watched.add(topic);
    this.queueRetopic();
  }

  /** With `topics: 'watched'`: the last subscriber on `topic` left; the stream is reopened without it. */
  unwatch(topic: string): void {
    if (!this.followWatched || !this.watched.delete(topic)) return;
    this.queueRetopic();
  }

  /** Aborts the stream and stops reconnecting. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelReconnect();
    this.teardown();
  }

  // ---- connection lifecycle ----

  /** The `?topics=` value to ask for: `undefined` for all, `null` for nothing (no stream). */
  private wantedTopics(): string | undefined | null {
    if (this.followWatched) {
      if (this.watched.size === 0) return null;
      if (this.watched.has('*')) return undefined;
      return [...this.watched].sort().join(',');
    }
    return this.fixedTopics?.join(',');
  }

  private start(): void {
    this.reconnectTimer = undefined;
    if (this.closed || this.listener === undefined) return;
    const topics = this.wantedTopics();
    if (topics === null) return;
    const generation = ++this.generation;
    this.active = true;
    this.streamKey = topics;
    const url = new URL(this.url.href);
    if (topics !== undefined) url.searchParams.set('topics', topics);
    if (this.EventSourceClass !== undefined) {
      if (this.cursor !== undefined) url.searchParams.set('lastEventId', this.cursor);
      this.startEventSource(generation, url.href);
    } else {
      void this.startFetch(generation, url.href);
    }
  }

  private async startFetch(generation: number, url: string): Promise<void> {
    const controller = new AbortController();
    this.abortController = controller;
    let response: Response;
    try {
      const headers = await this.requestHeaders();
      headers.set('Accept', 'text/event-stream');
      if (this.cursor !== undefined) headers.set('Last-Event-ID', this.cursor);
      if (generation !== this.generation) return;
      response = await this.fetchFn!(url, {
        headers,
        signal: controller.signal,
        credentials: this.withCredentials ? 'include' : 'same-origin',
      });
    } catch {
      if (generation === this.generation) this.onLost();
      return;
    }
    if (generation !== this.generation) {
      void response.body?.cancel().catch(() => {});
      return;
    }
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok || !/^text\/event-stream\b/i.test(type) || response.body === null) {
      void response.body?.cancel().catch(() => {});
      this.onLost(parseRetryAfter(response.headers.get('retry-after'), this.clock.now()));
      return;
    }
    this.onOpen();
    const parser = new SseParser(
      (message) => this.onMessage(message),
      (ms) => {
        this.serverRetryMs = ms;
      },
      this.cursor ?? '',
    );
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (generation !== this.generation) return;
        if (done) break;
        this.lastActivity = this.clock.now();
        this.failures = 0;
        parser.push(decoder.decode(value, { stream: true }));
        if (parser.lastEventId !== '') this.cursor = parser.lastEventId;
        if (generation !== this.generation) return;
      }
    } catch {
      // A read error is a drop, like the end of the stream.
    }
    if (generation !== this.generation) return;
    this.teardown();
    this.onLost();
  }

  private startEventSource(generation: number, url: string): void {
    let source: EventSource;
    try {
      source = new this.EventSourceClass!(url, { withCredentials: this.withCredentials });
    } catch {
      this.onLost();
      return;
    }
    this.source = source;
    const seen = (event: MessageEvent): boolean => {
      if (generation !== this.generation) return false;
      this.failures = 0;
      if (event.lastEventId !== '') this.cursor = event.lastEventId;
      return true;
    };
    source.onopen = () => {
      if (generation === this.generation) this.onOpen();
    };
    source.onmessage = (event) => {
      if (seen(event)) this.deliver(event.data as string);
    };
    source.addEventListener('resync', (event) => {
      if (seen(event as MessageEvent)) this.report('resynced');
    });
    source.addEventListener('cursor', (event) => {
      seen(event as MessageEvent);
    });
    source.onerror = () => {
      if (generation !== this.generation) return;
      // Reconnect on our own terms (delay, status, resume id) rather than EventSource's.
      this.teardown();
      this.onLost();
    };
  }

  private onOpen(): void {
    this.open = true;
    const wasLost = this.lost;
    this.lost = false;
    const reopened = this.everOpened;
    this.everOpened = true;
    this.lastActivity = this.clock.now();
    this.armIdleTimer();
    if (this.status !== 'connected' && this.status !== 'resynced') this.report('connected');
    // Nothing to resume from: whatever was published during the gap is unknown.
    if (reopened && wasLost && this.cursor === undefined) this.report('resynced');
  }

  private onMessage(message: SseMessage): void {
    if (message.type === 'message') this.deliver(message.data);
    else if (message.type === 'resync') this.report('resynced');
  }

  private deliver(data: string): void {
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    if (!isChangeEvent(event)) return;
    try {
      this.listener?.onEvent(event);
    } catch {
      // The service isolates its subscribers; a listener error must not break the stream.
    }
  }

  /** The attempt failed or the stream dropped: report it and schedule the next attempt. */
  private onLost(retryAfterMs?: number): void {
    this.active = false;
    this.open = false;
    this.lost = true;
    this.clearIdleTimer();
    if (this.closed) return;
    if (this.everOpened) this.report('reconnecting');
    const base = this.serverRetryMs ?? this.reconnectDelayMs;
    let delay = base;
    if (this.failures > 0) {
      const capped = Math.min(this.maxReconnectDelayMs, base * 2 ** Math.min(this.failures, 30));
      // Whole milliseconds: fractional delays gain nothing and make clock arithmetic inexact.
      delay = Math.round(capped / 2 + Math.random() * (capped / 2));
    }
    if (retryAfterMs !== undefined) delay = Math.min(this.maxReconnectDelayMs, Math.max(delay, retryAfterMs));
    this.failures++;
    this.cancelReconnect();
    this.reconnectTimer = unrefTimer(this.clock.setTimeout(() => this.start(), delay));
  }

  /** Abandons the current attempt or stream without scheduling anything. */
  private teardown(): void {
    this.generation++;
    this.active = false;
    this.open = false;
    this.clearIdleTimer();
    const controller = this.abortController;
    this.abortController = undefined;
    controller?.abort();
    const source = this.source;
    this.source = undefined;
    source?.close();
  }

  private cancelReconnect(): void {
    if (this.reconnectTimer === undefined) return;
    this.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private armIdleTimer(): void {
    if (this.idleTimeoutMs === 0 || this.EventSourceClass !== undefined) return;
    const generation = this.generation;
    const wait = Math.max(0, this.lastActivity + this.idleTimeoutMs - this.clock.now());
    this.idleTimer = unrefTimer(
      this.clock.setTimeout(() => {
        this.idleTimer = undefined;
        if (generation !== this.generation || !this.open) return;
        if (this.clock.now() - this.lastActivity >= this.idleTimeoutMs) {
          this.teardown();
          this.onLost();
        } else {
          this.armIdleTimer();
        }
      }, wait),
    );
  }

  private clearIdleTimer(): void {
    if (this.idleTimer === undefined) return;
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** With `topics: 'watched'`, reopens the stream (once per turn) when the wanted topics changed. */
  private queueRetopic(): void {
    if (this.retopicQueued || this.listener === undefined || this.closed) return;
    this.retopicQueued = true;
    queueMicrotask(() => {
      this.retopicQueued = false;
      if (this.closed) return;
      const wanted = this.wantedTopics();
      if (wanted === null) {
        // Nothing watched: no stream, and the next one starts afresh (there is nothing to resume).
        this.cancelReconnect();
        this.teardown();
        this.cursor = undefined;
        this.lost = false;
        return;
      }
      if (this.active) {
        if (wanted === this.streamKey) return;
        this.teardown();
        this.start();
      } else if (this.reconnectTimer === undefined) {
        this.start();
      }
      // Otherwise a reconnect is pending; it will ask for the new topics.
    });
  }

  private report(status: RealtimeStatus): void {
    if (this.closed) return;
    if (status === this.status && status !== 'resynced') return;
    this.status = status;
    try {
      this.listener?.onStatus(status);
    } catch {
      // As in deliver(): never let the listener break the stream.
    }
  }

  private async requestHeaders(): Promise<Headers> {
    const extra = typeof this.headers === 'function' ? await this.headers() : this.headers;
    return new Headers(extra);
  }

  private async post(url: string, event: ChangeEvent): Promise<void> {
    const headers = await this.requestHeaders();
    headers.set('Content-Type', 'application/json');
    const response = await this.fetchFn!(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(event),
      credentials: this.withCredentials ? 'include' : 'same-origin',
    });
    void response.body?.cancel().catch(() => {});
    if (!response.ok) {
      throw new HttpError(response.status, {
        headers: response.headers,
        message: `SseTransport: publishing to ${url} failed with HTTP ${response.status}`,
      });
    }
  }
}

function checkMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`SseTransport: ${name} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

function isChangeEvent(value: unknown): value is ChangeEvent {
  if (value === null || typeof value !== 'object') return false;
  const event = value as Partial<ChangeEvent>;
  return typeof event.topic === 'string' && typeof event.eventId === 'string' && typeof event.type === 'string';
}
