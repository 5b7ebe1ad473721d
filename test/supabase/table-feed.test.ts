// Node only. The table change feed behind subscribeToTable (postgres_changes → change events), with
// the real supabase-js client (2.109.0) against the Phoenix fake, fed into a RealtimeSyncService as
// its transport: what realtime-js leaves to the app — SUBSCRIBED before the database feed is ready,
// no replay after a rejoin, CHANNEL_ERROR / TIMED_OUT / CLOSED, expired tokens — and how a change
// becomes an event (id, new/old, commit time, version, a deterministic eventId).
import { type ChangeEvent, ManualClock, RealtimeSyncService } from 'closed-loop';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { TableFeed } from '../../adapters/supabase/table.js';
import type { SubscribeToTableOptions } from 'closed-loop/supabase';
import { type PhoenixFake, startPhoenixFake } from './phoenix-fake.js';
import { type ClientOptions, closeClients, connectClient, recordStatuses } from './support.js';

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
const TODOS = /^realtime:closed-loop:db:public\.todos:/;

/** A service whose only source is a feed of public.todos on its own client. */
function feed(options: Partial<SubscribeToTableOptions> = {}, client: ClientOptions = {}) {
  const supabase = connectClient(fake, client);
  const errors: Error[] = [];
  const onResync = vi.fn();
  const service = new RealtimeSyncService({
    transport: new TableFeed(supabase, {
      schema: 'public',
      table: 'todos',
      reopenBackoff: { initialDelayMs: 5, maxDelayMs: 5 },
      onError: (e) => errors.push(e),
      ...options,
    }),
    onResync,
  });
  services.push(service);
  const events: ChangeEvent[] = [];
  service.subscribe(options.topic ?? 'todos', (e) => events.push(e));
  return { supabase, service, events, errors, onResync, statuses: recordStatuses(service) };
}

const T = '2025-03-01T12:00:00.123456Z';
const insert = (id: number, title: string, extra: Record<string, unknown> = {}) =>
  ({ table: 'todos', type: 'INSERT', record: { id, title, ...extra }, commit_timestamp: T }) as const;

describe('ready means the database feed is ready', () => {
  test('SUBSCRIBED is not enough: connected only after "Subscribed to PostgreSQL"', async () => {
    fake.feedDelay = 'hold';
    const f = feed();
    await vi.waitFor(() => expect(f.supabase.getChannels()[0]?.state).toBe('joined'), WAIT);
    expect(fake.joinedTopics(TODOS)).toHaveLength(1);
    // The channel is joined (realtime-js said SUBSCRIBED) but changes do not flow yet.
    expect(fake.emitChange(insert(1, 'too early'))).toBe(0);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.service.status).toBe('connecting');

    fake.releaseFeeds();
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    expect(f.statuses).toEqual(['connected']);
    expect(fake.emitChange(insert(2, 'flows'))).toBe(1);
    await vi.waitFor(() => expect(f.events).toHaveLength(1), WAIT);
    expect(f.events[0]!.id).toBe(2);
  });

  test('the join asks for the table, the events and the filter; the server-side filter applies', async () => {
    const f = feed({ filter: 'owner=eq.42', events: 'INSERT' });
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    const join = fake.received('phx_join').find((j) => TODOS.test(j.topic))!;
    expect(join.payload).toMatchObject({
      config: { postgres_changes: [{ event: 'INSERT', schema: 'public', table: 'todos', filter: 'owner=eq.42' }] },
      access_token: 'anon-key', // supabase-js without a session: the apikey, sent with the first join
    });
    fake.emitChange(insert(1, 'other owner', { owner: 7 }));
    fake.emitChange(insert(2, 'mine', { owner: 42 }));
    fake.emitChange({ table: 'todos', type: 'UPDATE', record: { id: 2, title: 'x', owner: 42 }, old_record: { id: 2 } });
    await vi.waitFor(() => expect(f.events).toHaveLength(1), WAIT);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.events.map((e) => e.id)).toEqual([2]);
  });
});

