import type { RealtimeChannel, RealtimeChannelOptions, SupabaseClient } from '@supabase/supabase-js';
import { type BackoffOptions, type Clock, computeBackoffDelay, type TimerHandle, unrefTimer } from 'closed-loop';

/**
 * The part of a Supabase client the adapter uses. A client from `createClient` fits (whatever its
 * database type); so does any object with these three members. The adapter only calls them: it never
 * imports `@supabase/supabase-js` at run time.
 */
export type SupabaseRealtimeClient = Pick<SupabaseClient, 'channel' | 'removeChannel' | 'realtime'>;

/**
 * Returns a fresh access token for Realtime when the server reports an expired or invalid token.
 * `null` falls back to the client's own token source.
 */
export type AccessTokenSource = () => string | null | Promise<string | null>;

/** A channel's state as the adapter tracks it. */
type State = 'joining' | 'up' | 'down' | 'stopped';

/** What a {@link ManagedChannel} reports to its owner. @internal */
export interface ManagedChannelHooks {
  /** Adds the channel's listeners. Called for every new channel instance, before it subscribes. */
  bind(channel: RealtimeChannel): void;
  /**
   * `up`: events flow. `resync` is true when the channel was down at some point since it started (a
   * drop, or a first join that failed), so events sent meanwhile are lost: neither broadcast nor
   * postgres_changes replays. `down`: events do not flow.
   */
  onState(state: 'up' | 'down', resync: boolean): void;
  /** Something the owner's user should hear about (a refused join, a failed token refresh). */
  onError(error: Error): void;
}

/** @internal */
export interface ManagedChannelOptions {
  name: string;
  config: RealtimeChannelOptions['config'];
  /** Up only once the server's "Subscribed to PostgreSQL" system message arrives, not at SUBSCRIBED. */
  waitForDatabase: boolean;
  clock: Clock;
  /** Delay before a closed channel is opened again. */
  reopenBackoff: BackoffOptions;
  accessToken: AccessTokenSource | undefined;
}

// Realtime's token complaints: "InvalidJWTToken: Token has expired 5 seconds ago", "Access token has
// expired: …", "Token has expired 0 seconds ago", "JwtSignatureError…".
const TOKEN_PROBLEM = /jwt|token/i;

const refreshes = new WeakMap<object, Promise<void>>();
// Channel names the adapter holds per Realtime client, taken synchronously: the client itself only
// knows a channel once it is created, which may wait for a token.
const namesInUse = new WeakMap<object, Set<string>>();

/**
 * Gives the Realtime client a fresh token, once at a time per client. realtime-js 2.109 keeps the
 * token a channel joins with in `realtime.accessTokenValue`; `setAuth()` without an argument asks the
 * client's token callback again (supabase-js passes one that returns the current session's token,
 * refreshing an expired session, or the `accessToken` option's), stores the answer, puts it into every
 * channel's next join and pushes it to joined channels. `setAuth(token)` does the same with a token
 * of ours.
 */
export function refreshRealtimeAuth(supabase: SupabaseRealtimeClient, accessToken: AccessTokenSource | undefined): Promise<void> {
  const key = supabase.realtime;
  let pending = refreshes.get(key);
  if (!pending) {
    pending = (async () => {
      const token = accessToken ? await accessToken() : null;
      await supabase.realtime.setAuth(token);
    })().finally(() => refreshes.delete(key));
    refreshes.set(key, pending);
  }
  return pending;
}

// A refused join carries the server's reply (a plain JSON object) as its cause, and realtime-js' own
// complaints (bindings the server did not confirm) none; a dropped socket carries a close or error
// event (class instances) or says so ("socket closed: 1006", "channel error: …", "heartbeat timeout").
function isWorthReporting(error: Error): boolean {
  const cause: unknown = error.cause;
  if (cause !== null && typeof cause === 'object') return Object.getPrototypeOf(cause) === Object.prototype;
  return !/^(socket closed|channel error|heartbeat timeout)/.test(error.message);
}

