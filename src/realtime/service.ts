import { v7 as uuidv7 } from 'uuid';
import { type Clock, realClock, type TimerHandle } from '../clock/clock.js';
import { ClosedLoopError, TimeoutError } from '../errors/errors.js';
import { InMemoryTransport } from './in-memory-transport.js';
import type {
  ChangeEvent,
  ChangeType,
  RealtimeStatus,
  RealtimeTransport,
  RealtimeTransportListener,
  RecordId,
} from './types.js';
import { reportUncaught } from '../internal/report-uncaught.js';

/** Options of {@link RealtimeSyncService}. @category Realtime */
export interface RealtimeSyncServiceOptions {
  /**
   * How this service reaches others. Default: a new {@link InMemoryTransport} of its own (pass one
   * shared instance to several services to connect them inside one process or tab).
   */
  transport?: RealtimeTransport;
  /** The clock for event timestamps and `waitForChange` deadlines. Default {@link realClock}. */
  clock?: Clock;
  /**
   * How many recent event ids from elsewhere (the transport, or events published with their own
   * `eventId`) are remembered to drop duplicates. A duplicate older than that many events is
   * delivered again. Default 10000.
   */
  dedupeLimit?: number;
  /**
   * Most records the latest-state cache holds, over all topics; the least recently changed make
   * room. `0` turns the cache off (`getLatest` answers `undefined`). Default 10000.
   */
  maxLatestRecords?: number;
  /**
   * Called each time the transport reports `resynced` (after the `status` event): events may have
   * been missed, so refetch what the screen shows.
   */
  onResync?: () => void;
}

/** Options of {@link RealtimeSyncService.subscribe}. @category Realtime */
export interface RealtimeSubscribeOptions<T = unknown> {
  /** Only events for which this returns `true` reach the callback. */
  filter?: (event: ChangeEvent<T>) => boolean;
}

/**
 * A change for {@link RealtimeSyncService.publishChange}: a change event without the parts the
 * service fills in (`topic`, `eventId`, and `timestamp` unless given).
 * @category Realtime
 */
export interface RealtimeChange<T = unknown> {
  /** What happened to the record. */
  type: ChangeType;
  /** The record's id, when the change is about one record. */
  id?: RecordId;
  /** The record after the change (absent for `DELETE`). */
  new?: T;
  /** The record before the change, when known. */
  old?: T;
  /** The record's version, for ordering in the latest-state cache. */
  version?: number;
  /** When the change happened, in epoch ms. Default: now, on the service's clock. */
  timestamp?: number;
}

/** Where an error reported through a {@link RealtimeSyncService}'s `error` event came from. @category Realtime */
export interface RealtimeErrorContext {
  /**
   * `subscriber`: a subscriber callback or its filter threw. `status`: a `status` listener or
   * `onResync` threw. `transport`: the transport's `publish`/`watch`/`unwatch` failed, or it delivered
   * something that is not a change event.
   */
  source: 'subscriber' | 'status' | 'transport';
  /** The topic of the subscriber or of the `watch`/`unwatch` call, when there is one. */
  topic?: string;
  /** The event being delivered or published, when there is one. */
  event?: ChangeEvent;
}

/** The events of a {@link RealtimeSyncService}, for {@link RealtimeSyncService.on}. @category Realtime */
export interface RealtimeSyncServiceEvents {
  /** The connection status changed; `resynced` is reported every time it happens. */
  status: (status: RealtimeStatus) => void;
  /** Something failed that no caller awaits: a subscriber threw, or the transport failed. */
  error: (error: unknown, context: RealtimeErrorContext) => void;
}

/** The error code of the error a destroyed service answers with (`waitForChange`, `publish`, `subscribe`). @category Realtime */
export const REALTIME_DESTROYED = 'REALTIME_DESTROYED';

interface Subscriber {
  readonly callback: (event: ChangeEvent) => void;
  readonly filter: ((event: ChangeEvent) => boolean) | undefined;
  readonly topic: string;
  active: boolean;
}

interface PendingWait {
  fail(error: unknown): void;
}

// The id under which the latest-state cache keeps a topic's events that name no record.
const NO_ID: unique symbol = Symbol('no id');
type CacheKey = RecordId | typeof NO_ID;

interface TopicCache {
  readonly topic: string;
  readonly records: Map<CacheKey, CacheEntry>;
  /** The entry of the change accepted last on this topic; rescanned when it is deleted or evicted. */
  latest: CacheEntry | undefined;
}

// One record's newest state. Entries form a doubly linked list over all topics, least recently
// changed first, so that the bound evicts without scanning and an update moves without allocating.
interface CacheEntry {
  readonly key: CacheKey;
  readonly cache: TopicCache;
  record: unknown;
  version: number | undefined;
  timestamp: number;
  deleted: boolean;
  seq: number;
  prev: CacheEntry | undefined;
  next: CacheEntry | undefined;
}