describe('changes become events', () => {
  test('INSERT, UPDATE and DELETE with id, new, old, commit time and version; the cache follows', async () => {
    const f = feed();
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    fake.emitChange({ table: 'todos', type: 'INSERT', record: { id: 1, title: 'a', version: 1 }, commit_timestamp: '2025-03-01T12:00:00.000Z' });
    fake.emitChange({
      table: 'todos',
      type: 'UPDATE',
      record: { id: 1, title: 'b', version: 2 },
      old_record: { id: 1 },
      commit_timestamp: '2025-03-01T12:00:01.000Z',
    });
    await vi.waitFor(() => expect(f.events).toHaveLength(2), WAIT);
    expect(f.events[0]).toMatchObject({
      topic: 'todos',
      type: 'INSERT',
      id: 1,
      new: { id: 1, title: 'a', version: 1 },
      version: 1,
      timestamp: Date.parse('2025-03-01T12:00:00.000Z'),
    });
    expect(f.events[0]!.old).toBeUndefined();
    expect(f.events[1]).toMatchObject({ type: 'UPDATE', id: 1, new: { title: 'b' }, old: { id: 1 }, version: 2 });
    expect(f.service.getLatest('todos', 1)).toEqual({ id: 1, title: 'b', version: 2 });

    fake.emitChange({ table: 'todos', type: 'DELETE', old_record: { id: 1 }, commit_timestamp: '2025-03-01T12:00:02.000Z' });
    await vi.waitFor(() => expect(f.events).toHaveLength(3), WAIT);
    expect(f.events[2]).toMatchObject({ type: 'DELETE', id: 1, old: { id: 1 } });
    expect(f.events[2]!.new).toBeUndefined();
    expect(f.service.getLatest('todos', 1)).toBeUndefined();
  });

  test('primaryKey, versionColumn and topic options', async () => {
    const f = feed({ primaryKey: ['org', 'slug'], versionColumn: 'rev', topic: 'todo-list' });
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    fake.emitChange({ table: 'todos', type: 'INSERT', record: { org: 3, slug: 'x', rev: 9, version: 1 } });
    await vi.waitFor(() => expect(f.events).toHaveLength(1), WAIT);
    expect(f.events[0]).toMatchObject({ topic: 'todo-list', id: '[3,"x"]', version: 9 });
  });

  test('the same change delivered twice reaches subscribers once; another change in the same commit does not', async () => {
    const f = feed();
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    fake.emitChange(insert(1, 'a'));
    fake.emitChange(insert(1, 'a')); // a duplicate delivery
    fake.emitChange({ table: 'todos', type: 'UPDATE', record: { id: 1, title: 'b' }, old_record: { id: 1 }, commit_timestamp: T });
    fake.emitChange({ table: 'todos', type: 'UPDATE', record: { id: 1, title: 'c' }, old_record: { id: 1 }, commit_timestamp: T });
    await vi.waitFor(() => expect(f.events).toHaveLength(3), WAIT);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.events.map((e) => [e.type, (e.new as { title: string }).title])).toEqual([
      ['INSERT', 'a'],
      ['UPDATE', 'b'],
      ['UPDATE', 'c'],
    ]);
  });

  test('two clients make the same eventId for the same change', async () => {
    const one = feed({}, { key: 'key-1' });
    const two = feed({}, { key: 'key-2' });
    await vi.waitFor(() => expect([one.service.status, two.service.status]).toEqual(['connected', 'connected']), WAIT);
    expect(fake.emitChange(insert(5, 'shared'))).toBe(2);
    await vi.waitFor(() => expect(one.events.length + two.events.length).toBe(2), WAIT);
    expect(one.events[0]!.eventId).toBe(two.events[0]!.eventId);
    expect(one.events[0]!.eventId).toMatch(/^pg:public\.todos:INSERT:2025-03-01T12:00:00\.123456Z:5:[0-9a-f]{16}$/);
  });
});