function asError(reason: unknown, fallback: string): Error {
  if (reason instanceof Error) return reason;
  return new Error(typeof reason === 'string' && reason ? reason : fallback, { cause: reason });
}

/**
 * One logical Realtime channel that stays subscribed: realtime-js rejoins an errored channel by itself
 * (after a socket drop, a refused or timed-out join), but a channel the server closed (`phx_close`,
 * e.g. when its token expired) is gone for good; this opens a new one, after a fresh token when the
 * old one expired, on the clock with backoff.
 *
 * @internal
 */
export class ManagedChannel {
  private channel: RealtimeChannel | undefined;
  private state: State = 'joining';
  private everDown = false;
  private joined = false;
  private databaseReady = false;
  /** The refresh started when the server said the token expired; the reopen waits for it. */
  private tokenRefresh: Promise<void> | undefined;
  private reopenTimer?: TimerHandle;
  private reopenAttempts = 0;
  private holdsName = false;

  constructor(
    private readonly supabase: SupabaseRealtimeClient,
    private readonly options: ManagedChannelOptions,
    private readonly hooks: ManagedChannelHooks,
  ) {}

  /** Events flow on the channel. */
  get isUp(): boolean {
    return this.state === 'up';
  }

  /** The channel dropped (or its first join failed) and is not back yet. */
  get isDown(): boolean {
    return this.state === 'down';
  }

  /** The live realtime-js channel, when there is one. */
  get current(): RealtimeChannel | undefined {
    return this.channel;
  }

  /**
   * Creates and subscribes the channel. Throws if the client already has a channel of that name.
   *
   * Until the Realtime client knows a token, a join carries none and the server takes the apikey
   * (the anon role) instead: realtime-js 2.109 fetches the token asynchronously on connect, or (with
   * supabase-js' `accessToken` option) right after `createClient`, while a join made in the same tick
   * is already queued without it, and in the latter case the channel never gets the token later. So the
   * first join waits for a token.
   */
  start(): void {
    const name = this.options.name;
    let names = namesInUse.get(this.supabase.realtime);
    if (!names) namesInUse.set(this.supabase.realtime, (names = new Set()));
    if (names.has(name) || this.supabase.realtime.getChannels().some((c) => c.topic === `realtime:${name}`)) throw this.nameInUse();
    names.add(name);
    this.holdsName = true;
    if (this.supabase.realtime.accessTokenValue) {
      try {
        this.open();
      } catch (e) {
        names.delete(name);
        this.holdsName = false;
        throw e;
      }
      return;
    }
    void this.refreshAuth().then(() => {
      if (this.state !== 'stopped' && !this.channel) this.openOrRetry();
    });
  }

