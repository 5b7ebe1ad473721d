import type { RealtimeChannel } from '@supabase/supabase-js';
import {
  type BackoffOptions,
  type ChangeEvent,
  type Clock,
  type RealtimeStatus,
  type RealtimeSyncService,
  type RealtimeTransport,
  type RealtimeTransportListener,
  type RecordId,
  realClock,
} from 'closed-loop';
import { type AccessTokenSource, ManagedChannel, type SupabaseRealtimeClient } from './channel.js';

/** Options of {@link subscribeToTable}. */
export interface SubscribeToTableOptions {
  /** The table's schema, e.g. `'public'`. */
  schema: string;
  /** The table. Its changes must be published to Realtime (`alter publication supabase_realtime add table …`). */
  table: string;
  /**
   * A Realtime row filter, `column=operator.value` (e.g. `'owner_id=eq.42'`), applied by the server.
   * Default: every row (that the user's RLS policies let them see).
   */
  filter?: string;
  /** Which changes: `'INSERT'`, `'UPDATE'`, `'DELETE'` or `'*'` (default). */
  events?: 'INSERT' | 'UPDATE' | 'DELETE' | '*';
  /** The service topic the changes are published on. Default the table name. */
  topic?: string;
  /**
   * The primary key column(s): a change event's `id` is that column's value (several columns: a JSON
   * array of their values). Default `'id'`. DELETE events need it in the old row, which Postgres
   * always sends.
   */
  primaryKey?: string | readonly string[];
  /**
   * The column holding a record version (a number), copied to the event's `version` so the
   * service's latest-state cache orders by it. Default `'version'` (used when the row has a numeric
   * `version`); `null`: none, order by commit time.
   */
  versionColumn?: string | null;
  /** Delay before a channel the server closed is opened again. Default 1 s doubling to 30 s, full jitter. */
  reopenBackoff?: BackoffOptions;
  /**
   * Where a fresh token comes from, asked when the server reports an expired one (and before the
   * first join while the client knows none yet); the answer is given to `supabase.realtime.setAuth`.
   * Default: the Supabase client's own source (the session's token, which supabase-js refreshes, or
   * the client's `accessToken` option).
   */
  accessToken?: AccessTokenSource;
  /** Hears what the status alone does not tell: refused joins, database feed errors, failed token refreshes. */
  onError?: (error: Error) => void;
  /** The clock for reopen delays (and the timestamp of a change without a commit time). Default the real clock. */
  clock?: Clock;
}

/** The postgres_changes payload as realtime-js 2.109 hands it to a listener. */
interface PostgresChangePayload {
  schema?: string;
  table?: string;
  commit_timestamp?: string;
  eventType?: string;
  new?: Record<string, unknown>;
  old?: Record<string, unknown>;
}

let channelCount = 0;

/**
 * Feeds a table's database changes (Realtime `postgres_changes`) into `service` as change events on
 * one topic: INSERT, UPDATE and DELETE with the row as `new` (and the old row, as far as Postgres
 * sends it, as `old`), `id` from the primary key, `timestamp` from the commit time, and an `eventId`
 * made from the change itself, so the same change delivered twice (two feeds, or two clients relaying
 * it over another transport) reaches each subscriber once.
 *
 * What realtime-js leaves to the app is done here. The feed reports `connecting` at once and
 * `connected` only when the server says "Subscribed to PostgreSQL" (SUBSCRIBED comes earlier, before
 * changes flow): load the table then. A drop, a refused or timed-out join or a closed channel
 * (`CHANNEL_ERROR`, `TIMED_OUT`, `CLOSED`) reports `reconnecting`; since postgres_changes has no
 * replay, every recovery reports `resynced` (refetch then). A channel the server closed is opened
 * again, and an expired token is replaced first (see `accessToken`). The feed's status joins the
 * service's status (the service is `connected` when its transport and all its feeds are); its events
 * are delivered to the service's subscribers and not sent on over the service's transport.
 *
 * @param service - the service to publish into
 * @param supabase - a client from `createClient`
 * @param options - which table and rows; see {@link SubscribeToTableOptions}
 * @returns a function that stops the feed and leaves its channel
 * @example
 * ```ts
 * const service = new RealtimeSyncService()
 * const stop = subscribeToTable(service, supabase, { schema: 'public', table: 'todos' })
 * service.subscribe('todos', (event) => applyChange(event))
 * service.on('status', (status) => {
 *   if (status === 'connected' || status === 'resynced') refetchTodos() // changes before this are not replayed
 * })
 * ```
 */
