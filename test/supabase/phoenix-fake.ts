// Node only. A small Supabase Realtime server of the tests' own: the Phoenix channel protocol as
// realtime-js 2.109.0 speaks it (serializer vsn 2.0.0), on a free loopback port, path
// /realtime/v1/websocket. It is a protocol fake, not the Supabase server: there is no database and no
// authorization; the tests emit "database changes" themselves and decide which tokens have expired.
//
// Wire format, as read from @supabase/realtime-js 2.109.0 (src/lib/serializer.ts, RealtimeChannel.ts)
// and @supabase/phoenix 0.4.4 (socket.js, channel.js, push.js), and checked against what the client
// actually sends:
// - Text frames are JSON arrays `[join_ref, ref, topic, event, payload]`.
// - Heartbeats: `[null, ref, "phoenix", "heartbeat", {}]`, answered by a `phx_reply` with status ok.
// - Joins: `phx_join` with `{ config: { broadcast, presence, postgres_changes: [{event, schema,
//   table, filter?}], private }, access_token? }`; answered by `phx_reply` `{status: "ok", response:
//   {postgres_changes: [{...binding, id}]}}` or `{status: "error", response: {reason}}`. Without an
//   access_token the apikey of the socket URL is the token.
// - Once the database feed of a joined channel is ready the server pushes `system` `{extension:
//   "postgres_changes", status: "ok", message: "Subscribed to PostgreSQL", channel}` — after the join
//   reply, which is why SUBSCRIBED alone does not mean changes flow.
// - Changes: `[null, null, topic, "postgres_changes", {ids: [binding ids], data: {schema, table,
//   commit_timestamp, type, columns, record, old_record, errors}}]`.
// - Broadcasts from the client are binary (kind 3, "user broadcast push"): 1 byte kind, then 1-byte
//   lengths of join_ref, ref, topic, user event and metadata, 1 byte payload encoding (0 binary,
//   1 JSON), then those strings, then the payload bytes. Broadcasts to clients are binary too (kind 4,
//   "user broadcast"): kind, lengths of topic, user event, metadata, payload encoding, the strings,
//   the payload. With `broadcast.ack` the sender gets a `phx_reply` ok; with `broadcast.self` false
//   it does not get its own message back.
// - `access_token` pushes `{access_token}` replace a joined channel's token (no reply).
// - `phx_leave` is answered ok and followed by `phx_close`. A channel the server shuts down (its
//   token expired) gets a `system` error message and then `phx_close`; a crashed channel gets
//   `phx_error`. Server pushes on a channel carry its join_ref; fan-out (changes, broadcasts) does not.
// Presence, replay and the REST broadcast endpoint are not implemented.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';

/** A frame the fake received from a client, decoded. */
export interface ReceivedFrame {
  /** Which connection sent it (1-based, in connection order). */
  connection: number;
  /** `text` for JSON array frames, `binary` for binary broadcast frames. */
  encoding: 'text' | 'binary';
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** A postgres_changes binding as a client asked for it in its join, with the id the fake gave it. */
interface Binding {
  id: number;
  event: string;
  schema: string;
  table?: string;
  filter?: string;
}

interface JoinedChannel {
  topic: string;
  joinRef: string;
  token: string;
  ack: boolean;
  self: boolean;
  bindings: Binding[];
  /** The database feed is ready: "Subscribed to PostgreSQL" was sent. */
  feedReady: boolean;
}

interface Connection {
  id: number;
  ws: WebSocket;
  apikey: string;
  channels: Map<string, JoinedChannel>;
}

/** One change the test "commits" to the fake database. */
export interface FakeChange {
  schema?: string;
  table: string;
  type: 'INSERT' | 'UPDATE' | 'DELETE';
  /** The row after the change (INSERT, UPDATE). */
  record?: Record<string, unknown> | null;
  /** The row before the change (UPDATE, DELETE): the primary key only, unless replica identity full. */
  old_record?: Record<string, unknown> | null;
  /** ISO 8601 commit time; default now. */
  commit_timestamp?: string;
}

/** How the fake answers the next joins of a topic. */
export type JoinBehaviour = { reply: 'error'; reason: string } | { reply: 'none' };

const SOCKET_PATH = '/realtime/v1/websocket';
const KIND_BROADCAST_PUSH = 3;
const KIND_BROADCAST = 4;
const JSON_ENCODING = 1;

/**
 * Starts a fake on a free loopback port. `url` is what `createClient` takes as the project URL.
 */
export async function startPhoenixFake(): Promise<PhoenixFake> {
  const fake = new PhoenixFake();
  await fake.listen();
  return fake;
}

/** The fake server. Every control method acts at once on the live connections. */
export class PhoenixFake {
  /** Every frame received, in order. */
  readonly frames: ReceivedFrame[] = [];
  /** How many WebSocket connections were accepted so far. */
  connectionCount = 0;
  /**
   * Delay before "Subscribed to PostgreSQL" follows a join with postgres_changes bindings, in ms, or
   * `'hold'` to send it only on {@link releaseFeeds}. Changes emitted before it are not delivered.
   */
  feedDelay: number | 'hold' = 0;

  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly connections = new Set<Connection>();
  private readonly joinRules: Array<{ match: (topic: string) => boolean; behaviour: JoinBehaviour; remaining: number }> = [];
  private readonly expired = new Set<string>();
  private available = true;
  private readonly blocked = new Set<string>();
  private nextBindingId = 1000;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private port = 0;