describe('drops and rejoins', () => {
  test('changes during an outage are lost; after the rejoin (and the database feed) it reports resynced', async () => {
    const f = feed({}, { key: 'key-1' });
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    fake.block('key-1');
    await vi.waitFor(() => expect(f.service.status).toBe('reconnecting'), WAIT);
    expect(fake.emitChange(insert(1, 'lost'))).toBe(0);

    fake.feedDelay = 'hold';
    fake.unblock('key-1');
    await vi.waitFor(() => expect(fake.joinedTopics(TODOS)).toHaveLength(1), WAIT);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.service.status).toBe('reconnecting'); // rejoined, but the database feed is not ready yet
    fake.releaseFeeds();
    await vi.waitFor(() => expect(f.service.status).toBe('resynced'), WAIT);
    expect(f.statuses).toEqual(['connected', 'reconnecting', 'resynced']);
    expect(f.onResync).toHaveBeenCalledTimes(1);

    fake.emitChange(insert(2, 'after'));
    await vi.waitFor(() => expect(f.events).toHaveLength(1), WAIT);
    expect(f.events.map((e) => e.id)).toEqual([2]);
  });

  test('every rejoin reports resynced', async () => {
    const f = feed();
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    for (let i = 1; i <= 3; i++) {
      fake.dropConnections();
      await vi.waitFor(() => expect(f.statuses).toHaveLength(1 + 2 * i), WAIT);
    }
    expect(f.statuses).toEqual(['connected', 'reconnecting', 'resynced', 'reconnecting', 'resynced', 'reconnecting', 'resynced']);
    expect(f.onResync).toHaveBeenCalledTimes(3);
  });

  test('a refused join (CHANNEL_ERROR) reports reconnecting and the error; realtime-js rejoins', async () => {
    fake.failJoins(TODOS, { reply: 'error', reason: 'Invalid filter' });
    const f = feed();
    await vi.waitFor(() => expect(f.service.status).toBe('reconnecting'), WAIT);
    expect(f.errors.map((e) => e.message)).toEqual(['Invalid filter']);
    await vi.waitFor(() => expect(f.service.status).toBe('resynced'), WAIT); // realtime-js' rejoin: 1 s
    expect(f.statuses).toEqual(['reconnecting', 'resynced']);
  });

  test('a join without a reply (TIMED_OUT) reports reconnecting; realtime-js rejoins', async () => {
    fake.failJoins(TODOS, { reply: 'none' });
    const f = feed({}, { timeout: 200 });
    await vi.waitFor(() => expect(f.service.status).toBe('reconnecting'), WAIT);
    await vi.waitFor(() => expect(f.service.status).toBe('resynced'), WAIT);
    // The timed-out join was left (realtime-js sends phx_leave), then joined again.
    expect(fake.received('phx_leave').filter((l) => TODOS.test(l.topic))).toHaveLength(1);
    expect(fake.received('phx_join').filter((j) => TODOS.test(j.topic))).toHaveLength(2);
  });

  test('a channel the server crashed (phx_error) is rejoined by realtime-js; resynced follows', async () => {
    const f = feed();
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    fake.crashChannel(fake.joinedTopics(TODOS)[0]!);
    await vi.waitFor(() => expect(f.service.status).toBe('reconnecting'), WAIT);
    await vi.waitFor(() => expect(f.service.status).toBe('resynced'), WAIT);
  });

  test('a channel the server closed (CLOSED) is opened again after the backoff, on the clock', async () => {
    const clock = new ManualClock(0);
    const f = feed({ clock, reopenBackoff: { initialDelayMs: 1000, jitter: 'none' } });
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    const first = fake.joinedTopics(TODOS)[0]!;
    fake.closeChannel(first);
    await vi.waitFor(() => expect(f.service.status).toBe('reconnecting'), WAIT);
    await clock.advance(999);
    await new Promise((r) => setTimeout(r, 30));
    expect(fake.joinedTopics(TODOS)).toEqual([]);
    await clock.advance(1);
    await vi.waitFor(() => expect(f.service.status).toBe('resynced'), WAIT);
    expect(fake.joinedTopics(TODOS)).toHaveLength(1);
    fake.emitChange(insert(1, 'again'));
    await vi.waitFor(() => expect(f.events).toHaveLength(1), WAIT);
  });

  test('a database feed error reports the error and starts over with a new channel', async () => {
    const f = feed();
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    const first = fake.joinedTopics(TODOS)[0]!;
    fake.failFeed(first);
    await vi.waitFor(() => expect(f.service.status).toBe('resynced'), WAIT);
    expect(f.statuses).toEqual(['connected', 'reconnecting', 'resynced']);
    expect(f.errors.map((e) => e.message)).toEqual(['Supabase Realtime: Unable to subscribe to changes with given parameters']);
    expect(fake.received('phx_leave', first)).toHaveLength(1);
    fake.emitChange(insert(1, 'again'));
    await vi.waitFor(() => expect(f.events).toHaveLength(1), WAIT);
  });
});

