// Node only. createSupabaseTransport with the real supabase-js client (2.109.0) against the Phoenix
// fake (test/supabase/phoenix-fake.ts): fan-out between clients over broadcast channels, the wire
// frames realtime-js sends, outages (events sent meanwhile are lost, `resynced` follows), refused
// joins, publish deadlines on the clock, idle channels, '*', and tokens that expire.
import { createRequire } from 'node:module';
import { REALTIME_SUBSCRIBE_STATES } from '@supabase/supabase-js';
import { type ChangeEvent, ManualClock, RealtimeSyncService, TimeoutError } from 'closed-loop';
import { createSupabaseTransport, type SupabaseTransportOptions } from 'closed-loop/supabase';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { type PhoenixFake, startPhoenixFake } from './phoenix-fake.js';
import { type ClientOptions, closeClients, connectClient, recordErrors, recordStatuses } from './support.js';

let fake: PhoenixFake;
const services: RealtimeSyncService[] = [];

beforeEach(async () => {
  fake = await startPhoenixFake();
});

afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.destroy().catch(() => undefined)));
  await closeClients();
  await fake.close();
});

const WAIT = { timeout: 5000, interval: 5 };

/** A service on its own Supabase client (apikey `key`) with a Supabase transport. */
function node(key: string, options: SupabaseTransportOptions = {}, client: ClientOptions = {}) {
  const supabase = connectClient(fake, { key, ...client });
  const transport = createSupabaseTransport(supabase, options);
  const service = new RealtimeSyncService({ transport });
  services.push(service);
  return { supabase, transport, service, statuses: recordStatuses(service), errors: recordErrors(service) };
}

/** Collects the events a subscriber receives. */
function collect(service: RealtimeSyncService, topic: string): ChangeEvent[] {
  const got: ChangeEvent[] = [];
  service.subscribe(topic, (event) => got.push(event));
  return got;
}

const TOPIC = 'realtime:closed-loop:orders';

test('the fake was checked against the installed realtime-js (re-check its wire format on an upgrade)', () => {
  const version = (createRequire(import.meta.url)('@supabase/realtime-js/package.json') as { version: string }).version;
  expect(version).toBe('2.109.0');
});

describe('fan-out between clients', () => {
  test('an event published by one client reaches the other once, and its own subscribers once', async () => {
    const a = node('key-a');
    const b = node('key-b');
    const atA = collect(a.service, 'orders');
    const atB = collect(b.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(2), WAIT);

    const event = a.service.publish('orders', { id: 7, status: 'paid', version: 2 });
    await vi.waitFor(() => expect(atB).toHaveLength(1), WAIT);
    expect(atB[0]).toEqual(event);
    expect(b.service.getLatest('orders', 7)).toEqual({ id: 7, status: 'paid', version: 2 });
    // The server does not echo to the sender (broadcast.self false); locally it was delivered once.
    await new Promise((r) => setTimeout(r, 50));
    expect(atA).toEqual([event]);
    expect(atB).toHaveLength(1);
    expect(a.errors).toEqual([]);
    expect(a.statuses).toEqual([]); // connected from the start: nothing to miss before a subscription
    expect(a.service.status).toBe('connected');
  });

  test('what realtime-js puts on the wire: a join with the broadcast config, then a binary broadcast frame', async () => {
    const a = node('key-a');
    collect(a.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(1), WAIT);
    const join = fake.received('phx_join', TOPIC)[0]!;
    expect(join.encoding).toBe('text');
    expect(join.payload).toMatchObject({
      config: { broadcast: { ack: true, self: false }, postgres_changes: [], private: false },
    });

    const event = a.service.publish('orders', { id: 1 });
    await vi.waitFor(() => expect(fake.received('broadcast', TOPIC)).toHaveLength(1), WAIT);
    const frame = fake.received('broadcast', TOPIC)[0]!;
    expect(frame.encoding).toBe('binary');
    expect(frame.joinRef).toBe(join.joinRef);
    // The change event is the broadcast's JSON payload, as it is.
    expect(frame).toMatchObject({ topic: TOPIC, payload: JSON.parse(JSON.stringify(event)) });
  });

  test('events from one publisher arrive in publish order', async () => {
    const a = node('key-a');
    const b = node('key-b');
    const atB = collect(b.service, 'orders');
    collect(a.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(2), WAIT);
    const sent = Array.from({ length: 50 }, (_, i) => a.service.publish('orders', { id: i, n: i }));
    await vi.waitFor(() => expect(atB).toHaveLength(50), WAIT);
    expect(atB.map((e) => e.eventId)).toEqual(sent.map((e) => e.eventId));
  });

  test('publishing to a topic nobody here subscribes to joins its channel to send', async () => {
    const a = node('key-a');
    const b = node('key-b');
    const atB = collect(b.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(1), WAIT);
    const event = a.service.publish('orders', { id: 3 });
    await vi.waitFor(() => expect(atB).toEqual([event]), WAIT);
    expect(fake.joinedCount(TOPIC)).toBe(2);
  });

  test('a broadcast that is not a change event of the topic is ignored', async () => {
    const a = node('key-a');
    const b = node('key-b');
    const atB = collect(b.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(1), WAIT);
    // Another app's client on the same channel, speaking realtime-js directly.
    const raw = a.supabase.channel('closed-loop:orders', { config: { broadcast: { ack: true } } });
    await new Promise<void>((resolve) => raw.subscribe((s) => s === REALTIME_SUBSCRIBE_STATES.SUBSCRIBED && resolve()));
    expect(await raw.send({ type: 'broadcast', event: 'closed-loop', payload: { hello: 'world' } })).toBe('ok');
    expect(await raw.send({ type: 'broadcast', event: 'closed-loop', payload: { ...fakeEvent('other-topic') } })).toBe('ok');
    const good = fakeEvent('orders');
    expect(await raw.send({ type: 'broadcast', event: 'closed-loop', payload: good })).toBe('ok');
    await vi.waitFor(() => expect(atB).toHaveLength(1), WAIT);
    expect(atB[0]).toEqual(good);
    expect(b.errors).toEqual([]);
  });
});