export function subscribeToTable(
  service: RealtimeSyncService,
  supabase: SupabaseRealtimeClient,
  options: SubscribeToTableOptions,
): () => Promise<void> {
  if (!service || typeof service.publish !== 'function' || typeof service.subscribe !== 'function') {
    throw new TypeError('subscribeToTable: expected a RealtimeSyncService as the first argument');
  }
  if (typeof service.addSource !== 'function') {
    // A service from an older copy of closed-loop.
    throw new TypeError('subscribeToTable: this RealtimeSyncService cannot take a second event source (addSource is missing)');
  }
  return service.addSource(new TableFeed(supabase, options));
}

/**
 * A table's change feed as a receive-only {@link RealtimeTransport}: what {@link subscribeToTable}
 * attaches to a service. `publish` does nothing (the database is where changes come from).
 *
 * @internal
 */
export class TableFeed implements RealtimeTransport {
  private readonly topic: string;
  private readonly primaryKey: readonly string[];
  private readonly versionColumn: string | null;
  private readonly clock: Clock;
  private readonly channel: ManagedChannel;
  private listener: RealtimeTransportListener | undefined;
  private closed = false;

  constructor(
    supabase: SupabaseRealtimeClient,
    private readonly options: SubscribeToTableOptions,
  ) {
    if (!supabase || typeof supabase.channel !== 'function' || typeof supabase.removeChannel !== 'function' || !supabase.realtime) {
      throw new TypeError('subscribeToTable: expected a Supabase client (from createClient)');
    }
    if (typeof options !== 'object' || options === null) throw new TypeError('subscribeToTable: options must be an object');
    const { schema, table, filter } = options;
    if (typeof schema !== 'string' || !schema) throw new TypeError('subscribeToTable: `schema` must be a non-empty string');
    if (typeof table !== 'string' || !table) throw new TypeError('subscribeToTable: `table` must be a non-empty string');
    if (filter !== undefined && (typeof filter !== 'string' || !filter)) {
      throw new TypeError('subscribeToTable: `filter` must be a non-empty string such as "owner_id=eq.42"');
    }
    const events = options.events ?? '*';
    if (!['*', 'INSERT', 'UPDATE', 'DELETE'].includes(events)) {
      throw new TypeError("subscribeToTable: `events` must be 'INSERT', 'UPDATE', 'DELETE' or '*'");
    }
    this.topic = options.topic ?? table;
    if (typeof this.topic !== 'string' || !this.topic || this.topic === '*') {
      throw new TypeError('subscribeToTable: `topic` must be a non-empty string other than "*"');
    }
    const pk = options.primaryKey ?? 'id';
    this.primaryKey = typeof pk === 'string' ? [pk] : [...pk];
    if (!this.primaryKey.length || this.primaryKey.some((c) => typeof c !== 'string' || !c)) {
      throw new TypeError('subscribeToTable: `primaryKey` must be a column name or a non-empty list of them');
    }
    const version = options.versionColumn === undefined ? 'version' : options.versionColumn;
    if (version !== null && (typeof version !== 'string' || !version)) {
      throw new TypeError('subscribeToTable: `versionColumn` must be a column name or null');
    }
    this.versionColumn = version;
    this.clock = options.clock ?? realClock;

    const binding = { event: events, schema, table, ...(filter === undefined ? {} : { filter }) };
    this.channel = new ManagedChannel(
      supabase,
      {
        // Unique per feed: realtime-js hands back an existing channel of the same name.
        name: `closed-loop:db:${schema}.${table}:${++channelCount}`,
        config: {},
        waitForDatabase: true,
        clock: this.clock,
        reopenBackoff: options.reopenBackoff ?? {},
        accessToken: options.accessToken,
      },
      {
        bind: (channel: RealtimeChannel) => {
          channel.on('postgres_changes', binding as { event: '*'; schema: string }, (payload: unknown) => this.onChange(payload));
        },
        onState: (state, resync) => this.report(state === 'down' ? 'reconnecting' : resync ? 'resynced' : 'connected'),
        onError: (error) => options.onError?.(error),
      },
    );
  }

