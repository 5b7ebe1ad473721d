import type { Clock } from '../clock/clock.js';
import { ClosedLoopError } from '../errors/errors.js';
import { Listeners } from '../internal/listeners.js';
import { DedupeWindow } from './dedupe-window.js';
import { DeliveryQueue } from './delivery-queue.js';
import { EventIdGenerator } from './event-id.js';
import { LatestCache } from './latest-cache.js';
import { changeEvent, givenEvent, publishPayload, recordEvent } from './published-event.js';
import {
  type RealtimeChange,
  type RealtimeErrorContext,
  type RealtimeSubscribeOptions,
  type RealtimeSyncServiceEvents,
  type RealtimeSyncServiceOptions,
  resolveOptions,
} from './service-options.js';
import { CombinedStatus } from './status.js';
import { type Subscriber, SubscriberRegistry } from './subscribers.js';
import type { ChangeEvent, RealtimeStatus, RealtimeTransport, RealtimeTransportListener, RecordId } from './types.js';
import { checkTopic, eventProblem } from './validation.js';
import { PendingWaits } from './wait-for-change.js';

export type {
  RealtimeChange,
  RealtimeErrorContext,
  RealtimeSubscribeOptions,
  RealtimeSyncServiceEvents,
  RealtimeSyncServiceOptions,
} from './service-options.js';