function fakeEvent(topic: string): ChangeEvent {
  return { topic, type: 'UPDATE', id: 1, new: { id: 1 }, timestamp: 1_700_000_000_000, eventId: `ext-${topic}-${Math.random()}` };
}

describe('outages', () => {
  test('events broadcast while a client is down are lost to it; it reports reconnecting, then resynced', async () => {
    const onResync = vi.fn();
    const a = node('key-a');
    const supabaseB = connectClient(fake, { key: 'key-b' });
    const serviceB = new RealtimeSyncService({ transport: createSupabaseTransport(supabaseB), onResync });
    services.push(serviceB);
    const statusesB = recordStatuses(serviceB);
    const atB = collect(serviceB, 'orders');
    collect(a.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(2), WAIT);

    fake.block('key-b');
    await vi.waitFor(() => expect(serviceB.status).toBe('reconnecting'), WAIT);
    const lost = a.service.publish('orders', { id: 1, n: 'lost' });
    await vi.waitFor(() => expect(fake.received('broadcast', TOPIC)).toHaveLength(1), WAIT);

    fake.unblock('key-b');
    await vi.waitFor(() => expect(serviceB.status).toBe('resynced'), WAIT);
    expect(statusesB).toEqual(['reconnecting', 'resynced']);
    expect(onResync).toHaveBeenCalledTimes(1);
    const after = a.service.publish('orders', { id: 2, n: 'after' });
    await vi.waitFor(() => expect(atB).toHaveLength(1), WAIT);
    expect(atB).toEqual([after]);
    expect(atB.some((e) => e.eventId === lost.eventId)).toBe(false);
    expect(a.service.status).toBe('connected');
  });

  test('every drop of the whole server is one reconnecting and one resynced', async () => {
    const a = node('key-a');
    collect(a.service, 'orders');
    collect(a.service, 'invoices');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC) + fake.joinedCount('realtime:closed-loop:invoices')).toBe(2), WAIT);
    for (let i = 1; i <= 3; i++) {
      fake.dropConnections();
      await vi.waitFor(() => expect(a.statuses).toHaveLength(2 * i), WAIT);
      expect(a.statuses.at(-1)).toBe('resynced');
    }
    expect(a.statuses).toEqual(['reconnecting', 'resynced', 'reconnecting', 'resynced', 'reconnecting', 'resynced']);
  });

  test('a publish while the channel is down waits for the rejoin and is then sent', async () => {
    const a = node('key-a');
    const b = node('key-b');
    const atB = collect(b.service, 'orders');
    collect(a.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(2), WAIT);
    fake.block('key-a');
    await vi.waitFor(() => expect(a.service.status).toBe('reconnecting'), WAIT);
    const event = a.service.publish('orders', { id: 9 });
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.received('broadcast', TOPIC)).toHaveLength(0);
    fake.unblock('key-a');
    await vi.waitFor(() => expect(atB).toEqual([event]), WAIT);
    expect(a.errors).toEqual([]);
  });

  test('a refused first join reports reconnecting and the error; realtime-js rejoins and it recovers', async () => {
    const errors: Error[] = [];
    fake.failJoins(TOPIC, { reply: 'error', reason: 'Unauthorized: You do not have permissions to read from this Channel topic' });
    const a = node('key-a', { onError: (e) => errors.push(e) });
    collect(a.service, 'orders');
    await vi.waitFor(() => expect(a.service.status).toBe('reconnecting'), WAIT);
    expect(errors.map((e) => e.message)).toEqual(['Unauthorized: You do not have permissions to read from this Channel topic']);
    // realtime-js' own rejoin timer: 1 s after a refused join (not configurable through supabase-js).
    await vi.waitFor(() => expect(a.service.status).toBe('resynced'), { ...WAIT, timeout: 4000 });
    expect(fake.received('phx_join', TOPIC)).toHaveLength(2);
  });
});