  constructor() {
    this.http = createServer((_req, res) => {
      res.writeHead(404).end();
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  /** The project URL for `createClient`: `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** @internal */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(0, '127.0.0.1', () => {
        const address = this.http.address();
        this.port = typeof address === 'object' && address ? address.port : 0;
        resolve();
      });
    });
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.connections) c.ws.terminate();
    this.connections.clear();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ------------------------------------------------------------------------------------------
  // Fault injection
  // ------------------------------------------------------------------------------------------

  /** Drops every connection at the TCP level (no close frame), as a network failure would. */
  dropConnections(): void {
    for (const c of this.connections) c.ws.terminate();
    this.connections.clear();
  }

  /**
   * An outage: `false` drops every connection and refuses new ones (HTTP 503 on upgrade) until it is
   * set back to `true`.
   */
  setAvailable(available: boolean): void {
    this.available = available;
    if (!available) this.dropConnections();
  }

  /**
   * An outage for one client, told apart by the apikey in its socket URL: drops its connections and
   * refuses its new ones until {@link unblock}.
   */
  block(apikey: string): void {
    this.blocked.add(apikey);
    for (const c of [...this.connections]) {
      if (c.apikey !== apikey) continue;
      c.ws.terminate();
      this.connections.delete(c);
    }
  }

  /** Ends a {@link block}. */
  unblock(apikey: string): void {
    this.blocked.delete(apikey);
  }

  /** The next `times` joins of topics matching `topic` get `behaviour` instead of ok. */
  failJoins(topic: string | RegExp, behaviour: JoinBehaviour, times = 1): void {
    const match = typeof topic === 'string' ? (t: string) => t === topic : (t: string) => topic.test(t);
    this.joinRules.push({ match, behaviour, remaining: times });
  }

  /** Sends "Subscribed to PostgreSQL" to every joined channel still waiting for it (with feedDelay 'hold'). */
  releaseFeeds(): void {
    for (const c of this.connections) for (const ch of c.channels.values()) if (!ch.feedReady && ch.bindings.length) this.feedReady(c, ch);
  }

  /**
   * Marks `token` expired. Channels joined with it get a `system` error and are shut down
   * (`phx_close`), as the server does when a token expires; joins with it are refused.
   */
  expireToken(token: string): void {
    this.expired.add(token);
    for (const c of this.connections) {
      for (const ch of [...c.channels.values()]) if (ch.token === token) this.shutDownForToken(c, ch);
    }
  }

  /** Crashes the server side of `topic` on every connection: the client gets `phx_error`. */
  crashChannel(topic: string): void {
    for (const c of this.connections) {
      const ch = c.channels.get(topic);
      if (!ch) continue;
      c.channels.delete(topic);
      this.sendText(c, [ch.joinRef, ch.joinRef, topic, 'phx_error', {}]);
    }
  }

