// Node only. RedisTransport against a real redis-server (started per file on a free loopback port;
// fails loudly when the Debian package is missing), driven directly through a recording listener,
// the way RealtimeSyncService drives it: events between instances, topics and the '*' pattern,
// malformed messages, a Redis restart (status and resubscription), publish timeouts, close().
// Subscriptions are checked where they live: on the server (CLIENT LIST, PUBSUB NUMSUB).
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import {
  type ChangeEvent,
  type ClosedLoopError,
  isClosedLoopError,
  isTimeoutError,
  ManualClock,
  type RealtimeStatus,
  type RealtimeTransportListener,
} from 'closed-loop';
import { RedisTransport, type RedisTransportOptions } from 'closed-loop/redis';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { withUnhandledRejections } from '../support/unhandled-rejections.js';
import { type Relaunched, relaunchOnPort } from './realtime-transport-relaunch.js';

let server: RedisServer;
const clients: Redis[] = [];
const transports: RedisTransport[] = [];
let counter = 0;

beforeAll(async () => {
  server = await startRedisServer();
}, 20_000);

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  // disconnect, not quit: clients of the outage tests' stopped servers would queue a QUIT forever.
  for (const c of clients.splice(0)) c.disconnect();
});

afterAll(async () => {
  await server?.stop();
});

/** A client (closed after the test). */
function connect(url = server.url, options: RedisOptions = {}): Redis {
  const client = new Redis(url, options);
  client.on('error', () => {}); // outage tests provoke connection errors on purpose
  clients.push(client);
  return client;
}

function uniquePrefix(label = 'rt'): string {
  return `cl-${label}-${process.pid}-${++counter}:`;
}

function event(topic: string, extra: Partial<ChangeEvent> = {}): ChangeEvent {
  const id = ++counter;
  return { topic, type: 'UPDATE', id, new: { id, n: id }, version: 1, timestamp: Date.now(), eventId: randomUUID(), ...extra };
}

/** A listener that records what the transport tells it, as the service would receive it. */
interface Recorder extends RealtimeTransportListener {
  events: ChangeEvent[];
  statuses: RealtimeStatus[];
  ids(topic?: string): string[];
}

function recorder(): Recorder {
  const events: ChangeEvent[] = [];
  const statuses: RealtimeStatus[] = [];
  return {
    events,
    statuses,
    onEvent: (e) => events.push(e),
    onStatus: (s) => statuses.push(s),
    ids: (topic) => events.filter((e) => topic === undefined || e.topic === topic).map((e) => e.eventId),
  };
}

interface Instance {
  client: Redis;
  transport: RedisTransport;
  listener: Recorder;
  errors: ClosedLoopError[];
}

/** One "app instance": a client, a transport on it, connected to a recorder, optionally watching topics. */
function instance(options: RedisTransportOptions & { url?: string; client?: Redis; watch?: string[]; name?: string } = {}): Instance {
  const { url, client: given, watch = [], name, ...transportOptions } = options;
  const client = given ?? connect(url, name ? { connectionName: name } : {});
  const errors: ClosedLoopError[] = [];
  const transport = new RedisTransport(client, { onError: (e) => errors.push(e), ...transportOptions });
  transports.push(transport);
  const listener = recorder();
  transport.connect(listener);
  for (const topic of watch) transport.watch(topic);
  return { client, transport, listener, errors };
}

async function connected(i: Instance, status: RealtimeStatus = 'connected'): Promise<void> {
  await vi.waitFor(() => expect(i.listener.statuses).toContain(status), { timeout: 10_000, interval: 10 });
}

/** Waits until `i` has received every one of `ids`. */
async function received(i: Instance, ids: string[]): Promise<void> {
  await vi.waitFor(() => expect(i.listener.ids()).toEqual(expect.arrayContaining(ids)), { timeout: 4_000, interval: 10 });
}

/**
 * Publishes a sentinel on `topic` (watched by `to`) through `from` and waits for it: Redis delivers
 * in the order it ran the PUBLISH commands, so anything `from` published before has arrived by then.
 */
async function barrier(from: Instance, to: Instance, topic: string): Promise<void> {
  const sentinel = event(topic, { type: 'BROADCAST' });
  await from.transport.publish(sentinel);
  await received(to, [sentinel.eventId]);
}