describe('publish', () => {
  test('rejects with TimeoutError on the clock when the channel does not join in time', async () => {
    const clock = new ManualClock(1_000);
    fake.failJoins(TOPIC, { reply: 'error', reason: 'nope' }, 100);
    const a = node('key-a', { clock, publishTimeoutMs: 3000 });
    a.service.publish('orders', { id: 1 });
    await vi.waitFor(() => expect(fake.received('phx_join', TOPIC)).toHaveLength(1), WAIT);
    await clock.advance(2999);
    expect(a.errors).toEqual([]);
    await clock.advance(1);
    await vi.waitFor(() => expect(a.errors).toHaveLength(1), WAIT);
    expect(a.errors[0]).toBeInstanceOf(TimeoutError);
    expect(fake.received('broadcast')).toHaveLength(0);
  });

  test('destroying the service rejects a publish still waiting for its channel', async () => {
    fake.failJoins(TOPIC, { reply: 'error', reason: 'nope' }, 100);
    const a = node('key-a');
    a.service.publish('orders', { id: 1 });
    await vi.waitFor(() => expect(fake.received('phx_join', TOPIC)).toHaveLength(1), WAIT);
    await a.service.destroy();
    await vi.waitFor(() => expect(a.errors).toHaveLength(1), WAIT);
    expect(String(a.errors[0])).toMatch(/transport was closed/);
  });

  test('a broadcast the server refuses to acknowledge rejects through the error event', async () => {
    const a = node('key-a');
    collect(a.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(1), WAIT);
    // The server forgets the channel (as after a crash it did not report): the broadcast is unmatched.
    fake.forgetChannel(TOPIC);
    a.service.publish('orders', { id: 1 });
    await vi.waitFor(() => expect(a.errors).toHaveLength(1), WAIT);
    expect(String(a.errors[0])).toMatch(/not acknowledged \(error\)/);
  });

  test('a topic that cannot be a channel name is a TypeError reported by the service', async () => {
    const a = node('key-a');
    const stop = a.service.subscribe('bestellungen-ä', () => {});
    expect(a.errors).toHaveLength(1);
    expect(a.errors[0]).toBeInstanceOf(TypeError);
    expect(String(a.errors[0])).toMatch(/printable ASCII/);
    stop();
    a.service.publish('x'.repeat(300), { id: 1 });
    await vi.waitFor(() => expect(a.errors).toHaveLength(2), WAIT);
    expect(a.errors[1]).toBeInstanceOf(TypeError);
  });

  test('bad options are TypeErrors', () => {
    const supabase = connectClient(fake);
    expect(() => createSupabaseTransport({} as never)).toThrow(TypeError);
    expect(() => createSupabaseTransport(supabase, { publishTimeoutMs: -1 })).toThrow(TypeError);
    expect(() => createSupabaseTransport(supabase, { event: '' })).toThrow(TypeError);
  });
});