const EMPTY: readonly Subscriber[] = /* @__PURE__ */ Object.freeze([]);
const STATUSES: ReadonlySet<string> = new Set(['connecting', 'connected', 'reconnecting', 'resynced', 'closed']);
const TYPES: ReadonlySet<string> = new Set(['INSERT', 'UPDATE', 'DELETE', 'BROADCAST']);
// '000'..'999', the low three digits of generated event ids; made by the first service, not at import.
let idSuffixes: readonly string[] | undefined;

/**
 * One realtime bus endpoint: local subscribers per topic, a latest-state cache per record, and a
 * transport to other tabs, processes or servers.
 *
 * Delivery: `publish` delivers to this service's subscribers at once (synchronously), then hands the
 * event to the transport; events from the transport are delivered when they arrive. Every
 * subscriber gets each `eventId` once, echoes and duplicates dropped (within `dedupeLimit` recent
 * ids). Subscribers of a topic are called in the order they subscribed, then the `'*'` subscribers.
 * Events are handled one at a time: one published (or received) while another is being delivered,
 * by a subscriber for example, is delivered right after it, before the outermost `publish` returns.
 * So all subscribers see the same order, and the transport gets local events in `publish` order.
 *
 * @example
 * ```ts
 * const service = new RealtimeSyncService()
 * const stop = service.subscribe('orders', (event) => render(event.new), {
 *   filter: (event) => event.type !== 'DELETE',
 * })
 * service.publish('orders', { id: 7, status: 'paid', version: 2 })
 * service.getLatest('orders', 7) // { id: 7, status: 'paid', version: 2 }
 * stop()
 * ```
 * @category Realtime
 */
export class RealtimeSyncService {
  private readonly transport: RealtimeTransport;
  private readonly clock: Clock;
  private readonly onResync: (() => void) | undefined;
  private readonly listener: RealtimeTransportListener;

  private readonly subscribers = new Map<string, readonly Subscriber[]>();
  // The '*' subscribers, also in `subscribers`; kept apart so that delivery needs no second lookup.
  private anyTopic: readonly Subscriber[] = EMPTY;
  private subscriptionCount = 0;
  private readonly waits = new Set<PendingWait>();

  private statusListeners: ReadonlyArray<RealtimeSyncServiceEvents['status']> = [];
  private errorListeners: ReadonlyArray<RealtimeSyncServiceEvents['error']> = [];
  private current: RealtimeStatus = 'connecting';
  // addSource: each receive-only source with the status it last reported (undefined: none yet), the
  // transport's own last status, and a resync reported while another member held the status down.
  private readonly sources = new Map<RealtimeTransport, RealtimeStatus | undefined>();
  private transportStatus: RealtimeStatus = 'connecting';
  private pendingResync = false;
  private closed = false;
  private destroyed: Promise<void> | undefined;

  // Event ids: a UUID per service and a counter, `<uuid>:<n>` with n at least three digits. The
  // UUID (v7: the creation time in ms and 74 random bits, the generator of idempotency keys) makes
  // the prefix unique among services, the counter makes ids unique within one: as unique as a UUID
  // per event, for a string concatenation instead of 16 random bytes (a UUID takes 150-400 ns in
  // Node, more than all the rest of a publish). The counter is a block string (prefix and thousands) plus a
  // suffix from a table of '000'..'999', so no number is formatted per event. Every generated id is
  // published when it is made, so a later event carrying this prefix is a duplicate (an echo): this
  // service's own ids need no room in the dedupe memory.
  private readonly idPrefix = `${uuidv7()}:`;
  private idBlock = this.idPrefix;
  private idBlockNumber = 0;
  private idLow = 0;
  private readonly idSuffixes = (idSuffixes ??= Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0')));

  // Ids of events from elsewhere, bounded: a Set to look up, a ring to forget the oldest.
  private readonly dedupeLimit: number;
  private readonly seen = new Set<string>();
  private readonly ring: string[] = [];
  private ringPos = 0;

  private readonly maxLatest: number;
  private readonly latest = new Map<string, TopicCache>();
  private latestSize = 0;
  private latestSeq = 0;
  private oldest: CacheEntry | undefined;
  private newest: CacheEntry | undefined;

  // Events published or received while another is being delivered or sent, in order (see
  // `dispatch`); `queuedLocal[i]` tells whether `queued[i]` goes to the transport too.
  private readonly queued: ChangeEvent[] = [];
  private readonly queuedLocal: boolean[] = [];
  private queueHead = 0;
  private dispatching = false;
  // The event being handed to the transport: a synchronous echo of it (InMemoryTransport) is
  // recognised by identity, before any string comparison.
  private inFlight: ChangeEvent | undefined;

  /** @param options - transport, clock, dedupe and cache bounds, resync hook */
  constructor(options: RealtimeSyncServiceOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('closed-loop: RealtimeSyncService options must be an object');
    }
    this.clock = options.clock ?? realClock;
    this.dedupeLimit = integer('dedupeLimit', options.dedupeLimit, 10_000, 1);
    this.maxLatest = integer('maxLatestRecords', options.maxLatestRecords, 10_000, 0);
    if (options.onResync !== undefined && typeof options.onResync !== 'function') {
      throw new TypeError('closed-loop: `onResync` must be a function');
    }
    this.onResync = options.onResync;
    const transport = options.transport ?? new InMemoryTransport();
    if (
      typeof transport !== 'object' ||
      transport === null ||
      typeof transport.connect !== 'function' ||
      typeof transport.publish !== 'function' ||
      typeof transport.close !== 'function'
    ) {
      throw new TypeError('closed-loop: `transport` must implement connect, publish and close (a RealtimeTransport)');
    }
    this.transport = transport;
    this.listener = {
      onEvent: (event) => this.receive(event),
      onStatus: (status) => {
        this.transportStatus = status;
        this.combineStatus(status);
      },
    };
    transport.connect(this.listener);
  }