  /** Closes `topic` from the server side on every connection (`phx_close`), as a server shutting a channel down does. */
  closeChannel(topic: string): void {
    for (const c of this.connections) {
      const ch = c.channels.get(topic);
      if (!ch) continue;
      c.channels.delete(topic);
      this.sendText(c, [ch.joinRef, ch.joinRef, topic, 'phx_close', {}]);
    }
  }

  /**
   * The database feed of `topic` fails on every connection: a `system` error from the
   * postgres_changes extension; the channel stays joined but no more changes reach it.
   */
  failFeed(topic: string, message = 'Unable to subscribe to changes with given parameters'): void {
    for (const c of this.connections) {
      const ch = c.channels.get(topic);
      if (!ch) continue;
      ch.feedReady = false;
      ch.bindings = [];
      const channel = topic.replace(/^realtime:/, '');
      this.sendText(c, [ch.joinRef, null, topic, 'system', { channel, extension: 'postgres_changes', message, status: 'error' }]);
    }
  }

  /** Topics joined on any connection that match `pattern`. */
  joinedTopics(pattern: RegExp): string[] {
    const topics = new Set<string>();
    for (const c of this.connections) for (const t of c.channels.keys()) if (pattern.test(t)) topics.add(t);
    return [...topics];
  }

  /** Forgets `topic` on every connection without telling the clients (their pushes go unmatched). */
  forgetChannel(topic: string): void {
    for (const c of this.connections) c.channels.delete(topic);
  }

  // ------------------------------------------------------------------------------------------
  // Database changes and observation
  // ------------------------------------------------------------------------------------------

  /**
   * "Commits" a change: every joined channel whose feed is ready and whose binding matches gets it.
   * Returns how many channels it was delivered to (0 during an outage: the change is lost, as
   * postgres_changes has no replay).
   */
  emitChange(change: FakeChange): number {
    const schema = change.schema ?? 'public';
    const record = change.type === 'DELETE' ? null : (change.record ?? null);
    const oldRecord = change.type === 'INSERT' ? null : (change.old_record ?? null);
    const row = record ?? oldRecord ?? {};
    const data = {
      schema,
      table: change.table,
      commit_timestamp: change.commit_timestamp ?? new Date().toISOString(),
      type: change.type,
      columns: Object.keys(row).map((name) => ({ name, type: columnType(row[name]) })),
      record: record ?? {},
      old_record: oldRecord ?? {},
      errors: null,
    };
    let delivered = 0;
    for (const c of this.connections) {
      for (const ch of c.channels.values()) {
        if (!ch.feedReady) continue;
        const ids = ch.bindings.filter((b) => bindingMatches(b, schema, change.table, change.type, row)).map((b) => b.id);
        if (!ids.length) continue;
        this.sendText(c, [null, null, ch.topic, 'postgres_changes', { ids, data }]);
        delivered++;
      }
    }
    return delivered;
  }

  /** How many connections have `topic` joined (with the feed ready, if `feedReady`). */
  joinedCount(topic: string, { feedReady = false } = {}): number {
    let n = 0;
    for (const c of this.connections) {
      const ch = c.channels.get(topic);
      if (ch && (!feedReady || ch.feedReady)) n++;
    }
    return n;
  }

  /** The live connections' count. */
  get openConnections(): number {
    return this.connections.size;
  }

  /** Frames received with `event` (and `topic`, if given). */
  received(event: string, topic?: string): ReceivedFrame[] {
    return this.frames.filter((f) => f.event === event && (topic === undefined || f.topic === topic));
  }