/** The server's view of the subscriber connection(s) named `name`: `sub`/`psub` counts. */
async function subscriptionsOf(name: string, url = server.url): Promise<Array<{ sub: number; psub: number }>> {
  const admin = connect(url);
  const list = (await admin.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `) && / flags=\S*P/.test(line))
    .map((line) => ({ sub: Number(/ sub=(\d+)/.exec(line)![1]), psub: Number(/ psub=(\d+)/.exec(line)![1]) }));
}

async function connectionsNamed(name: string): Promise<number> {
  const list = (await connect().client('LIST')) as string;
  return list.split('\n').filter((line) => line.includes(` name=${name} `)).length;
}

async function numsub(channel: string, url = server.url): Promise<number> {
  const [, count] = (await connect(url).pubsub('NUMSUB', channel)) as [string, number];
  return Number(count);
}

describe('RedisTransport on a real redis-server', () => {
  describe('events between instances', () => {
    test('two transports exchange events on watched topics only, in publish order; the publisher hears its own echo', async () => {
      const prefix = uniquePrefix('exchange');
      const a = instance({ prefix, watch: ['orders'] });
      const b = instance({ prefix, watch: ['orders', 'users'] });
      await Promise.all([connected(a), connected(b)]);

      const fromA = Array.from({ length: 50 }, (_, i) => event(i % 2 ? 'orders' : 'users'));
      for (const e of fromA) void a.transport.publish(e);
      const fromB = [event('orders'), event('users'), event('invoices')];
      await Promise.all(fromB.map((e) => b.transport.publish(e)));
      await barrier(a, b, 'orders');
      await barrier(b, a, 'orders');

      // b watches orders and users: everything of those, from both, in each publisher's order.
      const bFromA = b.listener.events.filter((e) => fromA.some((x) => x.eventId === e.eventId));
      expect(bFromA.map((e) => e.eventId)).toEqual(fromA.map((e) => e.eventId));
      expect(bFromA).toEqual(fromA); // the event arrives as it was published (JSON round trip)
      // a watches orders only: no users, no invoices, and its own events come back (the service drops echoes).
      expect(a.listener.ids()).toEqual(
        expect.arrayContaining([...fromA, ...fromB].filter((e) => e.topic === 'orders').map((e) => e.eventId)),
      );
      expect(a.listener.events.filter((e) => e.topic !== 'orders')).toEqual([]);
      expect(b.listener.events.filter((e) => e.topic === 'invoices')).toEqual([]);
      // each delivered once by the transport (one subscription per topic)
      for (const i of [a, b]) expect(new Set(i.listener.ids()).size).toBe(i.listener.events.length);
      expect(a.errors).toEqual([]);
      expect(b.errors).toEqual([]);
    });

    test('transports with different prefixes do not hear each other', async () => {
      const a = instance({ prefix: uniquePrefix('app1'), watch: ['orders'] });
      const b = instance({ prefix: uniquePrefix('app2'), watch: ['orders'] });
      await Promise.all([connected(a), connected(b)]);
      const e = event('orders');
      await a.transport.publish(e);
      await barrier(b, b, 'orders');
      expect(b.listener.ids()).not.toContain(e.eventId);
      await received(a, [e.eventId]);
    });

    test('unwatch stops delivery and unsubscribes on the server; watching again resumes', async () => {
      const prefix = uniquePrefix('unwatch');
      const name = `unwatch-${counter}`;
      const a = instance({ prefix });
      const b = instance({ prefix, watch: ['orders', 'users'], name });
      await Promise.all([connected(a), connected(b)]);
      expect(await numsub(`${prefix}orders`)).toBe(1);

      b.transport.unwatch('orders');
      b.transport.unwatch('never-watched'); // ignored
      await vi.waitFor(async () => expect(await subscriptionsOf(name)).toEqual([{ sub: 1, psub: 0 }]));
      expect(await numsub(`${prefix}orders`)).toBe(0);
      const missed = event('orders');
      await a.transport.publish(missed);
      await barrier(a, b, 'users');
      expect(b.listener.ids()).not.toContain(missed.eventId);

      b.transport.watch('orders');
      await vi.waitFor(async () => expect(await numsub(`${prefix}orders`)).toBe(1));
      const heard = event('orders');
      await a.transport.publish(heard);
      await received(b, [heard.eventId]);
    });

    test("the channel is `${prefix}${topic}` (default prefix closed-loop:realtime:) carrying the event as JSON; the client's keyPrefix does not apply", async () => {
      const client = connect(server.url, { keyPrefix: 'kp:' });
      const transport = new RedisTransport(client);
      transports.push(transport);
      expect(transport.prefix).toBe('closed-loop:realtime:');
      expect(transport.channelOf('orders')).toBe('closed-loop:realtime:orders');

      const raw = connect();
      const seen: Array<[string, string]> = [];
      raw.on('message', (channel: string, message: string) => seen.push([channel, message]));
      await raw.subscribe('closed-loop:realtime:orders');
      const e = event('orders');
      await transport.publish(e);
      await vi.waitFor(() => expect(seen).toHaveLength(1));
      expect(seen[0]![0]).toBe('closed-loop:realtime:orders');
      expect(JSON.parse(seen[0]![1])).toEqual(e);
    });

    test('a client created with lazyConnect: the subscriber connection opens anyway', async () => {
      const prefix = uniquePrefix('lazy');
      const client = connect(server.url, { lazyConnect: true });
      const b = instance({ prefix, client, watch: ['orders'] });
      await connected(b);
      const a = instance({ prefix });
      const e = event('orders');
      await a.transport.publish(e);
      await received(b, [e.eventId]);
    });
  });

  describe("the '*' topic", () => {
    test("watching '*' receives every topic under the prefix, on one pattern and no channel, each event once even when its topic is watched too", async () => {
      const prefix = uniquePrefix('wild');
      const name = `wild-${counter}`;
      const a = instance({ prefix });
      const b = instance({ prefix, watch: ['orders', '*', 'users'], name });
      await Promise.all([connected(a), connected(b)]);
      expect(await subscriptionsOf(name)).toEqual([{ sub: 0, psub: 1 }]);

      const sent = ['orders', 'users', 'invoices', 'a:b:c', 'with*glob?'].map((t) => event(t));
      await Promise.all(sent.map((e) => a.transport.publish(e)));
      // Not under the prefix: not ours.
      await connect().publish(`other-${prefix}orders`, JSON.stringify(event('orders')));
      await barrier(a, b, 'orders');
      const ids = b.listener.ids();
      for (const e of sent) expect(ids.filter((id) => id === e.eventId)).toHaveLength(1);
      expect(b.listener.events).toHaveLength(sent.length + 1); // + the barrier's sentinel
      expect(b.errors).toEqual([]);

      // Without '*' again: back to one channel per watched topic.
      b.transport.unwatch('*');
      await vi.waitFor(async () => expect(await subscriptionsOf(name)).toEqual([{ sub: 2, psub: 0 }]));
      const invoice = event('invoices');
      await a.transport.publish(invoice);
      await barrier(a, b, 'users');
      expect(b.listener.ids()).not.toContain(invoice.eventId);
    });

    test("a prefix holding glob characters is matched literally by the '*' pattern", async () => {
      const prefix = `${uniquePrefix('gl')}[x]?*:`;
      const a = instance({ prefix });
      const b = instance({ prefix, watch: ['*'] });
      await Promise.all([connected(a), connected(b)]);
      const lookalike = prefix.replace('[x]?*', 'x?z');
      await connect().publish(`${lookalike}orders`, JSON.stringify(event('orders')));
      const e = event('orders');
      await a.transport.publish(e);
      await received(b, [e.eventId]);
      expect(b.listener.events).toHaveLength(1);
      expect(b.errors).toEqual([]);
    });

    test("switching a watched topic between its channel and the '*' pattern loses none of its events: the new subscription always comes first", async () => {
      const prefix = uniquePrefix('switch');
      const a = instance({ prefix });
      const b = instance({ prefix, watch: ['orders'] });
      await Promise.all([connected(a), connected(b)]);
      // What Redis ran, in order (MONITOR lists the subscriber connection's commands too).
      const monitor = await connect().monitor();
      clients.push(monitor);
      const ran: string[] = [];
      monitor.on('monitor', (_time: string, args: string[]) => {
        if (/subscribe$/i.test(args[0] ?? '') && args.slice(1).some((arg) => arg.startsWith(prefix))) ran.push(args[0]!.toLowerCase());
      });

      const published: string[] = [];
      let publishing = true;
      const pump = (async () => {
        while (publishing) {
          const e = event('orders');
          published.push(e.eventId);
          await a.transport.publish(e);
        }
      })();
      for (let i = 0; i < 20; i++) {
        b.transport.watch('*');
        await new Promise((resolve) => setTimeout(resolve, 2));
        b.transport.unwatch('*');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      publishing = false;
      await pump;
      await barrier(a, b, 'orders');
      expect(published.length).toBeGreaterThan(20);
      expect(b.listener.ids('orders')).toEqual(expect.arrayContaining(published));
      // On one Redis the old and new subscription commands arrive together and no PUBLISH fits
      // between them, so the order is checked where it is decided: the commands Redis ran.
      await vi.waitFor(() => expect(ran).toHaveLength(80));
      expect(ran).toEqual(Array.from({ length: 20 }, () => ['psubscribe', 'unsubscribe', 'subscribe', 'punsubscribe']).flat());
    });
  });

  describe('malformed messages', () => {
    test("are skipped and reported as REALTIME_MALFORMED_MESSAGE; the events around them arrive", async () => {
      const prefix = uniquePrefix('garbage');
      const a = instance({ prefix });
      const b = instance({ prefix, watch: ['orders'] });
      await Promise.all([connected(a), connected(b)]);
      const raw = connect();
      const channel = `${prefix}orders`;
      const good = event('orders');
      const garbage = [
        'not json',
        '[1,2,3]',
        'null',
        JSON.stringify({ ...good, eventId: undefined }),
        JSON.stringify({ ...good, eventId: 'x', topic: 'users' }), // claims another topic
        JSON.stringify({ ...good, eventId: 'y', type: 'UPSERT' }),
        JSON.stringify({ ...good, eventId: 'z', timestamp: 'yesterday' }),
      ];
      for (const message of garbage) await raw.publish(channel, message);
      // null id and version read as absent, as the service reads them: a valid event
      const nulls = { ...event('orders'), id: null, version: null } as unknown as ChangeEvent;
      await raw.publish(channel, JSON.stringify(nulls));
      await a.transport.publish(good);
      await received(b, [good.eventId]);
      expect(b.listener.events).toEqual([nulls, good]);
      expect(b.errors).toHaveLength(garbage.length);
      for (const error of b.errors) {
        expect(isClosedLoopError(error)).toBe(true);
        expect(error.code).toBe('REALTIME_MALFORMED_MESSAGE');
        expect(error.message).toContain(channel);
      }
      expect(b.errors[0]!.message).toMatch(/not JSON/);
      expect(b.errors[4]!.message).toMatch(/"users"/);
    });

    test('without onError they are dropped silently and nothing crashes', async () => {
      const prefix = uniquePrefix('garbage-silent');
      const a = instance({ prefix });
      const client = connect();
      const transport = new RedisTransport(client, { prefix });
      transports.push(transport);
      const listener = recorder();
      transport.connect(listener);
      transport.watch('orders');
      await vi.waitFor(() => expect(listener.statuses).toEqual(['connected']));
      await connect().publish(`${prefix}orders`, '{"half":');
      const e = event('orders');
      await a.transport.publish(e);
      await vi.waitFor(() => expect(listener.ids()).toEqual([e.eventId]));
    });

    test('a listener that throws is reported as REALTIME_LISTENER_FAILED; later events still arrive', async () => {
      const prefix = uniquePrefix('throwing');
      const a = instance({ prefix });
      const errors: ClosedLoopError[] = [];
      const transport = new RedisTransport(connect(), { prefix, onError: (error) => errors.push(error) });
      transports.push(transport);
      const seen: string[] = [];
      const statuses: RealtimeStatus[] = [];
      transport.connect({
        onEvent: (e) => {
          seen.push(e.eventId);
          if (seen.length === 1) throw new Error('subscriber bug');
        },
        onStatus: (s) => statuses.push(s),
      });
      transport.watch('orders');
      await vi.waitFor(() => expect(statuses).toEqual(['connected']));
      const [first, second] = [event('orders'), event('orders')];
      await a.transport.publish(first);
      await a.transport.publish(second);
      await vi.waitFor(() => expect(seen).toEqual([first.eventId, second.eventId]));
      expect(errors.map((e) => e.code)).toEqual(['REALTIME_LISTENER_FAILED']);
      expect((errors[0]!.cause as Error).message).toBe('subscriber bug');
    });
  });

  // Longer than the waits inside, so a failure is reported as the wait that failed, with its cleanup done.
  describe('status across a Redis restart', { timeout: 30_000 }, () => {
    test('connected → reconnecting → resynced; afterwards the subscriptions are exactly the watched topics and events flow again', async () => {
      const own = await startRedisServer();
      let restarted: Relaunched | undefined;
      try {
        const prefix = uniquePrefix('restart');
        const name = `restart-${counter}`;
        const a = instance({ prefix, url: own.url });
        // b reconnects on a fixed 300 ms schedule (its duplicate inherits the client's retryStrategy).
        const bClient = connect(own.url, { connectionName: name, retryStrategy: () => 300 });
        const b = instance({ prefix, client: bClient, watch: ['orders', 'users'] });
        await Promise.all([connected(a), connected(b)]);
        expect(b.listener.statuses).toEqual(['connected']);

        await own.stop();
        await vi.waitFor(() => expect(b.listener.statuses).toEqual(['connected', 'reconnecting']), { timeout: 5_000 });
        // While Redis is away the service's subscribers change.
        b.transport.unwatch('users');
        b.transport.watch('invoices');

        // When the transport says resynced, its subscriptions are already confirmed by Redis: an event
        // published right then, on a connection that is up, arrives.
        const onResync = event('invoices');
        // b may reach resynced before or after the probe has connected (b retries every 300 ms from
        // the moment Redis went away): the publish waits for whichever comes last.
        let probeReady!: (probe: Redis) => void;
        const probeConnected = new Promise<Redis>((resolve) => {
          probeReady = resolve;
        });
        // (The transport looks up listener.onStatus when it reports, so wrapping the recorder's works.)
        const publishedOnResync = new Promise<void>((resolve, reject) => {
          const original = b.listener.onStatus;
          b.listener.onStatus = (status) => {
            original(status);
            if (status === 'resynced') {
              probeConnected.then((probe) => probe.publish(`${prefix}invoices`, JSON.stringify(onResync))).then(() => resolve(), reject);
            }
          };
        });
        restarted = await relaunchOnPort(own.port);
        const probe = connect(own.url);
        expect(await probe.ping()).toBe('PONG');
        probeReady(probe);
        await vi.waitFor(() => expect(b.listener.statuses).toEqual(['connected', 'reconnecting', 'resynced']), { timeout: 10_000 });
        await publishedOnResync;
        await received(b, [onResync.eventId]);

        // ioredis' own resubscription is off on the duplicate: the transport restored exactly what
        // is watched now (orders, invoices), not users, which was unwatched during the outage.
        expect(await subscriptionsOf(name, own.url)).toEqual([{ sub: 2, psub: 0 }]);
        expect(await numsub(`${prefix}users`, own.url)).toBe(0);
        const users = event('users');
        const orders = event('orders');
        await a.transport.publish(users);
        await a.transport.publish(orders);
        await received(b, [orders.eventId]);
        expect(b.listener.ids()).not.toContain(users.eventId);
        expect(b.listener.statuses).toEqual(['connected', 'reconnecting', 'resynced']);
      } finally {
        await own.stop();
        await restarted?.stop();
      }
    });

    test('a second outage reports reconnecting and resynced again', async () => {
      const own = await startRedisServer();
      const relaunched: Relaunched[] = [];
      try {
        const prefix = uniquePrefix('twice');
        const b = instance({ prefix, url: own.url, watch: ['*'] });
        await connected(b);
        await own.stop();
        await vi.waitFor(() => expect(b.listener.statuses.at(-1)).toBe('reconnecting'), { timeout: 5_000 });
        relaunched.push(await relaunchOnPort(own.port));
        await vi.waitFor(() => expect(b.listener.statuses.at(-1)).toBe('resynced'), { timeout: 10_000 });
        await relaunched[0]!.stop();
        await vi.waitFor(() => expect(b.listener.statuses.at(-1)).toBe('reconnecting'), { timeout: 5_000 });
        relaunched.push(await relaunchOnPort(own.port));
        await vi.waitFor(() => expect(b.listener.statuses.at(-1)).toBe('resynced'), { timeout: 10_000 });
        expect(b.listener.statuses).toEqual(['connected', 'reconnecting', 'resynced', 'reconnecting', 'resynced']);
        const a = instance({ prefix, url: own.url });
        const e = event('anything');
        await a.transport.publish(e);
        await received(b, [e.eventId]);
        expect(b.errors.filter((e) => e.code !== 'REALTIME_CONNECTION_ERROR')).toEqual([]);
      } finally {
        await own.stop();
        for (const r of relaunched) await r.stop();
      }
    });

    test('a Redis that is not there yet: the status stays connecting until the first connection', async () => {
      const own = await startRedisServer();
      let relaunched: Relaunched | undefined;
      try {
        await own.stop();
        const b = instance({ prefix: uniquePrefix('late'), url: own.url, watch: ['orders'] });
        // Each failed attempt is reported (and never thrown as an unhandled 'error' event).
        await vi.waitFor(() => expect(b.errors.length).toBeGreaterThan(1), { timeout: 5_000 });
        expect(new Set(b.errors.map((e) => e.code))).toEqual(new Set(['REALTIME_CONNECTION_ERROR']));
        expect(b.errors[0]!.message).toMatch(/ECONNREFUSED/);
        expect(b.listener.statuses).toEqual([]);
        relaunched = await relaunchOnPort(own.port);
        await vi.waitFor(() => expect(b.listener.statuses).toEqual(['connected']), { timeout: 10_000 });
      } finally {
        await relaunched?.stop();
      }
    });
  });

  describe('publish failures', () => {
    test('while Redis is down, publish rejects with TimeoutError within commandTimeoutMs (it does not wait in the offline queue)', async () => {
      const own = await startRedisServer();
      const a = instance({ prefix: uniquePrefix('down'), url: own.url, commandTimeoutMs: 300 });
      await connected(a);
      await a.transport.publish(event('orders'));
      await own.stop();
      const unhandled = await withUnhandledRejections(async () => {
        const started = Date.now();
        const error = await a.transport.publish(event('orders')).then(
          () => undefined,
          (e: unknown) => e,
        );
        const elapsed = Date.now() - started;
        expect(isTimeoutError(error)).toBe(true);
        expect((error as Error).message).toMatch(/did not answer PUBLISH to ".*orders" within 300 ms/);
        expect(elapsed).toBeGreaterThanOrEqual(290);
        expect(elapsed).toBeLessThan(1_500);
        // The command still waits in ioredis' offline queue; closing the client rejects it, unobserved.
        a.client.disconnect();
      });
      expect(unhandled).toEqual([]);
    });

    test("the timeout runs on the transport's clock; a publish that timed out can still reach Redis later", async () => {
      const own = await startRedisServer();
      try {
        const prefix = uniquePrefix('manual');
        const clock = new ManualClock(Date.now());
        const a = instance({ prefix, url: own.url, commandTimeoutMs: 1_000, clock });
        const b = instance({ prefix, url: own.url, watch: ['orders'] });
        await Promise.all([connected(a), connected(b)]);
        await a.transport.publish(event('orders'));
        expect(clock.pendingTimers).toBe(0); // an answered publish clears its timer

        own.process.kill('SIGSTOP');
        const late = event('orders');
        let outcome: unknown = 'pending';
        const publishing = a.transport.publish(late).then(
          () => (outcome = 'resolved'),
          (error: unknown) => (outcome = error),
        );
        await clock.advance(999);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(outcome).toBe('pending');
        await clock.advance(1);
        await publishing;
        expect(isTimeoutError(outcome)).toBe(true);
        expect((outcome as { timeoutMs: number }).timeoutMs).toBe(1_000);
        expect(clock.pendingTimers).toBe(0);

        own.process.kill('SIGCONT');
        // Redis runs the PUBLISH it had already received: the event arrives, with its own eventId.
        await received(b, [late.eventId]);
      } finally {
        await own.stop();
      }
    });

    test('a client without an offline queue fails at once with REALTIME_PUBLISH_FAILED and the cause', async () => {
      const own = await startRedisServer();
      await own.stop();
      const client = connect(own.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
      const transport = new RedisTransport(client, { prefix: uniquePrefix('noqueue'), commandTimeoutMs: 5_000 });
      const started = Date.now();
      const error = (await transport.publish(event('orders')).catch((e: unknown) => e)) as ClosedLoopError;
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(isClosedLoopError(error) && error.code).toBe('REALTIME_PUBLISH_FAILED');
      expect(error.cause).toBeInstanceOf(Error);
      expect(error.message).toContain(String((error.cause as Error).message));
    });

    test('bad events are refused with a TypeError before anything is sent', async () => {
      const transport = new RedisTransport(connect(), { prefix: uniquePrefix('bad') });
      await expect(transport.publish(null as never)).rejects.toThrow(TypeError);
      await expect(transport.publish({ ...event('x'), topic: '' })).rejects.toThrow(TypeError);
      await expect(transport.publish({ ...event('x'), topic: 42 as never })).rejects.toThrow(TypeError);
      await expect(transport.publish({ ...event('x'), topic: '*' })).rejects.toThrow(/only for watching/);
      await expect(transport.publish(event('x', { new: { n: 1n } }))).rejects.toThrow(/not JSON-serialisable/);
    });
  });

  describe('close()', () => {
    test("unsubscribes and ends its own connection only: the user's client keeps working; nothing more is delivered", async () => {
      const prefix = uniquePrefix('close');
      const name = `close-${counter}`;
      const a = instance({ prefix, watch: ['orders'] });
      const b = instance({ prefix, watch: ['orders', '*'], name });
      await Promise.all([connected(a), connected(b)]);
      expect(await subscriptionsOf(name)).toHaveLength(1);

      const closing = b.transport.close();
      expect(b.transport.close()).toBe(closing); // idempotent
      await closing;
      expect(await subscriptionsOf(name)).toEqual([]);
      expect(await connectionsNamed(name)).toBe(1); // the user's client; the duplicate is gone
      // The user's client is untouched: still connected, still usable, publish included.
      expect(b.client.status).toBe('ready');
      expect(await b.client.ping()).toBe('PONG');
      expect(await b.client.publish(`${prefix}nobody`, 'x')).toBe(0);

      await a.transport.publish(event('orders'));
      await barrier(a, a, 'orders');
      expect(b.listener.events).toEqual([]);
      expect(b.listener.statuses).toEqual(['connected']);
      await expect(b.transport.publish(event('orders'))).rejects.toMatchObject({ code: 'REALTIME_PUBLISH_FAILED' });
      expect(() => b.transport.connect(recorder())).toThrow(/closed/);
    });

    test('while Redis is down, close() does not hang', async () => {
      const own = await startRedisServer();
      const b = instance({ prefix: uniquePrefix('close-down'), url: own.url, watch: ['orders'], commandTimeoutMs: 300 });
      await connected(b);
      own.process.kill('SIGSTOP');
      try {
        const started = Date.now();
        await b.transport.close();
        expect(Date.now() - started).toBeLessThan(1_000);
      } finally {
        await own.stop();
      }
    });

    test('before connect, close() resolves at once and opens nothing', async () => {
      const transport = new RedisTransport(connect(), { prefix: uniquePrefix('never') });
      await transport.close();
      expect(() => transport.connect(recorder())).toThrow(/closed/);
    });
  });

  describe('construction and bad input', () => {
    test('refuses a non-client, a bad prefix, a bad commandTimeoutMs and a bad onError', () => {
      expect(() => new RedisTransport({} as never)).toThrow(TypeError);
      expect(() => new RedisTransport(null as never)).toThrow(TypeError);
      expect(() => new RedisTransport(connect(), { prefix: 1 as never })).toThrow(TypeError);
      expect(() => new RedisTransport(connect(), { commandTimeoutMs: 0 })).toThrow(TypeError);
      expect(() => new RedisTransport(connect(), { commandTimeoutMs: Number.POSITIVE_INFINITY })).toThrow(TypeError);
      expect(() => new RedisTransport(connect(), { onError: 'log' as never })).toThrow(TypeError);
    });

    test('watch refuses a topic that is not a non-empty string; connect is once only and needs a listener', () => {
      const transport = new RedisTransport(connect(), { prefix: uniquePrefix('input') });
      transports.push(transport);
      expect(() => transport.connect({} as never)).toThrow(TypeError);
      transport.connect(recorder());
      expect(() => transport.connect(recorder())).toThrow(/already/);
      expect(() => transport.watch('')).toThrow(TypeError);
      expect(() => transport.watch(undefined as never)).toThrow(TypeError);
    });

    test('closed-loop/redis imports ioredis for its types only (ioredis is an optional peer)', () => {
      const folder = new URL('../../adapters/redis/', import.meta.url);
      const files = readdirSync(folder).filter((name) => name.endsWith('.ts'));
      expect(files).toContain('realtime-transport.ts');
      const ioredisLines = files.flatMap((name) => {
        const code = readFileSync(new URL(name, folder), 'utf8')
          .split('\n')
          .filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l));
        return code.filter((l) => /from ['"]ioredis['"]|require\(['"]ioredis['"]\)|import\(['"]ioredis['"]\)/.test(l));
      });
      expect(ioredisLines.length).toBeGreaterThan(0);
      for (const line of ioredisLines) expect(line).toMatch(/^import type /);
    });
  });
});
