// Node only. Real @supabase/supabase-js clients (2.109.0) pointed at the Phoenix fake, with `ws` as
// their WebSocket (Node 20 has none built in) and realtime-js' own timers made short so that drops
// recover in milliseconds instead of seconds. Closed by `closeClients()`.
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { RealtimeStatus, RealtimeSyncService } from 'closed-loop';
import WebSocket from 'ws';
import type { PhoenixFake } from './phoenix-fake.js';

const open: SupabaseClient[] = [];

/** Options of {@link connectClient}. */
export interface ClientOptions {
  /** The apikey (also what the fake's `block` goes by). Default `'anon-key'`. */
  key?: string;
  /** supabase-js' `accessToken` option (third-party auth): the Realtime token source. */
  accessToken?: () => Promise<string | null>;
  /** realtime-js' push and join timeout, ms. Default 2000. */
  timeout?: number;
}

/** A Supabase client on the fake. */
export function connectClient(fake: PhoenixFake, options: ClientOptions = {}): SupabaseClient {
  const supabase = createClient(fake.url, options.key ?? 'anon-key', {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: {
      transport: WebSocket as never,
      timeout: options.timeout ?? 2000,
      heartbeatIntervalMs: 5000,
      reconnectAfterMs: () => 20,
    },
    ...(options.accessToken ? { accessToken: options.accessToken } : {}),
  });
  open.push(supabase);
  return supabase;
}

/** Disconnects every client made by {@link connectClient}. */
export async function closeClients(): Promise<void> {
  const clients = open.splice(0);
  await Promise.all(
    clients.map(async (c) => {
      await c.removeAllChannels().catch(() => undefined);
      await c.realtime.disconnect().catch(() => undefined);
    }),
  );
}

/** Every status the service reports from now on. */
export function recordStatuses(service: RealtimeSyncService): RealtimeStatus[] {
  const seen: RealtimeStatus[] = [];
  service.on('status', (status) => seen.push(status));
  return seen;
}

/** Errors the service reports through its `error` event. */
export function recordErrors(service: RealtimeSyncService): unknown[] {
  const seen: unknown[] = [];
  service.on('error', (error) => seen.push(error));
  return seen;
}