  // ------------------------------------------------------------------------------------------
  // Protocol
  // ------------------------------------------------------------------------------------------

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== SOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!this.available || this.blocked.has(url.searchParams.get('apikey') ?? '')) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (url.searchParams.get('vsn') !== '2.0.0') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection: Connection = {
        id: ++this.connectionCount,
        ws,
        apikey: url.searchParams.get('apikey') ?? '',
        channels: new Map(),
      };
      this.connections.add(connection);
      ws.on('message', (data, isBinary) => this.onMessage(connection, data, isBinary));
      ws.on('close', () => this.connections.delete(connection));
      ws.on('error', () => this.connections.delete(connection));
    });
  }

  private onMessage(c: Connection, data: RawData, isBinary: boolean): void {
    const bytes = rawBytes(data);
    if (isBinary) {
      const frame = decodeBroadcastPush(bytes);
      this.frames.push({ connection: c.id, encoding: 'binary', ...frame, event: 'broadcast' });
      this.onBroadcast(c, frame.joinRef, frame.ref, frame.topic, frame.userEvent, frame.payload);
      return;
    }
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 5) throw new Error(`fake: not a vsn 2.0.0 frame: ${bytes.toString('utf8')}`);
    const [joinRef, ref, topic, event, payload] = parsed as [string | null, string | null, string, string, Record<string, unknown>];
    this.frames.push({ connection: c.id, encoding: 'text', joinRef, ref, topic, event, payload });

    if (topic === 'phoenix' && event === 'heartbeat') {
      this.sendText(c, [null, ref, 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
      return;
    }
    switch (event) {
      case 'phx_join':
        this.onJoin(c, joinRef ?? '', ref, topic, payload);
        return;
      case 'phx_leave': {
        const ch = c.channels.get(topic);
        c.channels.delete(topic);
        this.sendText(c, [joinRef, ref, topic, 'phx_reply', { status: 'ok', response: {} }]);
        if (ch) this.sendText(c, [ch.joinRef, ch.joinRef, topic, 'phx_close', {}]);
        return;
      }
      case 'access_token': {
        const ch = this.member(c, topic, joinRef);
        const token = typeof payload.access_token === 'string' ? payload.access_token : '';
        if (!ch) return;
        ch.token = token;
        if (this.expired.has(token)) this.shutDownForToken(c, ch);
        return;
      }
      case 'broadcast': {
        const p = payload as { event?: string; payload?: unknown };
        this.onBroadcast(c, joinRef, ref, topic, String(p.event), p.payload);
        return;
      }
      default: {
        const ch = this.member(c, topic, joinRef);
        if (!ch) this.sendText(c, [joinRef, ref, topic, 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }]);
      }
    }
  }

  private onJoin(c: Connection, joinRef: string, ref: string | null, topic: string, payload: Record<string, unknown>): void {
    const rule = this.joinRules.find((r) => r.remaining > 0 && r.match(topic));
    if (rule) {
      rule.remaining--;
      if (rule.behaviour.reply === 'none') return;
      this.sendText(c, [joinRef, ref, topic, 'phx_reply', { status: 'error', response: { reason: rule.behaviour.reason } }]);
      return;
    }
    const token = typeof payload.access_token === 'string' ? payload.access_token : c.apikey;
    if (this.expired.has(token)) {
      this.sendText(c, [joinRef, ref, topic, 'phx_reply', { status: 'error', response: { reason: 'InvalidJWTToken: Token has expired 5 seconds ago' } }]);
      return;
    }
    // A second join of a topic on the same socket replaces the first (Phoenix closes the old one).
    const previous = c.channels.get(topic);
    if (previous) this.sendText(c, [previous.joinRef, previous.joinRef, topic, 'phx_close', {}]);

    const config = (payload.config ?? {}) as {
      broadcast?: { ack?: boolean; self?: boolean };
      postgres_changes?: Array<{ event: string; schema: string; table?: string; filter?: string }>;
    };
    const bindings: Binding[] = (config.postgres_changes ?? []).map((b) => ({ ...b, id: this.nextBindingId++ }));
    const ch: JoinedChannel = {
      topic,
      joinRef,
      token,
      ack: config.broadcast?.ack === true,
      self: config.broadcast?.self === true,
      bindings,
      feedReady: bindings.length === 0,
    };
    c.channels.set(topic, ch);
    this.sendText(c, [joinRef, ref, topic, 'phx_reply', { status: 'ok', response: { postgres_changes: bindings } }]);
    if (bindings.length && this.feedDelay !== 'hold') {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (c.channels.get(topic) === ch) this.feedReady(c, ch);
      }, this.feedDelay);
      this.timers.add(timer);
    }
  }

  private feedReady(c: Connection, ch: JoinedChannel): void {
    ch.feedReady = true;
    const channel = ch.topic.replace(/^realtime:/, '');
    this.sendText(c, [ch.joinRef, null, ch.topic, 'system', { channel, extension: 'postgres_changes', message: 'Subscribed to PostgreSQL', status: 'ok' }]);
  }

  private shutDownForToken(c: Connection, ch: JoinedChannel): void {
    c.channels.delete(ch.topic);
    const channel = ch.topic.replace(/^realtime:/, '');
    this.sendText(c, [ch.joinRef, null, ch.topic, 'system', { channel, extension: 'system', message: 'Token has expired 0 seconds ago', status: 'error' }]);
    this.sendText(c, [ch.joinRef, ch.joinRef, ch.topic, 'phx_close', {}]);
  }

  private onBroadcast(c: Connection, joinRef: string | null, ref: string | null, topic: string, userEvent: string, payload: unknown): void {
    const sender = this.member(c, topic, joinRef);
    if (!sender) {
      if (ref) this.sendText(c, [joinRef, ref, topic, 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }]);
      return;
    }
    const frame = encodeBroadcast(topic, userEvent, payload);
    for (const other of this.connections) {
      if (other === c && !sender.self) continue;
      if (other.channels.has(topic)) other.ws.send(frame);
    }
    if (sender.ack && ref) this.sendText(c, [joinRef, ref, topic, 'phx_reply', { status: 'ok', response: {} }]);
  }

  /** The channel `topic` on `c`, if joined under `joinRef` (stale join refs are not members). */
  private member(c: Connection, topic: string, joinRef: string | null): JoinedChannel | undefined {
    const ch = c.channels.get(topic);
    return ch && (joinRef === null || joinRef === ch.joinRef) ? ch : undefined;
  }

  private sendText(c: Connection, frame: [string | null, string | null, string, string, unknown]): void {
    if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(frame));
  }
}

