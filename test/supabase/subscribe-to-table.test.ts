// Node only. subscribeToTable: a table's changes into a RealtimeSyncService that has a transport of
// its own (here an InMemoryTransport bus shared with a second service), with the real supabase-js
// client (2.109.0) against the Phoenix fake. Changes reach the service's subscribers once and are not
// sent on over its transport; the feed's status joins the service's status.
import {
  type ChangeEvent,
  InMemoryTransport,
  RealtimeSyncService,
  type RealtimeTransport,
  type RealtimeTransportListener,
} from 'closed-loop';
import { subscribeToTable } from 'closed-loop/supabase';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { type PhoenixFake, startPhoenixFake } from './phoenix-fake.js';
import { closeClients, connectClient, recordStatuses } from './support.js';

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
const insert = (id: number) => ({ table: 'todos', type: 'INSERT', record: { id, title: `t${id}` } }) as const;

function service(transport?: RealtimeTransport): RealtimeSyncService {
  const s = new RealtimeSyncService(transport ? { transport } : {});
  services.push(s);
  return s;
}

function collect(s: RealtimeSyncService, topic: string): ChangeEvent[] {
  const got: ChangeEvent[] = [];
  s.subscribe(topic, (e) => got.push(e));
  return got;
}

describe('subscribeToTable', () => {
  test('changes reach the subscribers once and are not sent over the service transport', async () => {
    const bus = new InMemoryTransport();
    const publish = vi.spyOn(bus, 'publish');
    const app = service(bus);
    const other = service(bus);
    const atApp = collect(app, 'todos');
    const atOther = collect(other, 'todos');
    const supabase = connectClient(fake);
    subscribeToTable(app, supabase, { schema: 'public', table: 'todos' });
    await vi.waitFor(() => expect(app.status).toBe('connected'), WAIT);

    fake.emitChange(insert(1));
    await vi.waitFor(() => expect(atApp).toHaveLength(1), WAIT);
    expect(atApp[0]).toMatchObject({ topic: 'todos', type: 'INSERT', id: 1, new: { id: 1, title: 't1' } });
    expect(app.getLatest('todos', 1)).toEqual({ id: 1, title: 't1' });
    expect(publish).not.toHaveBeenCalled();
    expect(atOther).toEqual([]);

    // The app's own publishes still travel over the bus.
    app.publish('todos', { id: 2 });
    expect(atOther).toHaveLength(1);
  });

  test('the service reports connecting until the database feed is ready, then connected; a drop, then resynced', async () => {
    const app = service();
    const statuses = recordStatuses(app);
    expect(app.status).toBe('connected'); // its in-memory transport
    fake.feedDelay = 'hold';
    const supabase = connectClient(fake);
    subscribeToTable(app, supabase, { schema: 'public', table: 'todos' });
    expect(app.status).toBe('connecting');
    await vi.waitFor(() => expect(fake.joinedTopics(TODOS)).toHaveLength(1), WAIT);
    await new Promise((r) => setTimeout(r, 30));
    expect(app.status).toBe('connecting');
    fake.releaseFeeds();
    await vi.waitFor(() => expect(app.status).toBe('connected'), WAIT);

    fake.feedDelay = 0;
    fake.dropConnections();
    await vi.waitFor(() => expect(app.status).toBe('resynced'), WAIT);
    expect(statuses).toEqual(['connecting', 'connected', 'reconnecting', 'resynced']);
  });

  test('two feeds of one table into one service deliver each change once', async () => {
    const app = service();
    const got = collect(app, 'todos');
    subscribeToTable(app, connectClient(fake, { key: 'k1' }), { schema: 'public', table: 'todos' });
    subscribeToTable(app, connectClient(fake, { key: 'k2' }), { schema: 'public', table: 'todos' });
    await vi.waitFor(() => expect(fake.joinedTopics(TODOS).length).toBe(2), WAIT);
    await vi.waitFor(() => expect(app.status).toBe('connected'), WAIT);
    expect(fake.emitChange(insert(1))).toBe(2);
    expect(fake.emitChange(insert(2))).toBe(2);
    await vi.waitFor(() => expect(got).toHaveLength(2), WAIT);
    await new Promise((r) => setTimeout(r, 30));
    expect(got.map((e) => e.id)).toEqual([1, 2]);
  });

  test('a transport resync while the feed is down is reported once the feed is back', async () => {
    let listener!: RealtimeTransportListener;
    const transport: RealtimeTransport = {
      connect: (l) => {
        listener = l;
        l.onStatus('connected');
      },
      publish: () => {},
      close: () => {},
    };
    const app = service(transport);
    const statuses = recordStatuses(app);
    subscribeToTable(app, connectClient(fake, { key: 'k1' }), { schema: 'public', table: 'todos' });
    await vi.waitFor(() => expect(app.status).toBe('connected'), WAIT);
    fake.block('k1');
    await vi.waitFor(() => expect(app.status).toBe('reconnecting'), WAIT);
    listener.onStatus('reconnecting');
    listener.onStatus('resynced'); // the transport is back; the feed is not
    expect(app.status).toBe('reconnecting');
    fake.unblock('k1');
    await vi.waitFor(() => expect(app.status).toBe('resynced'), WAIT);
    expect(statuses).toEqual(['connecting', 'connected', 'reconnecting', 'resynced']);
  });

  test('the returned function stops the feed: the channel is left and the status is the transport’s again', async () => {
    const app = service();
    const got = collect(app, 'todos');
    const supabase = connectClient(fake, { key: 'k1' });
    const stop = subscribeToTable(app, supabase, { schema: 'public', table: 'todos' });
    await vi.waitFor(() => expect(app.status).toBe('connected'), WAIT);
    fake.block('k1');
    await vi.waitFor(() => expect(app.status).toBe('reconnecting'), WAIT);
    fake.unblock('k1');
    await stop();
    await stop(); // idempotent
    expect(app.status).toBe('connected');
    expect(supabase.getChannels()).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.emitChange(insert(1))).toBe(0);
    expect(got).toEqual([]);
  });

  test('bad arguments are TypeErrors', () => {
    const supabase = connectClient(fake);
    expect(() => subscribeToTable({} as never, supabase, { schema: 'public', table: 'todos' })).toThrow(TypeError);
    expect(() => subscribeToTable(service(), supabase, { schema: 'public' } as never)).toThrow(TypeError);
  });
});