  /** Leaves the channel and stops reopening it. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.reopenTimer !== undefined) this.options.clock.clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const channel = this.channel;
    this.channel = undefined;
    try {
      if (channel) await this.supabase.removeChannel(channel);
    } finally {
      if (this.holdsName) namesInUse.get(this.supabase.realtime)?.delete(this.options.name);
      this.holdsName = false;
    }
  }

  private open(): void {
    const channel = this.supabase.channel(this.options.name, { config: this.options.config });
    // realtime-js hands back an existing channel of the same name rather than a new one.
    if (channel.joinedOnce) throw this.nameInUse();
    this.channel = channel;
    this.joined = false;
    this.databaseReady = false;
    this.hooks.bind(channel);
    channel.on('system', {}, (payload: unknown) => this.onSystem(channel, payload));
    channel.subscribe((status, error) => this.onSubscribeStatus(channel, status, error));
  }

  private nameInUse(): Error {
    return new Error(
      `closed-loop/supabase: this Supabase client already has a channel "${this.options.name}"; ` +
        'use one transport per client (or a different channelPrefix)',
    );
  }

  private openOrRetry(): void {
    try {
      this.open();
    } catch (e) {
      this.hooks.onError(asError(e, 'closed-loop/supabase: could not open the channel'));
      this.scheduleReopen();
    }
  }

  private onSubscribeStatus(channel: RealtimeChannel, status: string, error: Error | undefined): void {
    if (channel !== this.channel || this.state === 'stopped') return;
    switch (status) {
      case 'SUBSCRIBED':
        this.joined = true;
        this.reopenAttempts = 0;
        if (!this.options.waitForDatabase || this.databaseReady) this.markUp();
        return;
      case 'CHANNEL_ERROR':
        // A socket drop, a heartbeat timeout or a refused join: realtime-js rejoins on its own (at
        // once when the socket reopens, else after 1, 2, 5, 10 s). A refused join is worth telling.
        this.markDown();
        if (error && isWorthReporting(error)) this.hooks.onError(error);
        // Fire and forget: realtime-js rejoins by itself, and refreshAuth reports its own failure.
        if (error && TOKEN_PROBLEM.test(error.message)) void this.refreshAuth();
        return;
      case 'TIMED_OUT':
        // The join got no reply in time; realtime-js leaves and rejoins later by itself.
        this.markDown();
        return;
      case 'CLOSED':
        // The server closed the channel (or realtime-js gave up on it): nobody rejoins it.
        this.markDown();
        this.channel = undefined;
        this.scheduleReopen();
        return;
      default:
        return;
    }
  }

  private onSystem(channel: RealtimeChannel, payload: unknown): void {
    if (channel !== this.channel || this.state === 'stopped' || payload === null || typeof payload !== 'object') return;
    const { extension, status, message } = payload as { extension?: unknown; status?: unknown; message?: unknown };
    if (status === 'ok') {
      if (extension === 'postgres_changes') {
        this.databaseReady = true;
        if (this.options.waitForDatabase && this.joined) this.markUp();
      }
      return;
    }
    if (status !== 'error') return;
    const text = typeof message === 'string' && message ? message : `${String(extension)} error`;
    if (TOKEN_PROBLEM.test(text)) {
      // The server shuts the channel down next (phx_close); it is reopened with a fresh token.
      this.markDown();
      this.tokenRefresh ??= this.refreshAuth();
      return;
    }
    this.hooks.onError(new Error(`Supabase Realtime: ${text}`, { cause: payload }));
    if (extension === 'postgres_changes') {
      // The database feed failed while the channel stays joined: start over with a new channel.
      this.markDown();
      void this.restart();
    }
  }

  private markUp(): void {
    if (this.state === 'up' || this.state === 'stopped') return;
    this.state = 'up';
    this.hooks.onState('up', this.everDown);
  }

  private markDown(): void {
    this.joined = false;
    this.databaseReady = false;
    if (this.state === 'down' || this.state === 'stopped') return;
    this.state = 'down';
    this.everDown = true;
    this.hooks.onState('down', false);
  }

  private refreshAuth(): Promise<void> {
    return refreshRealtimeAuth(this.supabase, this.options.accessToken).catch((e: unknown) => {
      this.hooks.onError(asError(e, 'closed-loop/supabase: could not refresh the Realtime access token'));
    });
  }

  private async restart(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    // Wait until the old channel is out of the client: until then `channel(name)` would return it.
    if (channel) await this.supabase.removeChannel(channel).catch(() => undefined);
    if (this.state !== 'stopped') this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.state === 'stopped' || this.reopenTimer !== undefined) return;
    this.reopenAttempts++;
    const delay = computeBackoffDelay(this.reopenAttempts, this.options.reopenBackoff);
    this.reopenTimer = unrefTimer(
      this.options.clock.setTimeout(() => {
        this.reopenTimer = undefined;
        void this.reopen();
      }, delay),
    );
  }

  private async reopen(): Promise<void> {
    if (this.tokenRefresh) {
      await this.tokenRefresh;
      this.tokenRefresh = undefined;
    }
    if (this.state === 'stopped') return;
    this.openOrRetry();
  }
}