// ------------------------------------------------------------------------------------------------
// Binary broadcast frames
// ------------------------------------------------------------------------------------------------

function rawBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Decodes a client's binary broadcast push (kind 3). */
export function decodeBroadcastPush(bytes: Buffer): {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  userEvent: string;
  metadata: string;
  payload: unknown;
} {
  const kind = bytes.readUInt8(0);
  if (kind !== KIND_BROADCAST_PUSH) throw new Error(`fake: unexpected binary frame kind ${kind}`);
  const lengths = [1, 2, 3, 4, 5].map((i) => bytes.readUInt8(i)) as [number, number, number, number, number];
  const encoding = bytes.readUInt8(6);
  let offset = 7;
  const [joinRef, ref, topic, userEvent, metadata] = lengths.map((n) => {
    const s = bytes.subarray(offset, offset + n).toString('latin1');
    offset += n;
    return s;
  }) as [string, string, string, string, string];
  const body = bytes.subarray(offset);
  const payload: unknown = encoding === JSON_ENCODING ? JSON.parse(body.toString('utf8')) : body;
  return { joinRef: joinRef || null, ref: ref || null, topic, userEvent, metadata, payload };
}

/** Encodes a broadcast to clients (kind 4), JSON payload, no metadata. */
export function encodeBroadcast(topic: string, userEvent: string, payload: unknown): Buffer {
  const t = Buffer.from(topic, 'utf8');
  const e = Buffer.from(userEvent, 'utf8');
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload ?? {}), 'utf8');
  const header = Buffer.from([KIND_BROADCAST, t.length, e.length, 0, Buffer.isBuffer(payload) ? 0 : JSON_ENCODING]);
  return Buffer.concat([header, t, e, body]);
}

// ------------------------------------------------------------------------------------------------
// postgres_changes matching
// ------------------------------------------------------------------------------------------------

function bindingMatches(b: Binding, schema: string, table: string, type: string, row: Record<string, unknown>): boolean {
  if (b.schema !== schema && b.schema !== '*') return false;
  if (b.table !== undefined && b.table !== '*' && b.table !== table) return false;
  if (b.event !== '*' && b.event !== type) return false;
  if (!b.filter) return true;
  // Only `column=eq.value` filters: enough for the adapter's tests.
  const m = /^([^=]+)=eq\.(.*)$/.exec(b.filter);
  if (!m) throw new Error(`fake: unsupported filter ${b.filter}`);
  return String(row[m[1]!]) === m[2];
}

function columnType(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'int8' : 'float8';
  if (typeof value === 'boolean') return 'bool';
  if (value !== null && typeof value === 'object') return 'jsonb';
  return 'text';
}
