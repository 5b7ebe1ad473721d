import type { RealtimeChannel } from '@supabase/supabase-js';
import {
  type BackoffOptions,
  type ChangeEvent,
  type Clock,
  type RealtimeStatus,
  type RealtimeTransport,
  type RealtimeTransportListener,
  realClock,
  type TimerHandle,
  TimeoutError,
  unrefTimer,
} from 'closed-loop';
import { checkNumber, nonNegative } from '../../src/internal/validate.js';
import { type AccessTokenSource, ManagedChannel, type SupabaseRealtimeClient } from './channel.js';

/** Options of {@link createSupabaseTransport}. */
export interface SupabaseTransportOptions {
  /**
   * Put before a topic to name its broadcast channel: topic `orders` travels on channel
   * `closed-loop:orders` by default. Every service that should hear each other uses the same prefix.
   */
  channelPrefix?: string;
  /** The broadcast event name the change events travel under. Default `'closed-loop'`. */
  event?: string;
  /**
   * Ask the server to acknowledge each broadcast, so that `publish` resolves only once the server
   * took the event and rejects (through the service's `error` event) when it did not. Default true.
   */
  ack?: boolean;
  /** Join private channels (authorized by Realtime's RLS policies on `realtime.messages`). Default false. */
  private?: boolean;
  /**
   * How long `publish` waits for the topic's channel to be joined (it joins one for a topic nobody
   * here subscribes to) before it rejects with `TimeoutError`, in ms. Default 10000.
   */
  publishTimeoutMs?: number;
  /**
   * How long a channel stays joined after the last subscriber of its topic left (or after the last
   * publish to a topic nobody here subscribes to), in ms. Default 30000. Spares a rejoin when a
   * component unmounts and mounts again.
   */
  idleCloseMs?: number;
  /** Delay before a channel the server closed is opened again. Default 1 s doubling to 30 s, full jitter. */
  reopenBackoff?: BackoffOptions;
  /**
   * Where a fresh token comes from, asked when the server reports an expired one (and before the
   * first join while the client knows none yet); the answer is given to `supabase.realtime.setAuth`.
   * Default: the Supabase client's own source (the session's token, which supabase-js refreshes, or
   * the client's `accessToken` option).
   */
  accessToken?: AccessTokenSource;
  /** Hears what the status alone does not tell: refused joins, failed token refreshes. */
  onError?: (error: Error) => void;
  /** The clock for the timers above. Default the real clock. */
  clock?: Clock;
}

// Realtime's binary frames give the topic one length byte and write it one byte per character.
const MAX_CHANNEL_TOPIC = 255;

interface Entry {
  topic: string;
  channel: ManagedChannel;
  /** The service has subscribers on the topic. */
  watched: boolean;
  /** The channel came back after a drop while subscribed, not reported as `resynced` yet. */
  resync: boolean;
  idleTimer?: TimerHandle;
  /** Set while the channel is being left; a new one for the topic waits for it. */
  closing: Promise<void> | undefined;
  /** Publishers waiting for the channel to be up. */
  waiters: Set<() => void>;
}

/**
 * A {@link RealtimeTransport} over Supabase Realtime broadcast: one channel per topic, joined when
 * the service gets its first subscriber on the topic, and each change event sent as the payload of a
 * broadcast. Services in browsers and on servers that use the same Supabase project (and prefix)
 * hear each other.
 *
 * Guarantees and limits: broadcast keeps no history, so an event sent while a client's channel is
 * down never reaches it; the transport reports `reconnecting` while any subscribed topic's channel is
 * down and `resynced` once they are all joined again (refetch then). The server does not echo a
 * client's own broadcasts (the service has delivered them already). Events from one publisher on one
 * topic arrive in order. The topic `'*'` is not a channel: a `'*'` subscriber hears remote events
 * only of topics that also have a subscriber of their own here (and every local publish).
 *
 * @param supabase - a client from `createClient` (on Node 20 pass `ws` as its WebSocket transport:
 *   `createClient(url, key, { realtime: { transport: WebSocket } })`)
 * @param options - see {@link SupabaseTransportOptions}
 * @example
 * ```ts
 * import { createClient } from '@supabase/supabase-js'
 * import { RealtimeSyncService } from 'closed-loop'
 * import { createSupabaseTransport } from 'closed-loop/supabase'
 *
 * const supabase = createClient(url, anonKey)
 * const service = new RealtimeSyncService({ transport: createSupabaseTransport(supabase) })
 * service.subscribe('orders', (event) => render(event.new))
 * service.publish('orders', { id: 7, status: 'paid', version: 2 }) // every other client hears it
 * ```
 */
export function createSupabaseTransport(supabase: SupabaseRealtimeClient, options: SupabaseTransportOptions = {}): RealtimeTransport {
  return new SupabaseTransport(supabase, options);
}