  /** The connection status, as the transport last reported it; `closed` once destroyed. */
  get status(): RealtimeStatus {
    return this.current;
  }

  /**
   * Listens to `status` changes or `error` reports.
   *
   * If nobody listens to `error`, an error is reported the way the platform reports an uncaught
   * exception in an event listener (`reportError` in browsers; an uncaught exception in Node).
   *
   * @param event - `status` or `error`
   * @param listener - called with the new status, or with the error and where it came from
   * @returns a function that removes the listener (idempotent)
   */
  on<E extends keyof RealtimeSyncServiceEvents>(event: E, listener: RealtimeSyncServiceEvents[E]): () => void {
    if (typeof listener !== 'function') throw new TypeError('closed-loop: the listener must be a function');
    if (event === 'status') {
      const fn = listener as RealtimeSyncServiceEvents['status'];
      this.statusListeners = [...this.statusListeners, fn];
      return once(() => {
        this.statusListeners = without(this.statusListeners, fn);
      });
    }
    if (event === 'error') {
      const fn = listener as RealtimeSyncServiceEvents['error'];
      this.errorListeners = [...this.errorListeners, fn];
      return once(() => {
        this.errorListeners = without(this.errorListeners, fn);
      });
    }
    throw new TypeError(`closed-loop: unknown RealtimeSyncService event ${JSON.stringify(String(event))} (use 'status' or 'error')`);
  }

  /**
   * Adds a receive-only source of events besides the transport, such as a database change feed
   * (`subscribeToTable` in `closed-loop/supabase`). The source is a {@link RealtimeTransport} whose
   * `publish`, `watch` and `unwatch` are never called. Its events are delivered like the transport's
   * (each `eventId` once, into the latest-state cache) but not sent on over the transport. Its status
   * joins the service's from its first report: `reconnecting` (or `connecting`) while the transport
   * or any source is; `resynced` whenever one of them resynced (also if that happened while another
   * was still down); else `connected`. {@link destroy} closes the sources too.
   *
   * @param source - connected at once
   * @returns a function that removes the source and closes it (idempotent)
   */
  addSource(source: RealtimeTransport): () => Promise<void> {
    this.assertOpen('addSource');
    if (typeof source !== 'object' || source === null || typeof source.connect !== 'function' || typeof source.close !== 'function') {
      throw new TypeError('closed-loop: addSource(source): `source` must implement connect and close (a RealtimeTransport)');
    }
    if (this.sources.has(source)) throw new TypeError('closed-loop: addSource(source): this source is already added');
    this.sources.set(source, undefined);
    try {
      source.connect({
        onEvent: (event) => {
          if (this.sources.has(source)) this.receive(event);
        },
        onStatus: (status) => {
          if (!this.sources.has(source)) return;
          this.sources.set(source, status);
          this.combineStatus(status);
        },
      });
    } catch (error) {
      this.sources.delete(source);
      throw error;
    }
    let removed: Promise<void> | undefined;
    return () => {
      removed ??= (async () => {
        if (!this.sources.delete(source)) return;
        this.combineStatus(undefined);
        await source.close();
      })();
      return removed;
    };
  }