  /**
   * Joins the table's channel; status and changes go to `listener`. Reports `connecting` at once, so
   * that a service already connected over its transport reports `connected` again when the database
   * feed is ready: the moment to load the table.
   */
  connect(listener: RealtimeTransportListener): void {
    if (this.closed) throw new Error('closed-loop/supabase: this table feed was stopped');
    this.listener = listener;
    listener.onStatus('connecting');
    this.channel.start();
  }

  /** Does nothing: changes come from the database, not from the service. */
  publish(): void {}

  /** Leaves the channel. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listener = undefined;
    await this.channel.stop();
  }

  private report(status: RealtimeStatus): void {
    this.listener?.onStatus(status);
  }

  private onChange(raw: unknown): void {
    const listener = this.listener;
    if (!listener || raw === null || typeof raw !== 'object') return;
    const event = this.toEvent(raw);
    if (event) listener.onEvent(event);
  }

  private toEvent(change: PostgresChangePayload): ChangeEvent | undefined {
    const type = change.eventType;
    if (type !== 'INSERT' && type !== 'UPDATE' && type !== 'DELETE') return undefined;
    const newRow = nonEmpty(change.new);
    const oldRow = nonEmpty(change.old);
    const row = type === 'DELETE' ? oldRow : newRow;
    const id = recordId(this.primaryKey, row ?? oldRow);
    const versionValue = this.versionColumn && newRow ? newRow[this.versionColumn] : undefined;
    const version = typeof versionValue === 'number' && Number.isFinite(versionValue) ? versionValue : undefined;
    const committed = typeof change.commit_timestamp === 'string' ? Date.parse(change.commit_timestamp) : Number.NaN;
    const schema = change.schema ?? this.options.schema;
    const table = change.table ?? this.options.table;
    const event: ChangeEvent = {
      topic: this.topic,
      type,
      timestamp: Number.isFinite(committed) ? committed : this.clock.now(),
      eventId: [
        'pg',
        `${schema}.${table}`,
        type,
        change.commit_timestamp ?? '',
        id === undefined ? '' : String(id),
        digest(stableJson([newRow ?? null, oldRow ?? null])),
      ].join(':'),
    };
    if (id !== undefined) event.id = id;
    if (type !== 'DELETE' && newRow) event.new = newRow;
    if (oldRow) event.old = oldRow;
    if (version !== undefined) event.version = version;
    return event;
  }
}

function nonEmpty(row: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return row && typeof row === 'object' && Object.keys(row).length ? row : undefined;
}

function recordId(columns: readonly string[], row: Record<string, unknown> | undefined): RecordId | undefined {
  if (!row) return undefined;
  const values = columns.map((c) => row[c]);
  if (values.some((v) => v === undefined || v === null)) return undefined;
  if (values.length === 1) {
    const v = values[0];
    return typeof v === 'number' || typeof v === 'string' ? v : JSON.stringify(v);
  }
  return JSON.stringify(values);
}

/** JSON with object keys sorted, so equal rows give equal text whatever the key order. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .filter((k) => obj[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`)
    .join(',')}}`;
}

/** 64 bits of FNV-1a (two 32-bit passes with different offsets) as hex: tells changes of one commit apart. */
function digest(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
    b ^= b >>> 15;
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}