describe('access tokens', () => {
  test('a token that expires while joined: the server closes the channel, it reopens with a fresh token', async () => {
    let token = 'jwt-1';
    const accessToken = vi.fn(async () => token);
    const f = feed({}, { accessToken });
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    expect(fake.received('phx_join').find((j) => TODOS.test(j.topic))!.payload).toMatchObject({ access_token: 'jwt-1' });

    token = 'jwt-2';
    fake.expireToken('jwt-1');
    await vi.waitFor(() => expect(f.service.status).toBe('resynced'), WAIT);
    const joins = fake.received('phx_join').filter((j) => TODOS.test(j.topic));
    expect(joins.map((j) => (j.payload as { access_token?: string }).access_token)).toEqual(['jwt-1', 'jwt-2']);
    fake.emitChange(insert(1, 'with the new token'));
    await vi.waitFor(() => expect(f.events).toHaveLength(1), WAIT);
  });

  test('a token that expired during an outage: the rejoin is refused, the token refreshed, the next rejoin works', async () => {
    let token = 'jwt-1';
    const f = feed({}, { key: 'key-1', accessToken: async () => token });
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    // A token set explicitly, as supabase-js does on SIGNED_IN and TOKEN_REFRESHED: realtime-js then
    // keeps it, across reconnects too, and stops asking the token callback.
    await f.supabase.realtime.setAuth('jwt-1');
    fake.block('key-1');
    await vi.waitFor(() => expect(f.service.status).toBe('reconnecting'), WAIT);
    fake.expireToken('jwt-1');
    token = 'jwt-2';
    fake.unblock('key-1');
    // realtime-js rejoins at once with the old token (refused), then after its 1 s rejoin timer with
    // the token the adapter fetched on the refusal.
    await vi.waitFor(() => expect(f.service.status).toBe('resynced'), WAIT);
    const joins = fake.received('phx_join').filter((j) => TODOS.test(j.topic));
    expect(joins.map((j) => (j.payload as { access_token?: string }).access_token)).toEqual(['jwt-1', 'jwt-1', 'jwt-2']);
    expect(f.errors.map((e) => e.message)).toEqual(['InvalidJWTToken: Token has expired 5 seconds ago']);
  });
});

describe('lifecycle and input', () => {
  test('closing the feed leaves the channel and delivers nothing more', async () => {
    const f = feed();
    await vi.waitFor(() => expect(f.service.status).toBe('connected'), WAIT);
    const topic = fake.joinedTopics(TODOS)[0]!;
    await f.service.destroy();
    await vi.waitFor(() => expect(fake.received('phx_leave', topic)).toHaveLength(1), WAIT);
    expect(fake.emitChange(insert(1, 'late'))).toBe(0);
    expect(f.supabase.getChannels()).toHaveLength(0);
  });

  test('bad options are TypeErrors', () => {
    const supabase = connectClient(fake);
    const base = { schema: 'public', table: 'todos' };
    expect(() => new TableFeed({} as never, base)).toThrow(TypeError);
    expect(() => new TableFeed(supabase, { ...base, schema: '' })).toThrow(TypeError);
    expect(() => new TableFeed(supabase, { ...base, table: 3 as never })).toThrow(TypeError);
    expect(() => new TableFeed(supabase, { ...base, events: 'TRUNCATE' as never })).toThrow(TypeError);
    expect(() => new TableFeed(supabase, { ...base, topic: '*' })).toThrow(TypeError);
    expect(() => new TableFeed(supabase, { ...base, primaryKey: [] })).toThrow(TypeError);
    expect(() => new TableFeed(supabase, { ...base, filter: '' })).toThrow(TypeError);
  });
});