class SupabaseTransport implements RealtimeTransport {
  private readonly prefix: string;
  private readonly event: string;
  private readonly ack: boolean;
  private readonly isPrivate: boolean;
  private readonly publishTimeoutMs: number;
  private readonly idleCloseMs: number;
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();
  private listener: RealtimeTransportListener | undefined;
  private status: RealtimeStatus | undefined;
  private closed = false;

  constructor(
    private readonly supabase: SupabaseRealtimeClient,
    private readonly options: SupabaseTransportOptions,
  ) {
    if (!supabase || typeof supabase.channel !== 'function' || typeof supabase.removeChannel !== 'function' || !supabase.realtime) {
      throw new TypeError('createSupabaseTransport: expected a Supabase client (from createClient)');
    }
    this.prefix = options.channelPrefix ?? 'closed-loop:';
    this.event = options.event ?? 'closed-loop';
    if (typeof this.prefix !== 'string') throw new TypeError('createSupabaseTransport: channelPrefix must be a string');
    if (typeof this.event !== 'string' || !this.event || this.event.length > 255) {
      throw new TypeError('createSupabaseTransport: event must be a non-empty string of at most 255 characters');
    }
    this.ack = options.ack ?? true;
    this.isPrivate = options.private ?? false;
    this.publishTimeoutMs = checkNumber('publishTimeoutMs', options.publishTimeoutMs, nonNegative, 'createSupabaseTransport') ?? 10_000;
    this.idleCloseMs = checkNumber('idleCloseMs', options.idleCloseMs, nonNegative, 'createSupabaseTransport') ?? 30_000;
    this.clock = options.clock ?? realClock;
  }

  connect(listener: RealtimeTransportListener): void {
    if (this.closed) throw new Error('closed-loop/supabase: this transport was closed; create a new one');
    this.listener = listener;
    // Nothing is subscribed yet, so nothing can be missed: ready until a subscribed topic's channel drops.
    this.report();
  }

  watch(topic: string): void {
    // '*' cannot be a channel (there is no "every channel" subscription): see the class comment.
    if (topic === '*' || this.closed) return;
    const entry = this.entry(topic);
    entry.watched = true;
    this.cancelIdle(entry);
    this.report();
  }

  unwatch(topic: string): void {
    const entry = this.entries.get(topic);
    if (!entry || !entry.watched) return;
    entry.watched = false;
    entry.resync = false;
    this.scheduleIdle(entry);
    this.report();
  }

