import type { Cluster, Redis } from 'ioredis';
import {
  type ChangeEvent,
  type Clock,
  ClosedLoopError,
  type RealtimeStatus,
  type RealtimeTransport,
  type RealtimeTransportListener,
  TimeoutError,
} from 'closed-loop';
import { messageOf } from '../../src/internal/message-of.js';
import { withCommandTimeout } from './command-timeout.js';
import { publisherOf, subscriberConnection } from './realtime-connections.js';
import { checkTopic, decodeEvent, encodeEvent } from './realtime-message.js';
import { type RedisTransportOptions, redisTransportSettings } from './realtime-options.js';
import { RealtimeSubscriptions } from './realtime-subscriptions.js';

export type { RedisTransportOptions } from './realtime-options.js';

/**
 * A realtime transport over Redis pub/sub, so that several server instances share one bus: give
 * each instance's `RealtimeSyncService` a `RedisTransport` on the same Redis (and the same
 * `prefix`), and an event published on one reaches the subscribers of all.
 *
 * - **Channels.** Topic `t` travels on channel `` `${prefix}${t}` ``. The transport subscribes per
 *   watched topic (`SUBSCRIBE`), so a Redis server sends an instance only the topics it has
 *   subscribers for. Watching `'*'` switches to one `PSUBSCRIBE` on `` `${prefix}*` `` and drops the
 *   per-topic channels (a channel and a matching pattern would make Redis send every message
 *   twice); unwatching `'*'` switches back. Each switch subscribes the new way before it drops the
 *   old one, so no watched topic is ever uncovered; a message that arrives both ways in that moment
 *   is dropped by the service, which delivers each `eventId` once.
 * - **Wire format.** A message is the change event as JSON. A message that does not parse as a
 *   change event whose `topic` matches its channel is skipped and reported to `onError`
 *   (`REALTIME_MALFORMED_MESSAGE`); it never reaches subscribers and never breaks the connection.
 * - **Echo.** Redis sends a publisher's events back to its own subscriber connection; the service
 *   drops these echoes by `eventId`.
 * - **Ordering.** On one Redis server, every instance receives the events in the order Redis ran
 *   the PUBLISH commands: the same order everywhere, and the events one instance publishes in the
 *   order it published them.
 * - **Gaps.** Redis pub/sub keeps nothing: a message published while an instance's subscriber
 *   connection is down is lost for that instance. The status says so: `'connected'` once the
 *   subscriber connection is ready and Redis has confirmed every subscription, `'reconnecting'`
 *   when it drops (Redis restart, network, or Redis cutting a subscriber that fell behind its
 *   `client-output-buffer-limit pubsub`), and `'resynced'` when it is back with its subscriptions
 *   confirmed again: refetch what the screen shows. Likewise a topic watched while connected is
 *   heard from the moment Redis confirms its SUBSCRIBE, not before.
 * - **Connections.** `publish` sends PUBLISH on the client you pass (it may be shared with the
 *   rest of the app). `connect` opens one more connection, `client.duplicate()`, for the
 *   subscriptions (a connection in subscriber mode can do nothing else); `close` ends that one
 *   only. On a plain `Redis` client the duplicate has `autoResubscribe` and
 *   `autoResendUnfulfilledCommands` turned off: the transport subscribes again itself on every
 *   `ready` and reports `'resynced'` only once Redis confirmed, whereas ioredis' own resubscription
 *   is not awaited before its `ready` event, and would also restore a topic unwatched during the
 *   outage.
 * - **Cluster.** A `Cluster` client works: Redis Cluster forwards PUBLISH to every node, and
 *   ioredis keeps the subscriptions on one node of its choice. The transport sends every PUBLISH
 *   to the same master (the first by `host:port`, for every instance) so that events keep one
 *   order as on a single server; ioredis alone would spread them over random nodes and they could
 *   overtake each other on the cluster bus. (Every node handles every message of classic pub/sub
 *   anyway, so this adds no load elsewhere.) While the masters change (a failover) the order can
 *   slip. The status follows the `Cluster` client's own `ready`/`close` events; when only the node
 *   holding the subscriptions fails, ioredis moves them to another node without telling, so events
 *   in that moment can be lost with no `'resynced'`.
 *
 * `ioredis` is an optional peer dependency; this module does not import it at run time.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { RealtimeSyncService } from 'closed-loop'
 * import { RedisTransport } from 'closed-loop/redis'
 *
 * const redis = new Redis(process.env.REDIS_URL) // also usable for the app's own commands
 * const realtime = new RealtimeSyncService({
 *   transport: new RedisTransport(redis, { prefix: 'shop:rt:', onError: (e) => log.warn(e) }),
 *   onResync: () => refetchOrders(), // Redis pub/sub has no replay: events during an outage are lost
 * })
 * realtime.subscribe('orders', (event) => render(event))
 * ```
 */
