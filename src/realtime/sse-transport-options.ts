import { type Clock, realClock } from '../clock/clock.js';
import { checkFunction, checkNumber, describeValue, isList, nonNegative, optionError } from '../internal/validate.js';

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

// What the option errors name: "closed-loop: SseTransport: `mode` must be ...".
const WHERE = 'SseTransport';
// The start of the errors that are about options together rather than one option's value. Written
// out: a template with ${WHERE} in it would count as code with effects and stay in every bundle.
const PREFIX = 'closed-loop: SseTransport: ';

const DEFAULT_RECONNECT_DELAY_MS = 1000;
const DEFAULT_MAX_RECONNECT_DELAY_MS = 30_000;
const DEFAULT_IDLE_TIMEOUT_MS = 45_000;

/** {@link SseTransportOptions} checked, with the defaults filled in and the connection kind chosen. */
export interface SseTransportConfig {
  readonly url: URL;
  readonly clock: Clock;
  readonly reconnectDelayMs: number;
  readonly maxReconnectDelayMs: number;
  readonly idleTimeoutMs: number;
  /** The topics to ask for; `undefined`: every topic (or, with `followWatched`, the watched ones). */
  readonly fixedTopics: readonly string[] | undefined;
  readonly followWatched: boolean;
  /** The `lastEventId` option, unless empty. */
  readonly lastEventId: string | undefined;
  readonly headers: SseTransportOptions['headers'];
  /** Defined when the transport reads with `EventSource`, else it reads with streaming fetch. */
  readonly EventSourceClass: typeof EventSource | undefined;
  readonly fetchFn: typeof fetch | undefined;
  readonly withCredentials: boolean;
  readonly publishUrl: string | undefined;
}

/** The options of `new SseTransport(url, options)`, or a TypeError naming the first bad one. */
export function resolveSseOptions(rawUrl: string | URL, options: SseTransportOptions): SseTransportConfig {
  const base = (globalThis as { location?: { href?: unknown } }).location?.href;
  let url: URL;
  try {
    url = new URL(String(rawUrl), typeof base === 'string' ? base : undefined);
  } catch {
    throw optionError('url', `a valid URL, got ${JSON.stringify(String(rawUrl))}`, WHERE);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw optionError('url', `an http(s) URL, got ${JSON.stringify(url.href)}`, WHERE);
  }
  const clock = options.clock ?? realClock;
  const reconnectDelayMs = checkMs('reconnectDelayMs', options.reconnectDelayMs, DEFAULT_RECONNECT_DELAY_MS);
  const maxReconnectDelayMs = checkMs(
    'maxReconnectDelayMs',
    options.maxReconnectDelayMs,
    Math.max(DEFAULT_MAX_RECONNECT_DELAY_MS, reconnectDelayMs),
  );
  if (maxReconnectDelayMs < reconnectDelayMs) {
    throw optionError('maxReconnectDelayMs', `at least \`reconnectDelayMs\` (${reconnectDelayMs}), got ${maxReconnectDelayMs}`, WHERE);
  }
  const idleTimeoutMs = checkMs('idleTimeoutMs', options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS);
  const topics = options.topics;
  const followWatched = topics === 'watched';
  let fixedTopics: readonly string[] | undefined;
  if (topics !== undefined && topics !== 'watched') {
    if (!isList(topics) || topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === '' || t.includes(','))) {
      throw optionError('topics', "'watched' or a non-empty array of topic names without commas", WHERE);
    }
    fixedTopics = topics.includes('*') ? undefined : [...topics];
  }
  let lastEventId: string | undefined;
  if (options.lastEventId !== undefined) {
    if (typeof options.lastEventId !== 'string') throw optionError('lastEventId', `a string, got ${describeValue(options.lastEventId)}`, WHERE);
    if (options.lastEventId !== '') lastEventId = options.lastEventId;
  }
  if (options.headers !== undefined && typeof options.headers !== 'function' && (typeof options.headers !== 'object' || options.headers === null)) {
    throw optionError('headers', 'an object or a function returning one', WHERE);
  }
  checkFunction('fetch', options.fetch, WHERE);
  if (options.EventSource !== undefined && typeof options.EventSource !== 'function') throw optionError('EventSource', 'a class', WHERE);
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'fetch' && mode !== 'eventsource') {
    throw optionError('mode', `'auto', 'fetch' or 'eventsource', got ${describeValue(mode)}`, WHERE);
  }
  const globalEventSource = (globalThis as { EventSource?: typeof EventSource }).EventSource;
  const eventSource = options.EventSource ?? globalEventSource;
  const useEventSource =
    mode === 'eventsource' || (mode === 'auto' && eventSource !== undefined && options.headers === undefined && options.fetch === undefined);
  let EventSourceClass: typeof EventSource | undefined;
  if (useEventSource) {
    if (eventSource === undefined) {
      throw new TypeError(`${PREFIX}mode 'eventsource' needs an EventSource and there is none here: pass \`EventSource\``);
    }
    if (options.headers !== undefined) {
      throw new TypeError(`${PREFIX}EventSource cannot send \`headers\`: use mode 'fetch', or cookies (\`withCredentials\`)`);
    }
    EventSourceClass = eventSource;
  }
  const fetchFn = options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined);
  if (!useEventSource && fetchFn === undefined) throw new TypeError(`${PREFIX}there is no global fetch here: pass \`fetch\``);
  const withCredentials = options.withCredentials === true;
  let publishUrl: string | undefined;
  if (options.publishUrl !== undefined) {
    try {
      publishUrl = new URL(String(options.publishUrl), typeof base === 'string' ? base : undefined).href;
    } catch {
      throw optionError('publishUrl', `a valid URL, got ${JSON.stringify(String(options.publishUrl))}`, WHERE);
    }
    if (fetchFn === undefined) throw new TypeError(`${PREFIX}\`publishUrl\` needs fetch and there is no global fetch here: pass \`fetch\``);
  }
  return {
    url,
    clock,
    reconnectDelayMs,
    maxReconnectDelayMs,
    idleTimeoutMs,
    fixedTopics,
    followWatched,
    lastEventId,
    headers: options.headers,
    EventSourceClass,
    fetchFn,
    withCredentials,
    publishUrl,
  };
}

function checkMs(name: string, value: number | undefined, fallback: number): number {
  return checkNumber(name, value, nonNegative, WHERE) ?? fallback;
}
