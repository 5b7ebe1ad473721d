// Node only. Two RealtimeSyncService instances, each on its own RedisTransport and its own ioredis
// client, over one real redis-server: two "app instances" sharing a bus. Each subscriber is counted
// per eventId: exactly once on both instances, the publisher's own subscribers included (Redis echoes
// every event to its publisher; the service drops the echo). "Nothing more will arrive" is decided at
// the transport: each instance's transport is wrapped to record what Redis delivered, and the checks
// run once every event (echo included) has come through it.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import {
  type ChangeEvent,
  type RealtimeStatus,
  RealtimeSyncService,
  type RealtimeTransport,
  type RealtimeTransportListener,
} from 'closed-loop';
import { RedisTransport, type RedisTransportOptions } from 'closed-loop/redis';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { type Relaunched, relaunchOnPort } from './realtime-transport-relaunch.js';

let server: RedisServer;
const clients: Redis[] = [];
const services: RealtimeSyncService[] = [];
let counter = 0;

beforeAll(async () => {
  server = await startRedisServer();
}, 20_000);

afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.destroy()));
  for (const c of clients.splice(0)) c.disconnect();
});

afterAll(async () => {
  await server?.stop();
});

function connect(url = server.url): Redis {
  const client = new Redis(url);
  client.on('error', () => {}); // the restart test provokes connection errors on purpose
  clients.push(client);
  return client;
}

/** One app instance: its own client, a RedisTransport (wrapped to record arrivals), a service. */
interface AppInstance {
  client: Redis;
  service: RealtimeSyncService;
  /** Event ids in the order the transport handed them to the service (echoes included). */
  arrived: string[];
  statuses: RealtimeStatus[];
  errors: unknown[];
  resyncs: number;
}

function app(prefix: string, options: RedisTransportOptions & { url?: string } = {}): AppInstance {
  const { url, ...transportOptions } = options;
  const client = connect(url);
  const redis = new RedisTransport(client, { prefix, ...transportOptions });
  const arrived: string[] = [];
  // Delegates everything; only notes the ids that came in from Redis.
  const recording: RealtimeTransport = {
    connect: (listener: RealtimeTransportListener) =>
      redis.connect({
        onEvent: (event) => {
          arrived.push(event.eventId);
          listener.onEvent(event);
        },
        onStatus: (status) => listener.onStatus(status),
      }),
    publish: (event) => redis.publish(event),
    watch: (topic) => redis.watch(topic),
    unwatch: (topic) => redis.unwatch(topic),
    close: () => redis.close(),
  };
  const instance: AppInstance = { client, service: undefined as never, arrived, statuses: [], errors: [], resyncs: 0 };
  instance.service = new RealtimeSyncService({ transport: recording, onResync: () => instance.resyncs++ });
  instance.service.on('status', (status) => instance.statuses.push(status));
  instance.service.on('error', (error) => instance.errors.push(error));
  services.push(instance.service);
  return instance;
}

/** A subscriber that counts deliveries per eventId. */
function counting(): { ids: string[]; events: ChangeEvent[]; callback: (event: ChangeEvent) => void; counts(): Map<string, number> } {
  const events: ChangeEvent[] = [];
  return {
    events,
    get ids() {
      return events.map((e) => e.eventId);
    },
    callback: (event) => events.push(event),
    counts() {
      const counts = new Map<string, number>();
      for (const e of events) counts.set(e.eventId, (counts.get(e.eventId) ?? 0) + 1);
      return counts;
    },
  };
}

async function statusOf(i: AppInstance, status: RealtimeStatus): Promise<void> {
  await vi.waitFor(() => expect(i.service.status).toBe(status), { timeout: 10_000, interval: 10 });
}

function expectExactlyOnce(subscriber: ReturnType<typeof counting>, expected: ChangeEvent[]): void {
  const counts = subscriber.counts();
  expect([...counts.keys()].sort()).toEqual(expected.map((e) => e.eventId).sort());
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
}