export class RedisTransport implements RealtimeTransport {
  /** The client PUBLISH goes through (the transport neither connects nor closes it). */
  readonly client: Redis | Cluster;
  /** The channel prefix (see {@link RedisTransportOptions.prefix}). */
  readonly prefix: string;
  /** The publish deadline in ms. */
  readonly commandTimeoutMs: number;
  private readonly clock: Clock;
  private readonly reportError: (error: ClosedLoopError) => void;
  private readonly subscriptions: RealtimeSubscriptions;

  private listener: RealtimeTransportListener | undefined;
  private subscriber: Redis | Cluster | undefined;
  private closing: Promise<void> | undefined;
  /** Between the subscriber connection's `ready` and its `close`. */
  private live = false;
  /** Counts connections, so that a late answer from a previous one does not report a status. */
  private epoch = 0;
  private everConnected = false;
  private lastStatus: RealtimeStatus | undefined;

  /**
   * @param client - an `ioredis` `Redis` or `Cluster` client, used for PUBLISH and duplicated for
   *   the subscriptions; it stays yours to close
   * @param options - `prefix`, `commandTimeoutMs`, `clock` and `onError`
   */
  constructor(client: Redis | Cluster, options: RedisTransportOptions = {}) {
    const settings = redisTransportSettings(client, options);
    this.client = client;
    this.prefix = settings.prefix;
    this.commandTimeoutMs = settings.commandTimeoutMs;
    this.clock = settings.clock;
    this.reportError = settings.reportError;
    this.subscriptions = new RealtimeSubscriptions(settings.prefix);
  }

  /** The Redis channel of `topic`: `` `${prefix}${topic}` ``. */
  channelOf(topic: string): string {
    return this.subscriptions.channelOf(topic);
  }

  /**
   * Opens the subscriber connection (`client.duplicate()`, connected even when the client is
   * `lazyConnect`) and starts reporting events and statuses to `listener`. Called once, by the
   * service.
   */
  connect(listener: RealtimeTransportListener): void {
    if (this.closing) throw new Error('closed-loop: this RedisTransport is closed');
    if (this.listener) throw new Error('closed-loop: RedisTransport.connect was already called; a transport serves one service');
    if (!listener || typeof listener.onEvent !== 'function' || typeof listener.onStatus !== 'function') {
      throw new TypeError('closed-loop: RedisTransport.connect needs a listener with onEvent and onStatus');
    }
    this.listener = listener;
    const subscriber = subscriberConnection(this.client);
    this.subscriber = subscriber;
    subscriber.on('error', this.onConnectionError);
    subscriber.on('ready', this.onReady);
    subscriber.on('close', this.onClose);
    subscriber.on('end', this.onEnd);
    subscriber.on('message', this.onMessage);
    subscriber.on('pmessage', this.onPatternMessage);
    // A lazyConnect client's duplicate waits for its first command; a subscriber should not.
    if (subscriber.status === 'wait') subscriber.connect().catch(() => {});
  }