  async publish(event: ChangeEvent): Promise<void> {
    if (this.closed) throw new Error('closed-loop/supabase: this transport was closed');
    const entry = this.entry(event.topic);
    try {
      const channel = await this.whenUp(entry);
      const result = await channel.send({ type: 'broadcast', event: this.event, payload: event });
      if (result !== 'ok') {
        throw new Error(`closed-loop/supabase: broadcast on "${event.topic}" was not acknowledged (${result})`);
      }
    } finally {
      if (!entry.watched && !entry.closing) this.scheduleIdle(entry);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stops: Array<Promise<void>> = [];
    for (const entry of this.entries.values()) {
      this.cancelIdle(entry);
      for (const wake of [...entry.waiters]) wake();
      stops.push(entry.closing ?? entry.channel.stop());
    }
    this.entries.clear();
    this.listener = undefined;
    await Promise.allSettled(stops);
  }

  private entry(topic: string): Entry {
    const existing = this.entries.get(topic);
    if (existing && !existing.closing) return existing;
    const name = this.channelName(topic);
    const entry: Entry = {
      topic,
      watched: false,
      resync: false,
      idleTimer: undefined,
      closing: undefined,
      waiters: new Set(),
      channel: new ManagedChannel(
        this.supabase,
        {
          name,
          config: { broadcast: { ack: this.ack, self: false }, private: this.isPrivate },
          waitForDatabase: false,
          clock: this.clock,
          reopenBackoff: this.options.reopenBackoff ?? {},
          accessToken: this.options.accessToken,
        },
        {
          bind: (channel) => this.bind(entry, channel),
          onState: (state, resync) => this.onChannelState(entry, state, resync),
          onError: (error) => this.options.onError?.(error),
        },
      ),
    };
    this.entries.set(topic, entry);
    // The previous channel of this topic is still being left: realtime-js would hand it back.
    const previous = existing?.closing;
    if (previous) {
      void previous.then(() => {
        try {
          this.startEntry(entry);
        } catch (e) {
          this.options.onError?.(e instanceof Error ? e : new Error(String(e)));
        }
      });
    } else {
      this.startEntry(entry);
    }
    return entry;
  }

  private startEntry(entry: Entry): void {
    if (this.closed || this.entries.get(entry.topic) !== entry) return;
    try {
      entry.channel.start();
    } catch (e) {
      this.entries.delete(entry.topic);
      throw e;
    }
  }

  private channelName(topic: string): string {
    if (typeof topic !== 'string' || !topic) throw new TypeError('closed-loop/supabase: a topic must be a non-empty string');
    const name = this.prefix + topic;
    // realtime-js writes the channel topic into binary frames one byte per character.
    if (!/^[\x20-\x7e]*$/.test(name) || `realtime:${name}`.length > MAX_CHANNEL_TOPIC) {
      const room = MAX_CHANNEL_TOPIC - 'realtime:'.length - this.prefix.length;
      throw new TypeError(
        `closed-loop/supabase: topic "${topic}" cannot be a Realtime channel name: use printable ASCII, at most ${room} characters`,
      );
    }
    return name;
  }

  private bind(entry: Entry, channel: RealtimeChannel): void {
    channel.on('broadcast', { event: this.event }, (message: { payload?: unknown }) => {
      const event = message.payload;
      // Only what looks like a change event of this very topic: the channel is open to any client.
      if (!entry.watched || this.entries.get(entry.topic) !== entry || !isChangeEvent(event) || event.topic !== entry.topic) return;
      this.listener?.onEvent(event);
    });
  }

  private onChannelState(entry: Entry, state: 'up' | 'down', resync: boolean): void {
    if (state === 'up') {
      if (resync && entry.watched) entry.resync = true;
      for (const wake of [...entry.waiters]) wake();
    }
    this.report();
  }

  /** Resolves with the live channel once it is joined; rejects with TimeoutError after publishTimeoutMs. */
  private whenUp(entry: Entry): Promise<RealtimeChannel> {
    const ready = (): RealtimeChannel | undefined => {
      const channel = entry.channel.current;
      // send() on a channel that is not joined falls back to Realtime's REST endpoint: never let it.
      return entry.channel.isUp && channel && channel.state === 'joined' && this.supabase.realtime.isConnected() ? channel : undefined;
    };
    const now = ready();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        if (this.closed) {
          finish();
          reject(new Error('closed-loop/supabase: the transport was closed before the event could be sent'));
          return;
        }
        const channel = ready();
        if (!channel) return;
        finish();
        resolve(channel);
      };
      const timer = unrefTimer(
        this.clock.setTimeout(() => {
          finish();
          reject(
            new TimeoutError(
              this.publishTimeoutMs,
              `closed-loop/supabase: the channel of "${entry.topic}" was not joined within ${this.publishTimeoutMs} ms`,
            ),
          );
        }, this.publishTimeoutMs),
      );
      const finish = (): void => {
        entry.waiters.delete(wake);
        this.clock.clearTimeout(timer);
      };
      entry.waiters.add(wake);
    });
  }

  private scheduleIdle(entry: Entry): void {
    this.cancelIdle(entry);
    entry.idleTimer = unrefTimer(
      this.clock.setTimeout(() => {
        entry.idleTimer = undefined;
        if (entry.watched || entry.waiters.size || this.entries.get(entry.topic) !== entry) return;
        entry.closing = entry.channel.stop().catch(() => undefined);
        void entry.closing.then(() => {
          if (this.entries.get(entry.topic) === entry) this.entries.delete(entry.topic);
        });
      }, this.idleCloseMs),
    );
  }

  private cancelIdle(entry: Entry): void {
    if (entry.idleTimer !== undefined) this.clock.clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
  }

  /**
   * Reports `reconnecting` while a subscribed topic's channel is down (a first join that failed
   * counts), `resynced` once every one is joined again, and `connected` at first.
   */
  private report(): void {
    if (!this.listener) return;
    const live = [...this.entries.values()].filter((e) => e.watched && !e.closing);
    let next: RealtimeStatus;
    if (live.some((e) => e.channel.isDown)) next = 'reconnecting';
    else if (live.some((e) => e.resync)) next = 'resynced';
    else if (this.status === undefined || this.status === 'reconnecting') next = 'connected';
    else return;
    if (next !== 'reconnecting') for (const e of live) e.resync = false;
    if (next === this.status && next !== 'resynced') return;
    this.status = next;
    this.listener.onStatus(next);
  }
}

/** A broadcast payload that has what every change event has. */
function isChangeEvent(value: unknown): value is ChangeEvent {
  if (value === null || typeof value !== 'object') return false;
  const e = value as Partial<ChangeEvent>;
  return (
    typeof e.topic === 'string' &&
    typeof e.eventId === 'string' &&
    typeof e.timestamp === 'number' &&
    (e.type === 'INSERT' || e.type === 'UPDATE' || e.type === 'DELETE' || e.type === 'BROADCAST')
  );
}
