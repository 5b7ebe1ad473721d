import type { Clock } from '../clock/clock.js';
import { HttpError, parseRetryAfter } from '../errors/errors.js';
import { Timeout } from '../internal/timeout.js';
import { reconnectDelay } from './reconnect-delay.js';
import { type SseMessage, SseParser } from './sse-parser.js';
import { resolveSseOptions, type SseTransportOptions } from './sse-transport-options.js';
import type { ChangeEvent, RealtimeStatus, RealtimeTransport, RealtimeTransportListener } from './types.js';

export type { SseTransportHeaders, SseTransportOptions } from './sse-transport-options.js';

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
  // Background timers (unref'd): the next attempt, and the watchdog of a stream gone quiet.
  private readonly reconnect: Timeout;
  private readonly idle: Timeout;
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
    const config = resolveSseOptions(url, options);
    this.url = config.url;
    this.clock = config.clock;
    this.reconnect = new Timeout(config.clock, true);
    this.idle = new Timeout(config.clock, true);
    this.reconnectDelayMs = config.reconnectDelayMs;
    this.maxReconnectDelayMs = config.maxReconnectDelayMs;
    this.idleTimeoutMs = config.idleTimeoutMs;
    this.fixedTopics = config.fixedTopics;
    this.followWatched = config.followWatched;
    this.cursor = config.lastEventId;
    this.headers = config.headers;
    this.EventSourceClass = config.EventSourceClass;
    this.fetchFn = config.fetchFn;
    this.withCredentials = config.withCredentials;
    this.publishUrl = config.publishUrl;
  }

  /** The last event id seen: where the next connection resumes. `undefined` before the first one. */
  get lastEventId(): string | undefined {
    return this.cursor;
  }

  /** {@inheritDoc RealtimeTransport.connect} */
  connect(listener: RealtimeTransportListener): void {
    if (this.listener !== undefined) throw new Error('closed-loop: SseTransport: connect() was already called');
    if (this.closed) throw new Error('closed-loop: SseTransport: the transport is closed');
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
    this.reconnect.clear();
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
      if (seen(event)) this.report('resynced');
    });
    source.addEventListener('cursor', (event) => {
      seen(event);
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
    this.idle.clear();
    if (this.closed) return;
    if (this.everOpened) this.report('reconnecting');
    const delay = reconnectDelay(this.serverRetryMs ?? this.reconnectDelayMs, this.failures, this.maxReconnectDelayMs, retryAfterMs);
    this.failures++;
    this.reconnect.set(() => this.start(), delay);
  }

  /** Abandons the current attempt or stream without scheduling anything. */
  private teardown(): void {
    this.generation++;
    this.active = false;
    this.open = false;
    this.idle.clear();
    const controller = this.abortController;
    this.abortController = undefined;
    controller?.abort();
    const source = this.source;
    this.source = undefined;
    source?.close();
  }

  private armIdleTimer(): void {
    if (this.idleTimeoutMs === 0 || this.EventSourceClass !== undefined) return;
    const generation = this.generation;
    const wait = Math.max(0, this.lastActivity + this.idleTimeoutMs - this.clock.now());
    this.idle.set(() => {
      if (generation !== this.generation || !this.open) return;
      if (this.clock.now() - this.lastActivity >= this.idleTimeoutMs) {
        this.teardown();
        this.onLost();
      } else {
        this.armIdleTimer();
      }
    }, wait);
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
        this.reconnect.clear();
        this.teardown();
        this.cursor = undefined;
        this.lost = false;
        return;
      }
      if (this.active) {
        if (wanted === this.streamKey) return;
        this.teardown();
        this.start();
      } else if (!this.reconnect.pending) {
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

function isChangeEvent(value: unknown): value is ChangeEvent {
  if (value === null || typeof value !== 'object') return false;
  const event = value as Partial<ChangeEvent>;
  return typeof event.topic === 'string' && typeof event.eventId === 'string' && typeof event.type === 'string';
}