  /**
   * Calls `callback` with every change on `topic` (`'*'`: on every topic) from now on. A callback
   * that throws is reported through the `error` event and does not stop delivery to the others.
   * Subscribing or unsubscribing during a delivery is safe: a subscriber added then starts with the
   * next event, one removed is not called again.
   *
   * @param topic - a topic, or `'*'` for all
   * @param callback - called with each change event
   * @param options - `filter`: a predicate on the event
   * @returns a function that unsubscribes (idempotent)
   */
  subscribe<T = unknown>(
    topic: string,
    callback: (event: ChangeEvent<T>) => void,
    options: RealtimeSubscribeOptions<T> = {},
  ): () => void {
    this.assertOpen('subscribe');
    checkTopic(topic, 'subscribe', true);
    if (typeof callback !== 'function') throw new TypeError('closed-loop: subscribe(topic, callback): `callback` must be a function');
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('closed-loop: subscribe(topic, callback, options): `options` must be an object');
    }
    const filter = options.filter;
    if (filter !== undefined && typeof filter !== 'function') {
      throw new TypeError('closed-loop: subscribe(): `filter` must be a function');
    }
    const subscriber: Subscriber = {
      callback: callback as (event: ChangeEvent) => void,
      filter: filter as ((event: ChangeEvent) => boolean) | undefined,
      topic,
      active: true,
    };
    // Copy on write: a delivery in progress keeps iterating the array it started with.
    const list = this.subscribers.get(topic);
    const next = list === undefined ? [subscriber] : [...list, subscriber];
    this.subscribers.set(topic, next);
    if (topic === '*') this.anyTopic = next;
    this.subscriptionCount++;
    if (list === undefined) this.callTransport('watch', topic);
    return once(() => this.remove(subscriber));
  }

  /**
   * Publishes a change on `topic`. An object with an `eventId` is a {@link ChangeEvent} and is
   * published as it is (its `topic` must be `topic`); any other object is a record, published as
   * `{ type: 'UPDATE', id: record.id, new: record, version: record.version }` with a fresh `eventId`
   * and a `timestamp` from the clock.
   *
   * The event goes to this service's subscribers at once (when called from a subscriber: right
   * after the event being delivered), then to the transport. An event whose `eventId` this service
   * has already seen is not delivered or sent again.
   *
   * @param topic - the topic (not `'*'`)
   * @param event - a complete change event
   * @returns the event, as it is
   */
  publish<T>(topic: string, event: ChangeEvent<T>): ChangeEvent<T>;
  /**
   * Publishes `record` as an `UPDATE` event with a fresh `eventId` and a `timestamp` from the clock.
   *
   * @param topic - the topic (not `'*'`)
   * @param record - the record after the change; its `id` and `version` (if any) go into the event
   * @returns the event published
   */
  publish<T extends object>(topic: string, record: T): ChangeEvent<T>;
  publish(topic: string, recordOrEvent: object): ChangeEvent {
    this.assertOpen('publish');
    checkTopic(topic, 'publish', false);
    if (typeof recordOrEvent !== 'object' || recordOrEvent === null || Array.isArray(recordOrEvent)) {
      throw new TypeError(
        `closed-loop: publish(topic, payload): \`payload\` must be a record or a change event (an object), got ${describeValue(recordOrEvent)}`,
      );
    }
    const input = recordOrEvent as Record<string, unknown>;
    let event: ChangeEvent;
    if (input.eventId !== undefined && input.eventId !== null) {
      const problem = eventProblem(input);
      if (problem !== undefined) throw new TypeError(`closed-loop: publish(): not a valid change event: ${problem}`);
      if (input.topic !== topic) {
        throw new TypeError(
          `closed-loop: publish(${JSON.stringify(topic)}, event): the event's topic is ${JSON.stringify(input.topic)}`,
        );
      }
      event = input as unknown as ChangeEvent;
      if (this.isDuplicate(event.eventId)) return event;
      this.remember(event.eventId);
    } else {
      const id = input.id;
      if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') {
        throw new TypeError(`closed-loop: publish(): \`record.id\` must be a string or a number, got ${describeValue(id)}`);
      }
      const version = input.version;
      if (version !== undefined && version !== null && !(typeof version === 'number' && Number.isFinite(version))) {
        throw new TypeError(`closed-loop: publish(): \`record.version\` must be a finite number, got ${describeValue(version)}`);
      }
      // Always the same keys in the same order: one object shape for every published record.
      event = {
        topic,
        type: 'UPDATE',
        id: id ?? undefined,
        new: input,
        version: version ?? undefined,
        timestamp: this.clock.now(),
        eventId: this.nextEventId(),
      };
    }
    this.dispatch(event, true);
    return event;
  }

  /**
   * Publishes a change that is not a plain update (a `DELETE`, an `INSERT`, a `BROADCAST`, or an
   * update with `old`), with a fresh `eventId` and, unless given, a `timestamp` from the clock.
   * Delivered and sent like {@link publish}.
   *
   * @example
   * ```ts
   * service.publishChange('orders', { type: 'DELETE', id: 7, version: 3 })
   * service.publishChange('chat', { type: 'BROADCAST', new: { typing: 'ana' } })
   * ```
   *
   * @param topic - the topic (not `'*'`)
   * @param change - the change: `type`, and `id`, `new`, `old`, `version`, `timestamp` as needed
   * @returns the event published
   */
  publishChange<T = unknown>(topic: string, change: RealtimeChange<T>): ChangeEvent<T> {
    this.assertOpen('publishChange');
    checkTopic(topic, 'publishChange', false);
    if (typeof change !== 'object' || change === null || Array.isArray(change)) {
      throw new TypeError(`closed-loop: publishChange(topic, change): \`change\` must be an object, got ${describeValue(change)}`);
    }
    const event: ChangeEvent<T> = {
      topic,
      type: change.type,
      id: change.id ?? undefined,
      new: change.new,
      old: change.old,
      version: change.version ?? undefined,
      timestamp: change.timestamp ?? this.clock.now(),
      eventId: '-',
    };
    const problem = eventProblem(event);
    if (problem !== undefined) throw new TypeError(`closed-loop: publishChange(): ${problem}`);
    event.eventId = this.nextEventId();
    this.dispatch(event as ChangeEvent, true);
    return event;
  }

  /**
   * The newest record this service has seen: for record `id` on `topic`, or, without `id`, the
   * record of the change accepted last on `topic`. Newest is by `version` when both events have
   * one, else by `timestamp`; an older event arriving late does not replace a newer one. After a
   * `DELETE` the record reads `undefined`, and an older update arriving late does not bring it back.
   * Events without an `id` count as one record of their topic.
   *
   * The object is the one published (not a copy): treat it as read-only.
   *
   * @param topic - the topic
   * @param id - the record's id; omit it for the topic's latest record
   */
  getLatest<T = unknown>(topic: string, id?: RecordId): T | undefined {
    checkTopic(topic, 'getLatest', false);
    const cache = this.latest.get(topic);
    if (cache === undefined) return undefined;
    if (id === undefined) {
      let entry = cache.latest;
      if (entry === undefined || entry.deleted) {
        entry = undefined;
        for (const candidate of cache.records.values()) {
          if (!candidate.deleted && (entry === undefined || candidate.seq > entry.seq)) entry = candidate;
        }
        cache.latest = entry;
      }
      return entry?.record as T | undefined;
    }
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new TypeError(`closed-loop: getLatest(topic, id): \`id\` must be a string or a number, got ${describeValue(id)}`);
    }
    const entry = cache.records.get(id);
    return entry === undefined || entry.deleted ? undefined : (entry.record as T);
  }

  /**
   * Waits for the next change on `topic` (`'*'`: any topic) that `predicate` accepts. It sees only
   * events delivered after the call; check {@link getLatest} first for the current state.
   *
   * @param topic - a topic, or `'*'`
   * @param predicate - which event to wait for; default: any. If it throws, the wait rejects with that.
   * @param timeoutMs - deadline on the service's clock (default 30000; `Infinity`: none)
   * @returns the first matching event; rejects with {@link TimeoutError} at the deadline, or with a
   *   `ClosedLoopError` (code `REALTIME_DESTROYED`) when the service is destroyed first
   */
  waitForChange<T = unknown>(
    topic: string,
    predicate?: (event: ChangeEvent<T>) => boolean,
    timeoutMs = 30_000,
  ): Promise<ChangeEvent<T>> {
    try {
      this.assertOpen('waitForChange');
      checkTopic(topic, 'waitForChange', true);
      if (predicate !== undefined && predicate !== null && typeof predicate !== 'function') {
        throw new TypeError('closed-loop: waitForChange(topic, predicate): `predicate` must be a function');
      }
      if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
        throw new TypeError(`closed-loop: waitForChange(): \`timeoutMs\` must be a number >= 0, got ${describeValue(timeoutMs)}`);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<ChangeEvent<T>>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        unsubscribe();
        if (timer !== undefined) this.clock.clearTimeout(timer);
        this.waits.delete(wait);
        return true;
      };
      const wait: PendingWait = {
        fail: (error) => {
          if (finish()) reject(error);
        },
      };
      const unsubscribe = this.subscribe<T>(topic, (event) => {
        let matched: boolean;
        try {
          matched = predicate == null || Boolean(predicate(event));
        } catch (error) {
          wait.fail(error);
          return;
        }
        if (matched && finish()) resolve(event);
      });
      this.waits.add(wait);
      // A wait the caller awaits keeps a Node process alive, like any setTimeout: not unref'd.
      if (timeoutMs !== Number.POSITIVE_INFINITY) {
        timer = this.clock.setTimeout(() => {
          timer = undefined;
          wait.fail(new TimeoutError(timeoutMs, `closed-loop: no matching change on ${JSON.stringify(topic)} within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  /**
   * How many subscriptions are active (pending `waitForChange` calls included).
   *
   * @param topic - count only this topic's (`'*'`: the wildcard subscriptions); default: all
   */
  getSubscriptionCount(topic?: string): number {
    if (topic === undefined) return this.subscriptionCount;
    checkTopic(topic, 'getSubscriptionCount', true);
    return this.subscribers.get(topic)?.length ?? 0;
  }

  /**
   * Drops every subscription, rejects pending `waitForChange` calls, clears the caches, reports
   * status `closed` and closes the transport (or, for a shared bus such as {@link InMemoryTransport},
   * disconnects only this service). Later `publish`/`subscribe` calls throw. Idempotent.
   *
   * @returns settles when the transport has closed; rejects if closing it failed
   */
  destroy(): Promise<void> {
    if (this.destroyed !== undefined) return this.destroyed;
    this.closed = true;
    for (const list of this.subscribers.values()) for (const subscriber of list) subscriber.active = false;
    this.subscribers.clear();
    this.anyTopic = EMPTY;
    this.subscriptionCount = 0;
    const error = new ClosedLoopError('closed-loop: the realtime service was destroyed', REALTIME_DESTROYED);
    for (const wait of [...this.waits]) wait.fail(error);
    this.queued.length = this.queuedLocal.length = this.queueHead = 0;
    this.seen.clear();
    this.ring.length = 0;
    this.latest.clear();
    this.latestSize = 0;
    this.oldest = this.newest = undefined;
    this.current = 'closed';
    this.emitStatus('closed');
    const transport = this.transport;
    const listener = this.listener;
    const sources = [...this.sources.keys()];
    this.sources.clear();
    this.destroyed = (async () => {
      const closing = sources.map((source) => source.close());
      if (typeof transport.disconnect === 'function') await transport.disconnect(listener);
      else await transport.close();
      await Promise.all(closing);
    })();
    return this.destroyed;
  }

  // ------------------------------------------------------------------------------------------------
  // Delivery

  /**
   * Applies an event to the cache, delivers it, and sends a local one to the transport.
   *
   * One event at a time: an event published or received while another is being delivered or sent
   * (a subscriber that publishes; a synchronous transport delivering into a service that publishes
   * in turn) is queued and handled as soon as the current one is done, before the outermost call
   * returns. So every subscriber sees the events in one order, the transport gets them in publish
   * order, and a delivery never interleaves with another. The cache is updated at once.
   */
  private dispatch(event: ChangeEvent, local: boolean): void {
    if (this.maxLatest !== 0) this.applyLatest(event);
    if (this.dispatching) {
      this.queued.push(event);
      this.queuedLocal.push(local);
      return;
    }
    this.dispatching = true;
    try {
      this.handle(event, local);
      if (this.queued.length !== 0) this.drain();
    } finally {
      this.dispatching = false;
    }
  }

  private drain(): void {
    const queued = this.queued;
    const queuedLocal = this.queuedLocal;
    // An index rather than shift(): events queued meanwhile are appended and picked up in turn.
    while (this.queueHead < queued.length && !this.closed) {
      const i = this.queueHead++;
      this.handle(queued[i]!, queuedLocal[i]!);
    }
    queued.length = queuedLocal.length = this.queueHead = 0;
  }

  private handle(event: ChangeEvent, local: boolean): void {
    const list = this.subscribers.get(event.topic);
    if (list !== undefined) this.deliver(list, event);
    if (this.anyTopic.length !== 0) this.deliver(this.anyTopic, event);
    if (local && !this.closed) this.send(event);
  }

  private deliver(list: readonly Subscriber[], event: ChangeEvent): void {
    for (let i = 0; i < list.length; i++) {
      const subscriber = list[i]!;
      if (!subscriber.active) continue;
      try {
        if (subscriber.filter === undefined || subscriber.filter(event)) subscriber.callback(event);
      } catch (error) {
        this.report(error, { source: 'subscriber', topic: subscriber.topic, event });
      }
    }
  }

  private send(event: ChangeEvent): void {
    let result: void | Promise<void>;
    this.inFlight = event;
    try {
      result = this.transport.publish(event);
    } catch (error) {
      this.report(error, { source: 'transport', event });
      return;
    } finally {
      this.inFlight = undefined;
    }
    if (result !== undefined && result !== null && typeof (result as Promise<void>).then === 'function') {
      (result as Promise<void>).then(undefined, (error: unknown) => this.report(error, { source: 'transport', event }));
    }
  }

  /** An event from the transport. */
  private receive(input: unknown): void {
    if (this.closed || input === this.inFlight) return;
    const candidate = input as { eventId?: unknown } | null;
    // Own events echoed back are the common case on a shared bus: dropped before any other check.
    if (typeof candidate === 'object' && candidate !== null && typeof candidate.eventId === 'string' && candidate.eventId.startsWith(this.idPrefix)) {
      return;
    }
    const problem = eventProblem(input);
    if (problem !== undefined) {
      this.report(new TypeError(`closed-loop: the transport delivered something that is not a change event: ${problem}`), {
        source: 'transport',
      });
      return;
    }
    const event = input as ChangeEvent;
    if (this.seen.has(event.eventId)) return;
    this.remember(event.eventId);
    this.dispatch(event, false);
  }

  private nextEventId(): string {
    if (this.idLow === 1000) {
      this.idLow = 0;
      this.idBlock = this.idPrefix + ++this.idBlockNumber;
    }
    return this.idBlock + this.idSuffixes[this.idLow++]!;
  }

  private isDuplicate(eventId: string): boolean {
    return eventId.startsWith(this.idPrefix) || this.seen.has(eventId);
  }

  private remember(eventId: string): void {
    const ring = this.ring;
    if (ring.length < this.dedupeLimit) {
      ring.push(eventId);
    } else {
      this.seen.delete(ring[this.ringPos]!);
      ring[this.ringPos] = eventId;
      this.ringPos = this.ringPos + 1 === this.dedupeLimit ? 0 : this.ringPos + 1;
    }
    this.seen.add(eventId);
  }

  // ------------------------------------------------------------------------------------------------
  // Latest state

  private applyLatest(event: ChangeEvent): void {
    const type = event.type;
    if (type === 'BROADCAST') return;
    const deleted = type === 'DELETE';
    if (!deleted && event.new === undefined) return;
    const key: CacheKey = event.id ?? NO_ID;
    let cache = this.latest.get(event.topic);
    let entry = cache?.records.get(key);
    if (entry !== undefined) {
      const order = compare(event.version, event.timestamp, entry);
      // Older: stale. A tie keeps a deletion (an update of the same version does not undo it).
      if (order < 0 || (order === 0 && entry.deleted && !deleted)) return;
      entry.record = deleted ? undefined : event.new;
      entry.version = event.version;
      entry.timestamp = event.timestamp;
      entry.deleted = deleted;
      entry.seq = ++this.latestSeq;
      if (entry !== this.newest) {
        this.unlink(entry);
        this.append(entry);
      }
    } else {
      if (cache === undefined) {
        cache = { topic: event.topic, records: new Map(), latest: undefined };
        this.latest.set(event.topic, cache);
      }
      entry = {
        key,
        cache,
        record: deleted ? undefined : event.new,
        version: event.version,
        timestamp: event.timestamp,
        deleted,
        seq: ++this.latestSeq,
        prev: undefined,
        next: undefined,
      };
      cache.records.set(key, entry);
      this.append(entry);
      if (++this.latestSize > this.maxLatest) this.evict(this.oldest!);
    }
    cache!.latest = entry;
  }

  private append(entry: CacheEntry): void {
    entry.prev = this.newest;
    entry.next = undefined;
    if (this.newest === undefined) this.oldest = entry;
    else this.newest.next = entry;
    this.newest = entry;
  }

  private unlink(entry: CacheEntry): void {
    if (entry.prev === undefined) this.oldest = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) this.newest = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = undefined;
  }

  private evict(entry: CacheEntry): void {
    this.unlink(entry);
    this.latestSize--;
    const cache = entry.cache;
    cache.records.delete(entry.key);
    if (cache.records.size === 0) this.latest.delete(cache.topic);
    else if (cache.latest === entry) cache.latest = undefined;
  }

  // ------------------------------------------------------------------------------------------------
  // Subscriptions, status, errors

  private remove(subscriber: Subscriber): void {
    if (!subscriber.active) return;
    subscriber.active = false;
    const topic = subscriber.topic;
    const list = this.subscribers.get(topic);
    if (list === undefined) return;
    this.subscriptionCount--;
    if (list.length === 1) {
      this.subscribers.delete(topic);
      if (topic === '*') this.anyTopic = EMPTY;
      this.callTransport('unwatch', topic);
      return;
    }
    const next = without(list, subscriber);
    this.subscribers.set(topic, next);
    if (topic === '*') this.anyTopic = next;
  }

  private callTransport(method: 'watch' | 'unwatch', topic: string): void {
    const fn = this.transport[method];
    if (typeof fn !== 'function') return;
    try {
      fn.call(this.transport, topic);
    } catch (error) {
      this.report(error, { source: 'transport', topic });
    }
  }

  /**
   * The service's status from the transport's and the sources'. `reported` is the status just
   * reported (undefined: a source was removed). Without sources, the transport's status as it is.
   */
  private combineStatus(reported: RealtimeStatus | undefined): void {
    if (this.closed) return;
    if (this.sources.size === 0) {
      // The transport alone (as without addSource), or the last source just left.
      let status = reported ?? (this.transportStatus === 'resynced' ? 'connected' : this.transportStatus);
      if (this.pendingResync && status === 'connected') status = 'resynced';
      this.pendingResync = false;
      if (reported === undefined && status === 'connected' && this.current === 'resynced') return;
      this.setStatus(status);
      return;
    }
    if (reported !== undefined && !STATUSES.has(reported)) {
      this.setStatus(reported); // reports the unknown status as an error
      return;
    }
    let down: RealtimeStatus | undefined;
    for (const status of [this.transportStatus, ...this.sources.values()]) {
      if (status === 'reconnecting') down = status;
      else if (status === 'connecting' && down === undefined) down = status;
    }
    if (down !== undefined) {
      if (reported === 'resynced') this.pendingResync = true;
      this.setStatus(down);
      return;
    }
    if (reported === 'resynced' || this.pendingResync) {
      this.pendingResync = false;
      this.setStatus('resynced');
    } else if (this.current !== 'resynced') {
      this.setStatus('connected');
    }
  }

  private setStatus(status: RealtimeStatus): void {
    if (this.closed) return;
    if (!STATUSES.has(status)) {
      this.report(new TypeError(`closed-loop: the transport reported an unknown status ${describeValue(status)}`), {
        source: 'transport',
      });
      return;
    }
    // Every resync is reported (each may have lost events); other statuses only when they change.
    if (status === this.current && status !== 'resynced') return;
    this.current = status;
    this.emitStatus(status);
    if (status === 'resynced' && this.onResync !== undefined) {
      try {
        this.onResync();
      } catch (error) {
        this.report(error, { source: 'status' });
      }
    }
  }

  private emitStatus(status: RealtimeStatus): void {
    for (const listener of this.statusListeners) {
      try {
        listener(status);
      } catch (error) {
        this.report(error, { source: 'status' });
      }
    }
  }

  /**
   * Reports an error nobody awaits to the `error` listeners; without any, the way the platform
   * reports an uncaught error in an event listener, so that it is neither lost nor able to stop the
   * delivery in progress.
   */
  private report(error: unknown, context: RealtimeErrorContext): void {
    const listeners = this.errorListeners;
    if (listeners.length === 0) {
      reportUncaught(error);
      return;
    }
    for (const listener of listeners) {
      try {
        listener(error, context);
      } catch (thrown) {
        reportUncaught(thrown);
      }
    }
  }

  private assertOpen(method: string): void {
    if (this.closed) {
      throw new ClosedLoopError(`closed-loop: ${method}() on a destroyed RealtimeSyncService`, REALTIME_DESTROYED);
    }
  }
}

/** -1: the event is older than the entry; 1: newer; 0: neither. By version when both have one, else by timestamp. */
function compare(version: number | undefined, timestamp: number, entry: CacheEntry): number {
  // `!= null`: an event that crossed a JSON or database boundary may carry `null` for "none".
  if (version != null && entry.version != null && version !== entry.version) {
    return version > entry.version ? 1 : -1;
  }
  return timestamp > entry.timestamp ? 1 : timestamp < entry.timestamp ? -1 : 0;
}

/** Why `value` is not a change event, or `undefined` if it is one. */
function eventProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `got ${describeValue(value)}`;
  const event = value as Record<string, unknown>;
  if (typeof event.eventId !== 'string' || event.eventId === '') return '`eventId` must be a non-empty string';
  if (typeof event.topic !== 'string' || event.topic === '' || event.topic === '*') {
    return '`topic` must be a non-empty string other than "*"';
  }
  if (typeof event.type !== 'string' || !TYPES.has(event.type)) {
    return '`type` must be INSERT, UPDATE, DELETE or BROADCAST';
  }
  if (typeof event.timestamp !== 'number' || !Number.isFinite(event.timestamp)) {
    return '`timestamp` must be a finite number (epoch ms)';
  }
  // `null` reads as absent, as it does for records.
  const id = event.id;
  if (id != null && typeof id !== 'string' && typeof id !== 'number') return '`id` must be a string or a number';
  const version = event.version;
  if (version != null && !(typeof version === 'number' && Number.isFinite(version))) {
    return '`version` must be a finite number';
  }
  return undefined;
}

function checkTopic(topic: unknown, method: string, wildcard: boolean): void {
  if (typeof topic !== 'string' || topic === '') {
    throw new TypeError(`closed-loop: ${method}(): \`topic\` must be a non-empty string, got ${describeValue(topic)}`);
  }
  if (!wildcard && topic === '*') {
    throw new TypeError(`closed-loop: ${method}(): "*" means every topic and is only for subscribing`);
  }
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`closed-loop: \`${name}\` must be an integer >= ${min}, got ${describeValue(value)}`);
  }
  return value;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return `${typeof value} ${String(value)}`;
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function without<T>(list: readonly T[], item: T): readonly T[] {
  const index = list.indexOf(item);
  if (index === -1) return list;
  return [...list.slice(0, index), ...list.slice(index + 1)];
}