/** The error code of the error a destroyed service answers with (`waitForChange`, `publish`, `subscribe`). @category Realtime */
export const REALTIME_DESTROYED = 'REALTIME_DESTROYED';

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

  // `status` and `error` listeners. A throwing `status` listener is reported through `error`; an
  // error with no `error` listener (or from one that throws) is reported as uncaught.
  private readonly events: Listeners<RealtimeSyncServiceEvents> = new Listeners({
    owner: 'RealtimeSyncService',
    events: ['status', 'error'],
    onThrow: (error) => this.report(error, { source: 'status' }),
  });
  private readonly report = (error: unknown, context: RealtimeErrorContext): void => {
    this.events.emit('error', error, context);
  };
  private readonly subscribers = new SubscriberRegistry(this.report);
  private readonly statuses = new CombinedStatus((status) => this.statusChanged(status), this.report);
  private closed = false;
  private destroyed: Promise<void> | undefined;

  // This service's own event ids; an event carrying one is an echo, dropped without a lookup.
  private readonly ids = new EventIdGenerator();
  // Ids of events from elsewhere (the transport, or published with their own `eventId`).
  private readonly dedupe: DedupeWindow;
  private readonly latest: LatestCache;
  private readonly queue = new DeliveryQueue((event, local) => this.handle(event, local));
  private readonly waits: PendingWaits;
  // The event being handed to the transport: a synchronous echo of it (InMemoryTransport) is
  // recognised by identity, before any string comparison.
  private inFlight: ChangeEvent | undefined;

  /** @param options - transport, clock, dedupe and cache bounds, resync hook */
  constructor(options: RealtimeSyncServiceOptions = {}) {
    const resolved = resolveOptions(options);
    this.clock = resolved.clock;
    this.waits = new PendingWaits(this.clock);
    this.dedupe = new DedupeWindow(resolved.dedupeLimit);
    this.latest = new LatestCache(resolved.maxLatestRecords);
    this.onResync = resolved.onResync;
    this.transport = resolved.transport;
    this.listener = {
      onEvent: (event) => this.receive(event),
      onStatus: (status) => this.statuses.fromTransport(status),
    };
    this.transport.connect(this.listener);
  }

  /** The connection status, as the transport last reported it; `closed` once destroyed. */
  get status(): RealtimeStatus {
    return this.statuses.current;
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
    return this.events.on(event, listener);
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
    const statuses = this.statuses;
    if (statuses.hasSource(source)) throw new TypeError('closed-loop: addSource(source): this source is already added');
    statuses.addSource(source);
    try {
      source.connect({
        onEvent: (event) => {
          if (statuses.hasSource(source)) this.receive(event);
        },
        onStatus: (status) => statuses.fromSource(source, status),
      });
    } catch (error) {
      statuses.forgetSource(source);
      throw error;
    }
    let removed: Promise<void> | undefined;
    return () => {
      removed ??= (async () => {
        if (!statuses.removeSource(source)) return;
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
    if (this.subscribers.add(subscriber)) this.callTransport('watch', topic);
    // Idempotent: removing an inactive subscriber does nothing.
    return () => {
      if (this.subscribers.remove(subscriber)) this.callTransport('unwatch', topic);
    };
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
    const input = publishPayload(recordOrEvent);
    let event: ChangeEvent;
    if (input.eventId !== undefined && input.eventId !== null) {
      event = givenEvent(topic, input);
      if (this.ids.isOwn(event.eventId) || this.dedupe.has(event.eventId)) return event;
      this.dedupe.remember(event.eventId);
    } else {
      event = recordEvent(topic, input, this.clock, this.ids);
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
    const event = changeEvent(topic, change, this.clock, this.ids);
    this.dispatch(event, true);
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
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- public API: the caller names the type it published
  getLatest<T = unknown>(topic: string, id?: RecordId): T | undefined {
    checkTopic(topic, 'getLatest', false);
    return this.latest.get(topic, id) as T | undefined;
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
    } catch (error) {
      return Promise.reject(error);
    }
    return this.waits.wait<T>((on, callback) => this.subscribe<T>(on, callback), topic, predicate, timeoutMs);
  }

  /**
   * How many subscriptions are active (pending `waitForChange` calls included).
   *
   * @param topic - count only this topic's (`'*'`: the wildcard subscriptions); default: all
   */
  getSubscriptionCount(topic?: string): number {
    if (topic === undefined) return this.subscribers.count();
    checkTopic(topic, 'getSubscriptionCount', true);
    return this.subscribers.count(topic);
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
    this.statuses.stop();
    this.subscribers.clear();
    this.waits.failAll(new ClosedLoopError('closed-loop: the realtime service was destroyed', REALTIME_DESTROYED));
    this.queue.close();
    this.dedupe.clear();
    this.latest.clear();
    const sources = this.statuses.close();
    const transport = this.transport;
    const listener = this.listener;
    this.destroyed = (async () => {
      const closing = sources.map((source) => Promise.resolve(source.close()));
      if (typeof transport.disconnect === 'function') await transport.disconnect(listener);
      else await transport.close();
      await Promise.all(closing);
    })();
    return this.destroyed;
  }

  // ------------------------------------------------------------------------------------------------
  // Delivery

  /**
   * Applies an event to the cache at once, then delivers it and sends a local one to the transport,
   * one event at a time (see DeliveryQueue).
   */
  private dispatch(event: ChangeEvent, local: boolean): void {
    this.latest.apply(event);
    this.queue.run(event, local);
  }

  private handle(event: ChangeEvent, local: boolean): void {
    this.subscribers.deliver(event);
    if (local && !this.closed) this.send(event);
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
    if (result !== undefined && result !== null && typeof result.then === 'function') {
      result.then(undefined, (error: unknown) => this.report(error, { source: 'transport', event }));
    }
  }

  /** An event from the transport or a source. */
  private receive(input: unknown): void {
    if (this.closed || input === this.inFlight) return;
    const candidate = input as { eventId?: unknown } | null;
    // Own events echoed back are the common case on a shared bus: dropped before any other check.
    if (typeof candidate === 'object' && candidate !== null && typeof candidate.eventId === 'string' && this.ids.isOwn(candidate.eventId)) {
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
    if (this.dedupe.has(event.eventId)) return;
    this.dedupe.remember(event.eventId);
    this.dispatch(event, false);
  }

  private statusChanged(status: RealtimeStatus): void {
    this.events.emit('status', status);
    if (status === 'resynced' && this.onResync !== undefined) {
      try {
        this.onResync();
      } catch (error) {
        this.report(error, { source: 'status' });
      }
    }
  }

  private callTransport(method: 'watch' | 'unwatch', topic: string): void {
    const transport = this.transport;
    if (typeof transport[method] !== 'function') return;
    try {
      transport[method]?.(topic);
    } catch (error) {
      this.report(error, { source: 'transport', topic });
    }
  }

  private assertOpen(method: string): void {
    if (this.closed) {
      throw new ClosedLoopError(`closed-loop: ${method}() on a destroyed RealtimeSyncService`, REALTIME_DESTROYED);
    }
  }
}