  /**
   * Subscribes to `topic`'s channel (`'*'`: the pattern of every channel under the prefix). Sent at
   * once when the subscriber connection is up, else on its next `ready`.
   *
   * @throws TypeError when `topic` is not a non-empty string
   */
  watch(topic: string): void {
    checkTopic(topic);
    if (this.closing || !this.subscriptions.watch(topic)) return;
    void this.syncSubscriptions(this.epoch);
  }

  /** Unsubscribes from `topic`'s channel (or the pattern, for `'*'`). Unknown topics are ignored. */
  unwatch(topic: string): void {
    if (this.closing || !this.subscriptions.unwatch(topic)) return;
    void this.syncSubscriptions(this.epoch);
  }

  /**
   * Publishes `event` as JSON on `` `${prefix}${event.topic}` `` through the client. Resolves once
   * Redis has taken it. Rejects with a `TypeError` for an event that is not an object with a topic
   * or not JSON-serialisable, with a `TimeoutError` when Redis has not answered within
   * `commandTimeoutMs`, and with a `ClosedLoopError` `REALTIME_PUBLISH_FAILED` (the Redis error as
   * `cause`) when the client fails the command, or when the transport is closed.
   */
  async publish(event: ChangeEvent): Promise<void> {
    if (this.closing) {
      throw new ClosedLoopError('closed-loop: cannot publish on a closed RedisTransport', 'REALTIME_PUBLISH_FAILED');
    }
    const json = encodeEvent(event);
    const channel = this.channelOf(event.topic);
    await this.withTimeout(
      `PUBLISH to "${channel}"`,
      () => publisherOf(this.client).publish(channel, json),
      (error) =>
        new ClosedLoopError(`closed-loop: RedisTransport could not publish to "${channel}": ${messageOf(error)}`, 'REALTIME_PUBLISH_FAILED', {
          cause: error,
          retryable: true,
        }),
    );
  }

  /**
   * Stops delivery at once, then unsubscribes (when the subscriber connection is up; bounded by
   * `commandTimeoutMs`) and disconnects the subscriber connection. The client passed to the
   * constructor is left as it is. Idempotent: later calls return the same promise.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.live = false;
    this.epoch++;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.listener = undefined;
    this.subscriptions.clear();
    this.closing = subscriber ? this.shutdown(subscriber) : Promise.resolve();
    return this.closing;
  }

  private async shutdown(subscriber: Redis | Cluster): Promise<void> {
    subscriber.off('ready', this.onReady);
    subscriber.off('close', this.onClose);
    subscriber.off('end', this.onEnd);
    subscriber.off('message', this.onMessage);
    subscriber.off('pmessage', this.onPatternMessage);
    subscriber.off('error', this.onConnectionError);
    subscriber.on('error', () => {}); // a late connection error must not become an unhandled 'error' event
    try {
      const leaving = subscriber.status === 'ready' ? this.subscriptions.leave(subscriber) : undefined;
      if (leaving) await this.withTimeout('UNSUBSCRIBE', () => leaving, (error) => error as Error).catch(() => {});
    } finally {
      this.subscriptions.forgetWire();
      subscriber.disconnect();
    }
  }

  private readonly onReady = (): void => {
    if (this.closing) return;
    const epoch = ++this.epoch;
    this.live = true;
    // A new connection has no subscriptions (ioredis' own resubscription is off, see the class doc).
    this.subscriptions.forgetWire();
    void this.syncSubscriptions(epoch).then((ok) => {
      if (!ok || this.closing || epoch !== this.epoch) return;
      this.report(this.everConnected ? 'resynced' : 'connected');
      this.everConnected = true;
    });
  };

  private readonly onClose = (): void => {
    if (this.closing) return;
    this.live = false;
    this.epoch++;
    if (this.everConnected) this.report('reconnecting');
  };

  private readonly onEnd = (): void => {
    if (this.closing) return;
    this.live = false;
    this.reportError(
      new ClosedLoopError(
        'closed-loop: the RedisTransport subscriber connection ended (the client gave up reconnecting); no more events will arrive',
        'REALTIME_CONNECTION_ENDED',
      ),
    );
  };

  private readonly onConnectionError = (error: unknown): void => {
    this.reportError(
      new ClosedLoopError(`closed-loop: RedisTransport subscriber connection error: ${messageOf(error)}`, 'REALTIME_CONNECTION_ERROR', {
        cause: error,
      }),
    );
  };

  private readonly onMessage = (channel: string, message: string): void => {
    this.receive(channel, message);
  };

  private readonly onPatternMessage = (_pattern: string, channel: string, message: string): void => {
    this.receive(channel, message);
  };

  /**
   * Syncs the subscriptions on the wire with the watched topics, when the subscriber connection is
   * up (a `ready` syncs everything). Resolves true when Redis confirmed every command sent.
   */
  private syncSubscriptions(epoch: number): Promise<boolean> {
    const subscriber = this.subscriber;
    // ioredis sets `status` synchronously but emits its events a tick later; both must agree, or a
    // command would land in the offline queue and be replayed on a later connection.
    if (!subscriber || !this.live || subscriber.status !== 'ready' || epoch !== this.epoch) return Promise.resolve(true);
    return this.subscriptions.sync(subscriber, (command, error) => {
      if (this.closing || epoch !== this.epoch) return;
      this.reportError(
        new ClosedLoopError(`closed-loop: Redis refused ${command}: ${messageOf(error)}`, 'REALTIME_SUBSCRIBE_FAILED', { cause: error }),
      );
    });
  }

