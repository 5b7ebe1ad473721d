import type { Cluster, Redis } from 'ioredis';
import {
  type ChangeEvent,
  type Clock,
  ClosedLoopError,
  type RealtimeStatus,
  type RealtimeTransport,
  type RealtimeTransportListener,
  realClock,
  TimeoutError,
  unrefTimer,
} from 'closed-loop';
import { messageOf } from '../../src/internal/message-of.js';
import { withCommandTimeout } from './command-timeout.js';

/** Options of {@link RedisTransport}. */
export interface RedisTransportOptions {
  /**
   * Put before every topic to make its Redis channel: topic `orders` travels on
   * `` `${prefix}orders` ``. Default `'closed-loop:realtime:'`. Services exchange events only when
   * their transports share a prefix, so one Redis can carry several apps' buses apart. (The client's
   * own `keyPrefix` does not apply: ioredis prefixes keys, not channels.)
   */
  prefix?: string;
  /**
   * How long a `publish` may wait for Redis, in ms, before it rejects with a `TimeoutError`.
   * Default 2000. Measured on `clock`. With ioredis' defaults a command sent while the connection
   * is down waits in the client's offline queue through up to 20 reconnection attempts; the
   * transport does not let a publish hang that long. The timed-out PUBLISH stays in that queue and
   * may still reach Redis once it is back: it carries the same `eventId`, so services that already
   * have the event drop it, and the latest-state cache never lets it replace a newer version.
   * Also bounds the unsubscribe that `close` sends.
   */
  commandTimeoutMs?: number;
  /** The clock that runs `commandTimeoutMs`. Default the real clock. */
  clock?: Clock;
  /**
   * Told about what the transport handles by itself and nobody awaits, each as a `ClosedLoopError`
   * with one of these codes (the original error as `cause`):
   *
   * - `REALTIME_MALFORMED_MESSAGE`: a message on one of the transport's channels is not a change
   *   event of that topic (someone else published to it). The message is skipped.
   * - `REALTIME_SUBSCRIBE_FAILED`: Redis refused a SUBSCRIBE, PSUBSCRIBE or their counterparts
   *   (an ACL, say). The status is not reported `connected`/`resynced` until a later sync succeeds.
   * - `REALTIME_CONNECTION_ERROR`: the subscriber connection failed (one per failed attempt while
   *   Redis is unreachable; the status already says `reconnecting`).
   * - `REALTIME_CONNECTION_ENDED`: the client's `retryStrategy` gave up, so the subscriber
   *   connection will not come back and no more events arrive.
   * - `REALTIME_LISTENER_FAILED`: the service's listener threw while taking an event.
   *
   * Default: nothing is reported; the transport carries on either way. It must not throw.
   */
  onError?: (error: ClosedLoopError) => void;
}

/** The topic that stands for every topic (the service watches it for `subscribe('*', …)`). */
const ALL = '*';

const CHANGE_TYPES: ReadonlySet<string> = new Set(['INSERT', 'UPDATE', 'DELETE', 'BROADCAST']);

