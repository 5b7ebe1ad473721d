// Node only. RedisTransport on a real Redis Cluster (3 masters, started by test/support): PUBLISH
// goes to whichever node ioredis picks and Redis Cluster forwards it to every node, while each
// transport's duplicated Cluster client keeps its subscriptions on one node of its own choosing.
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { type ChangeEvent, type RealtimeStatus, RealtimeSyncService } from 'closed-loop';
import { RedisTransport } from 'closed-loop/redis';
import { type RedisCluster, startRedisCluster } from '../support/redis-server.js';

let cluster: RedisCluster;
const clients: Cluster[] = [];
const closers: Array<() => Promise<void>> = [];
let counter = 0;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
}, 30_000);

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  for (const c of clients.splice(0)) c.disconnect();
});

afterAll(async () => {
  await cluster?.stop();
});

function connectCluster(): Cluster {
  const client = new Cluster(cluster.startupNodes);
  client.on('error', () => {});
  clients.push(client);
  return client;
}

function event(topic: string): ChangeEvent {
  const id = ++counter;
  return { topic, type: 'UPDATE', id, new: { id }, version: 1, timestamp: Date.now(), eventId: randomUUID() };
}

function transportOn(prefix: string, watch: string[]) {
  const transport = new RedisTransport(connectCluster(), { prefix });
  closers.push(() => transport.close());
  const events: ChangeEvent[] = [];
  const statuses: RealtimeStatus[] = [];
  transport.connect({ onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s) });
  for (const topic of watch) transport.watch(topic);
  return { transport, events, statuses, ids: () => events.map((e) => e.eventId) };
}

describe('RedisTransport on a Redis Cluster (3 masters)', () => {
  test('transports on Cluster clients exchange events on watched topics, and on every topic with *, in publish order', async () => {
    const prefix = `cl-cluster-${process.pid}-${++counter}:`;
    const a = transportOn(prefix, ['orders']);
    const b = transportOn(prefix, ['orders']);
    const c = transportOn(prefix, ['*']);
    for (const t of [a, b, c]) await vi.waitFor(() => expect(t.statuses).toEqual(['connected']), { timeout: 10_000 });

    // Many topics, so the channels' hash slots span every master; pub/sub ignores slots.
    const sent = Array.from({ length: 30 }, (_, i) => event(i % 3 === 0 ? 'orders' : `topic-${i}`));
    for (const e of sent) await a.transport.publish(e);
    const orders = sent.filter((e) => e.topic === 'orders').map((e) => e.eventId);
    await vi.waitFor(() => expect(c.ids()).toEqual(sent.map((e) => e.eventId)), { timeout: 5_000 });
    await vi.waitFor(() => expect(b.ids()).toEqual(orders), { timeout: 5_000 });
    await vi.waitFor(() => expect(a.ids()).toEqual(orders), { timeout: 5_000 }); // the echo
  }, 20_000);

  test('two services on Cluster clients: every subscriber gets each event exactly once', async () => {
    const prefix = `cl-cluster-${process.pid}-${++counter}:`;
    const services = [0, 1].map(() => new RealtimeSyncService({ transport: new RedisTransport(connectCluster(), { prefix }) }));
    for (const s of services) closers.push(() => s.destroy());
    const seen = services.map(() => [] as string[]);
    services.forEach((s, i) => s.subscribe('orders', (e) => seen[i]!.push(e.eventId)));
    const errors: unknown[] = [];
    for (const s of services) s.on('error', (e) => errors.push(e));
    for (const s of services) await vi.waitFor(() => expect(s.status).toBe('connected'), { timeout: 10_000 });

    const published = Array.from({ length: 20 }, (_, i) => services[i % 2]!.publish('orders', { id: i }).eventId);
    for (const ids of seen) await vi.waitFor(() => expect([...ids].sort()).toEqual([...published].sort()), { timeout: 5_000 });
    // Every PUBLISH goes through one node, in order: once each service has the other's sentinel
    // from Redis, every echo of its own earlier events has come back too (and was dropped).
    const sentinels = services.map((s) => s.publish('orders', { id: 'sentinel' }).eventId);
    await vi.waitFor(() => expect(seen[0]).toContain(sentinels[1]), { timeout: 5_000 });
    await vi.waitFor(() => expect(seen[1]).toContain(sentinels[0]), { timeout: 5_000 });
    const all = [...published, ...sentinels].sort();
    for (const ids of seen) expect([...ids].sort()).toEqual(all);
    expect(errors).toEqual([]);
  });
});