describe('two RealtimeSyncService instances over RedisTransport on one redis-server', () => {
  test("each event reaches every subscriber on both instances exactly once, the publisher's own subscribers included", async () => {
    const prefix = `cl-svc-${process.pid}-${++counter}:`;
    const one = app(prefix);
    const two = app(prefix);

    const oneOrders = counting();
    const oneOrdersAgain = counting();
    const oneAll = counting();
    const onePaid = counting();
    const twoOrders = counting();
    const twoUsers = counting();
    const twoAll = counting();
    one.service.subscribe('orders', oneOrders.callback);
    one.service.subscribe('orders', oneOrdersAgain.callback);
    one.service.subscribe('*', oneAll.callback);
    one.service.subscribe('orders', onePaid.callback, { filter: (e) => (e.new as { paid?: boolean }).paid === true });
    two.service.subscribe('orders', twoOrders.callback);
    two.service.subscribe('users', twoUsers.callback);
    two.service.subscribe('*', twoAll.callback);
    await Promise.all([statusOf(one, 'connected'), statusOf(two, 'connected')]);

    const published: ChangeEvent[] = [];
    for (let i = 0; i < 40; i++) {
      const from = i % 2 === 0 ? one : two;
      const topic = i % 3 === 0 ? 'users' : 'orders';
      published.push(from.service.publish(topic, { id: i, paid: i % 4 === 0, version: 1 }));
    }
    // Every event comes through each instance's transport (the publisher's echo included) …
    const all = published.map((e) => e.eventId);
    await vi.waitFor(() => {
      expect(one.arrived).toEqual(expect.arrayContaining(all));
      expect(two.arrived).toEqual(expect.arrayContaining(all));
    });
    // … once: both transports watch '*', so Redis sends each event once, on the pattern only.
    expect(one.arrived).toHaveLength(all.length);
    expect(two.arrived).toHaveLength(all.length);

    const orders = published.filter((e) => e.topic === 'orders');
    const users = published.filter((e) => e.topic === 'users');
    expectExactlyOnce(oneOrders, orders);
    expectExactlyOnce(oneOrdersAgain, orders);
    expectExactlyOnce(oneAll, published);
    expectExactlyOnce(onePaid, orders.filter((e) => (e.new as { paid: boolean }).paid));
    expectExactlyOnce(twoOrders, orders);
    expectExactlyOnce(twoUsers, users);
    expectExactlyOnce(twoAll, published);
    // Each instance's own events reached its subscribers at publish time, the others' over Redis, in publish order per publisher.
    const fromTwo = published.filter((_, i) => i % 2 === 1).map((e) => e.eventId);
    expect(oneAll.ids.filter((id) => fromTwo.includes(id))).toEqual(fromTwo);
    expect(one.errors).toEqual([]);
    expect(two.errors).toEqual([]);
  });

  test('per-topic watching: an instance with no subscriber on a topic gets nothing of it from Redis', async () => {
    const prefix = `cl-svc-${process.pid}-${++counter}:`;
    const one = app(prefix);
    const two = app(prefix);
    const twoOrders = counting();
    const stop = two.service.subscribe('orders', twoOrders.callback);
    two.service.subscribe('sentinel', () => {});
    one.service.subscribe('sentinel', () => {});
    await Promise.all([statusOf(one, 'connected'), statusOf(two, 'connected')]);

    const users = one.service.publish('users', { id: 1 });
    const order = one.service.publish('orders', { id: 2 });
    await vi.waitFor(() => expect(twoOrders.ids).toEqual([order.eventId]));
    stop();
    const later = one.service.publish('orders', { id: 3 });
    const sentinel = one.service.publish('sentinel', { id: 4 });
    await vi.waitFor(() => expect(two.arrived).toContain(sentinel.eventId));
    // users was never watched on two, orders no longer: Redis did not send them.
    expect(two.arrived).not.toContain(users.eventId);
    expect(two.arrived).not.toContain(later.eventId);
    expect(twoOrders.ids).toEqual([order.eventId]);
  });

  test('the latest state and waitForChange work across instances; an older version does not replace a newer one', async () => {
    const prefix = `cl-svc-${process.pid}-${++counter}:`;
    const one = app(prefix);
    const two = app(prefix);
    two.service.subscribe('orders', () => {});
    one.service.subscribe('orders', () => {});
    await Promise.all([statusOf(one, 'connected'), statusOf(two, 'connected')]);

    const waiting = two.service.waitForChange('orders', (e) => e.id === 7, 10_000);
    one.service.publish('orders', { id: 7, status: 'paid', version: 2 });
    expect((await waiting).new).toEqual({ id: 7, status: 'paid', version: 2 });
    expect(two.service.getLatest('orders', 7)).toEqual({ id: 7, status: 'paid', version: 2 });

    const stale = two.service.publish('orders', { id: 7, status: 'draft', version: 1 });
    await vi.waitFor(() => expect(one.arrived).toContain(stale.eventId));
    expect(one.service.getLatest('orders', 7)).toEqual({ id: 7, status: 'paid', version: 2 });
  });

  test('a Redis restart: both report reconnecting then resynced (onResync runs), and events flow between them again', { timeout: 30_000 }, async () => {
    const own = await startRedisServer();
    let restarted: Relaunched | undefined;
    try {
      const prefix = `cl-svc-${process.pid}-${++counter}:`;
      const one = app(prefix, { url: own.url });
      const two = app(prefix, { url: own.url });
      const heardOnTwo = counting();
      two.service.subscribe('orders', heardOnTwo.callback);
      one.service.subscribe('*', () => {});
      await Promise.all([statusOf(one, 'connected'), statusOf(two, 'connected')]);

      await own.stop();
      await Promise.all([statusOf(one, 'reconnecting'), statusOf(two, 'reconnecting')]);
      restarted = await relaunchOnPort(own.port);
      await Promise.all([statusOf(one, 'resynced'), statusOf(two, 'resynced')]);
      for (const i of [one, two]) {
        expect(i.statuses).toEqual(['connected', 'reconnecting', 'resynced']);
        expect(i.resyncs).toBe(1);
      }
      const after = one.service.publish('orders', { id: 1, version: 1 });
      await vi.waitFor(() => expect(heardOnTwo.ids).toEqual([after.eventId]));
      expect(one.errors).toEqual([]);
      expect(two.errors).toEqual([]);
    } finally {
      await own.stop();
      await restarted?.stop();
    }
  });

  test("a publish while Redis is down reaches the local subscribers at once and is reported through the service's error event", async () => {
    const own = await startRedisServer();
    const prefix = `cl-svc-${process.pid}-${++counter}:`;
    const one = app(prefix, { url: own.url, commandTimeoutMs: 200 });
    const local = counting();
    one.service.subscribe('orders', local.callback);
    await statusOf(one, 'connected');
    await own.stop();
    const event = one.service.publish('orders', { id: 1 });
    expect(local.ids).toEqual([event.eventId]);
    await vi.waitFor(() => expect(one.errors).toHaveLength(1), { timeout: 2_000 });
    expect((one.errors[0] as Error).name).toBe('TimeoutError');
  });

  test("destroy() closes the transport's own connection; the app's client stays usable", async () => {
    const prefix = `cl-svc-${process.pid}-${++counter}:`;
    const one = app(prefix);
    one.service.subscribe('orders', () => {});
    await statusOf(one, 'connected');
    const admin = connect();
    const [, before] = (await admin.pubsub('NUMSUB', `${prefix}orders`)) as [string, number];
    expect(Number(before)).toBe(1);
    await one.service.destroy();
    const [, after] = (await admin.pubsub('NUMSUB', `${prefix}orders`)) as [string, number];
    expect(Number(after)).toBe(0);
    expect(one.service.status).toBe('closed');
    expect(await one.client.ping()).toBe('PONG');
  });
});