  /** One message from Redis: checked, parsed, and handed to the service if its topic is watched. */
  private receive(channel: string, message: string): void {
    const listener = this.listener;
    const topic = listener && this.subscriptions.watchedTopicOf(channel);
    if (!listener || topic === undefined) return;
    let event: ChangeEvent;
    try {
      event = decodeEvent(message, topic);
    } catch (error) {
      this.reportError(
        new ClosedLoopError(`closed-loop: RedisTransport skipped a malformed message on "${channel}": ${messageOf(error)}`, 'REALTIME_MALFORMED_MESSAGE', {
          cause: error,
        }),
      );
      return;
    }
    try {
      listener.onEvent(event);
    } catch (error) {
      // Thrown into ioredis' reply parser it would break the connection; report it instead.
      this.reportError(
        new ClosedLoopError(`closed-loop: the realtime listener threw on an event from "${channel}": ${messageOf(error)}`, 'REALTIME_LISTENER_FAILED', {
          cause: error,
        }),
      );
    }
  }

  /** Tells the service a status, once per change. */
  private report(status: RealtimeStatus): void {
    if (status === this.lastStatus || !this.listener) return;
    this.lastStatus = status;
    try {
      this.listener.onStatus(status);
    } catch (error) {
      this.reportError(
        new ClosedLoopError(`closed-loop: the realtime listener threw on status "${status}": ${messageOf(error)}`, 'REALTIME_LISTENER_FAILED', {
          cause: error,
        }),
      );
    }
  }

  /**
   * Runs one Redis call under `commandTimeoutMs` on the clock. Whichever settles first wins: the
   * answer (the timer is cleared) or the timer (the late answer, or its rejection, is swallowed).
   * The timer is unref'd: a publish nobody awaits must not hold the process open.
   */
  private withTimeout<T>(what: string, call: () => Promise<T>, wrap: (error: unknown) => Error): Promise<T> {
    const ms = this.commandTimeoutMs;
    return withCommandTimeout(
      this.clock,
      ms,
      call,
      () => new TimeoutError(ms, `closed-loop: Redis did not answer ${what} within ${ms} ms`),
      wrap,
      true,
    );
  }
}