/** The subscriber connection: the events and commands the transport uses, common to `Redis` and `Cluster`. */
type Subscriber = Redis | Cluster;

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
  /** The pattern that covers every topic. */
  private readonly pattern: string;

  private listener: RealtimeTransportListener | undefined;
  private subscriber: Subscriber | undefined;
  private closing: Promise<void> | undefined;
  /** What the service watches. */
  private readonly topics = new Set<string>();
  /** What has been sent to the current subscriber connection (ordered after anything sent before). */
  private readonly channelsOnWire = new Set<string>();
  private patternOnWire = false;
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
    const c = client as unknown as Record<string, unknown> | null;
    if (!c || typeof c !== 'object' || typeof c.publish !== 'function' || typeof c.duplicate !== 'function') {
      throw new TypeError('closed-loop: RedisTransport needs an ioredis client (new Redis(...) or new Cluster(...))');
    }
    const prefix = options.prefix ?? 'closed-loop:realtime:';
    if (typeof prefix !== 'string') {
      throw new TypeError(`closed-loop: \`prefix\` must be a string, got ${typeof prefix}`);
    }
    const timeout = options.commandTimeoutMs ?? 2000;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
      throw new TypeError(`closed-loop: \`commandTimeoutMs\` must be a finite number > 0, got ${String(timeout)}`);
    }
    if (options.onError !== undefined && typeof options.onError !== 'function') {
      throw new TypeError('closed-loop: `onError` must be a function');
    }
    this.client = client;
    this.prefix = prefix;
    this.commandTimeoutMs = timeout;
    this.clock = options.clock ?? realClock;
    const onError = options.onError;
    this.reportError = (error) => {
      if (!onError) return;
      try {
        onError(error);
      } catch {
        // An error reporter that throws has nowhere to report to; the transport carries on.
      }
    };
    this.pattern = `${escapeGlob(prefix)}*`;
  }

  /** The Redis channel of `topic`: `` `${prefix}${topic}` ``. */
  channelOf(topic: string): string {
    return this.prefix + topic;
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
    const subscriber = isCluster(this.client)
      ? this.client.duplicate()
      : this.client.duplicate({ autoResubscribe: false, autoResendUnfulfilledCommands: false });
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
    if (this.closing || this.topics.has(topic)) return;
    this.topics.add(topic);
    void this.syncWire(this.epoch);
  }

  /** Unsubscribes from `topic`'s channel (or the pattern, for `'*'`). Unknown topics are ignored. */
  unwatch(topic: string): void {
    if (this.closing || !this.topics.delete(topic)) return;
    void this.syncWire(this.epoch);
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
    if (!event || typeof event !== 'object') {
      throw new TypeError(`closed-loop: RedisTransport.publish needs a change event, got ${event === null ? 'null' : typeof event}`);
    }
    checkEventTopic(event.topic);
    let json: string;
    try {
      json = JSON.stringify(event);
    } catch (error) {
      throw new TypeError(`closed-loop: the change event on "${event.topic}" is not JSON-serialisable`, { cause: error });
    }
    const channel = this.channelOf(event.topic);
    await this.withTimeout(
      `PUBLISH to "${channel}"`,
      () => this.publisher().publish(channel, json),
      (error) =>
        new ClosedLoopError(`closed-loop: RedisTransport could not publish to "${channel}": ${messageOf(error)}`, 'REALTIME_PUBLISH_FAILED', {
          cause: error,
          retryable: true,
        }),
    );
  }

  /**
   * Where PUBLISH goes: the client, or on a Cluster the master first by `host:port`. ioredis would
   * send each PUBLISH (a command without a key) to a random node, and Redis forwards it to the
   * others over the cluster bus, so two events could overtake each other; through one node, every
   * subscriber receives them in the order that node ran them, as on a single server.
   */
  private publisher(): Pick<Redis, 'publish'> {
    if (!isCluster(this.client)) return this.client;
    let chosen: Redis | undefined;
    let chosenKey = '';
    for (const node of this.client.nodes('master')) {
      const key = `${node.options.host ?? ''}:${String(node.options.port ?? '')}`;
      if (chosen === undefined || key < chosenKey) {
        chosen = node;
        chosenKey = key;
      }
    }
    // Not connected yet (no node known): the Cluster client queues the command until it is.
    return chosen ?? this.client;
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
    this.topics.clear();
    this.closing = subscriber ? this.shutdown(subscriber) : Promise.resolve();
    return this.closing;
  }

  private async shutdown(subscriber: Subscriber): Promise<void> {
    subscriber.off('ready', this.onReady);
    subscriber.off('close', this.onClose);
    subscriber.off('end', this.onEnd);
    subscriber.off('message', this.onMessage);
    subscriber.off('pmessage', this.onPatternMessage);
    subscriber.off('error', this.onConnectionError);
    subscriber.on('error', () => {}); // a late connection error must not become an unhandled 'error' event
    try {
      if (subscriber.status === 'ready') {
        const leaving: Array<Promise<unknown>> = [];
        if (this.channelsOnWire.size > 0) leaving.push(subscriber.unsubscribe(...this.channelsOnWire));
        if (this.patternOnWire) leaving.push(subscriber.punsubscribe(this.pattern));
        if (leaving.length > 0) {
          await this.withTimeout('UNSUBSCRIBE', () => Promise.all(leaving), (error) => error as Error).catch(() => {});
        }
      }
    } finally {
      this.channelsOnWire.clear();
      this.patternOnWire = false;
      subscriber.disconnect();
    }
  }

  private readonly onReady = (): void => {
    if (this.closing) return;
    const epoch = ++this.epoch;
    this.live = true;
    // A new connection has no subscriptions (ioredis' own resubscription is off, see the class doc).
    this.channelsOnWire.clear();
    this.patternOnWire = false;
    void this.syncWire(epoch).then((ok) => {
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
   * Brings the subscriptions on the wire in line with the watched topics: subscribes first, then
   * unsubscribes, so a topic switching between its channel and the pattern is covered throughout.
   * Sends nothing unless the subscriber connection is up (a `ready` syncs everything). Resolves
   * true when Redis confirmed every command it sent.
   */
  private async syncWire(epoch: number): Promise<boolean> {
    const subscriber = this.subscriber;
    // ioredis sets `status` synchronously but emits its events a tick later; both must agree, or a
    // command would land in the offline queue and be replayed on a later connection.
    if (!subscriber || !this.live || subscriber.status !== 'ready' || epoch !== this.epoch) return true;
    const wantPattern = this.topics.has(ALL);
    const wantChannels = new Set<string>();
    if (!wantPattern) for (const topic of this.topics) wantChannels.add(this.channelOf(topic));
    const sent: Array<Promise<boolean>> = [];
    const send = (what: string, command: () => Promise<unknown>) => {
      sent.push(
        command().then(
          () => true,
          (error: unknown) => {
            if (!this.closing && epoch === this.epoch) {
              this.reportError(
                new ClosedLoopError(`closed-loop: Redis refused ${what}: ${messageOf(error)}`, 'REALTIME_SUBSCRIBE_FAILED', { cause: error }),
              );
            }
            return false;
          },
        ),
      );
    };
    if (wantPattern && !this.patternOnWire) {
      this.patternOnWire = true;
      send(`PSUBSCRIBE ${this.pattern}`, () => subscriber.psubscribe(this.pattern));
    }
    const add = [...wantChannels].filter((c) => !this.channelsOnWire.has(c));
    if (add.length > 0) {
      for (const c of add) this.channelsOnWire.add(c);
      send(`SUBSCRIBE ${add.join(' ')}`, () => subscriber.subscribe(...add));
    }
    const remove = [...this.channelsOnWire].filter((c) => !wantChannels.has(c));
    if (remove.length > 0) {
      for (const c of remove) this.channelsOnWire.delete(c);
      send(`UNSUBSCRIBE ${remove.join(' ')}`, () => subscriber.unsubscribe(...remove));
    }
    if (!wantPattern && this.patternOnWire) {
      this.patternOnWire = false;
      send(`PUNSUBSCRIBE ${this.pattern}`, () => subscriber.punsubscribe(this.pattern));
    }
    const results = await Promise.all(sent);
    return results.every(Boolean);
  }

  /** One message from Redis: checked, parsed, and handed to the service if its topic is watched. */
  private receive(channel: string, message: string): void {
    const listener = this.listener;
    if (!listener || !channel.startsWith(this.prefix)) return;
    const topic = channel.slice(this.prefix.length);
    // A late message from a subscription being dropped, or one ioredis restored by itself.
    if (!this.topics.has(ALL) && !this.topics.has(topic)) return;
    let event: ChangeEvent;
    try {
      event = parseEvent(message, topic);
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

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new TypeError(`closed-loop: a realtime topic must be a non-empty string, got ${topic === '' ? 'an empty string' : typeof topic}`);
  }
}

function checkEventTopic(topic: unknown): asserts topic is string {
  checkTopic(topic);
  if (topic === ALL) throw new TypeError('closed-loop: "*" means every topic and is only for watching; an event needs its own topic');
}

/** Parses a message into a change event of `topic`, or throws saying what is wrong with it. */
function parseEvent(message: string, topic: string): ChangeEvent {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    throw new TypeError('not JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TypeError('not a JSON object');
  const e = value as Record<string, unknown>;
  if (topic === ALL) throw new TypeError('"*" is not a topic one can publish on');
  if (e.topic !== topic) throw new TypeError(`its topic is ${JSON.stringify(e.topic)}, not the channel's "${topic}"`);
  if (typeof e.eventId !== 'string' || e.eventId.length === 0) throw new TypeError('no eventId');
  if (typeof e.type !== 'string' || !CHANGE_TYPES.has(e.type)) throw new TypeError(`unknown type ${JSON.stringify(e.type)}`);
  if (typeof e.timestamp !== 'number' || !Number.isFinite(e.timestamp)) throw new TypeError('no numeric timestamp');
  // `null` reads as absent, as the service reads it.
  if (e.version != null && (typeof e.version !== 'number' || !Number.isFinite(e.version))) throw new TypeError('a version that is not a number');
  if (e.id != null && typeof e.id !== 'string' && typeof e.id !== 'number') throw new TypeError('an id that is neither string nor number');
  return value as ChangeEvent;
}

/** Escapes the glob characters of a PSUBSCRIBE pattern. */
function escapeGlob(value: string): string {
  return value.replace(/[\\*?[\]]/g, '\\$&');
}