describe('channels follow subscriptions', () => {
  test("'*' joins no channel; a '*' subscriber hears remote events of topics subscribed here", async () => {
    const a = node('key-a');
    const b = node('key-b');
    const any = collect(b.service, '*');
    const first = a.service.publish('orders', { id: 1 });
    await vi.waitFor(() => expect(fake.received('broadcast', TOPIC)).toHaveLength(1), WAIT);
    await new Promise((r) => setTimeout(r, 50));
    expect(any).toEqual([]);
    expect(fake.received('phx_join').map((f) => f.topic)).toEqual([TOPIC]);

    collect(b.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(2), WAIT);
    const second = a.service.publish('orders', { id: 2 });
    await vi.waitFor(() => expect(any).toEqual([second]), WAIT);
    expect(any).not.toContainEqual(first);
  });

  test('the last subscriber leaving leaves the channel after idleCloseMs on the clock; a new one rejoins', async () => {
    const clock = new ManualClock(0);
    const a = node('key-a', { clock, idleCloseMs: 10_000 });
    const stop = a.service.subscribe('orders', () => {});
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(1), WAIT);
    stop();
    await clock.advance(9_999);
    expect(fake.received('phx_leave', TOPIC)).toHaveLength(0);
    await clock.advance(1);
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(0), WAIT);
    expect(fake.received('phx_leave', TOPIC)).toHaveLength(1);

    const got = collect(a.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(1), WAIT);
    const b = node('key-b');
    const event = b.service.publish('orders', { id: 5 });
    await vi.waitFor(() => expect(got).toEqual([event]), WAIT);
  });

  test('resubscribing within idleCloseMs keeps the channel', async () => {
    const clock = new ManualClock(0);
    const a = node('key-a', { clock, idleCloseMs: 10_000 });
    const stop = a.service.subscribe('orders', () => {});
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(1), WAIT);
    stop();
    await clock.advance(5_000);
    a.service.subscribe('orders', () => {});
    await clock.advance(20_000);
    await new Promise((r) => setTimeout(r, 30));
    expect(fake.received('phx_leave', TOPIC)).toHaveLength(0);
    expect(fake.received('phx_join', TOPIC)).toHaveLength(1);
  });

  test('destroying the service leaves every channel', async () => {
    const a = node('key-a');
    collect(a.service, 'orders');
    collect(a.service, 'invoices');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC) + fake.joinedCount('realtime:closed-loop:invoices')).toBe(2), WAIT);
    await a.service.destroy();
    expect(a.supabase.getChannels()).toHaveLength(0);
    // realtime-js settles a leave at once, without the server's reply: the frames follow.
    await vi.waitFor(() => expect(fake.received('phx_leave').map((f) => f.topic).sort()).toEqual(['realtime:closed-loop:invoices', TOPIC]), WAIT);
  });

  test('two transports on one client and prefix collide with a clear error', async () => {
    const supabase = connectClient(fake, { key: 'key-a' });
    const one = new RealtimeSyncService({ transport: createSupabaseTransport(supabase) });
    const two = new RealtimeSyncService({ transport: createSupabaseTransport(supabase) });
    services.push(one, two);
    const errors = recordErrors(two);
    one.subscribe('orders', () => {});
    two.subscribe('orders', () => {});
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/already has a channel "closed-loop:orders"/);
  });
});

describe('access tokens', () => {
  test('a channel the server closes for an expired token is reopened with a fresh token', async () => {
    let token = 'token-1';
    const accessToken = vi.fn(async () => token);
    const a = node('key-a', { reopenBackoff: { initialDelayMs: 5, maxDelayMs: 5 } }, { accessToken });
    const b = node('key-b');
    const atA = collect(a.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(1), WAIT);
    await vi.waitFor(() => expect(fake.received('phx_join', TOPIC)[0]!.payload).toMatchObject({ access_token: 'token-1' }), WAIT);

    token = 'token-2';
    fake.expireToken('token-1');
    await vi.waitFor(() => expect(a.service.status).toBe('resynced'), WAIT);
    expect(a.statuses).toEqual(['reconnecting', 'resynced']);
    const joins = fake.received('phx_join', TOPIC);
    expect(joins).toHaveLength(2);
    expect(joins[1]!.payload).toMatchObject({ access_token: 'token-2' });

    const event = b.service.publish('orders', { id: 1 });
    await vi.waitFor(() => expect(atA).toEqual([event]), WAIT);
  });

  test('the transport can take its own token source', async () => {
    let n = 0;
    const fresh = vi.fn(() => `own-${++n}`);
    const clientToken = vi.fn(async () => 'client-token');
    const a = node('key-a', { accessToken: fresh, reopenBackoff: { initialDelayMs: 5, maxDelayMs: 5 } }, { accessToken: clientToken });
    collect(a.service, 'orders');
    await vi.waitFor(() => expect(fake.joinedCount(TOPIC)).toBe(1), WAIT);
    expect(fake.received('phx_join', TOPIC)[0]!.payload).toMatchObject({ access_token: 'own-1' });
    fake.expireToken('own-1');
    await vi.waitFor(() => expect(a.service.status).toBe('resynced'), WAIT);
    expect(fake.received('phx_join', TOPIC).map((f) => (f.payload as { access_token?: string }).access_token)).toEqual(['own-1', 'own-2']);
  });
});
