/**
 * `closed-loop/supabase`: the realtime bus over Supabase Realtime. {@link createSupabaseTransport}
 * carries change events between services on broadcast channels; {@link subscribeToTable} feeds a
 * table's database changes (`postgres_changes`) into a service. Both take the app's Supabase client;
 * `@supabase/supabase-js` (^2) is an optional peer dependency and is never imported at run time.
 *
 * @module closed-loop/supabase
 */

export { createSupabaseTransport } from './transport.js';
export type { SupabaseTransportOptions } from './transport.js';
export { subscribeToTable } from './table.js';
export type { SubscribeToTableOptions } from './table.js';
export type { AccessTokenSource, SupabaseRealtimeClient } from './channel.js';
