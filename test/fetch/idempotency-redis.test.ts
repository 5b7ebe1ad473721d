// Node only. The fifteen idempotency behaviours over real HTTP on the Redis store (one real
// redis-server for the file, a fresh client and key prefix per store), for withIdempotency() from closed-loop/fetch (served with @hono/node-server's serve({ fetch })).
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import type { Clock } from 'closed-loop';
import { RedisIdempotencyStore } from 'closed-loop/redis';
import { describeIdempotencyBehaviours } from '../express/idempotency-behaviours.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { fetchServer } from './fetch-server.js';

let server: RedisServer;
let stores = 0;

beforeAll(async () => {
  server = await startRedisServer();
}, 20_000);

afterAll(async () => {
  await server?.stop();
});

/** A RedisIdempotencyStore on a fresh client, under a prefix of its own; `close` quits the client. */
function makeStore(opts: { clock?: Clock } = {}) {
  const client = new Redis(server.url);
  const store = new RedisIdempotencyStore(client, { prefix: `cl-fetch-${process.pid}-${++stores}:`, ...(opts.clock && { clock: opts.clock }) });
  return {
    store,
    close: async () => {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

describeIdempotencyBehaviours('withIdempotency, Redis store', { server: fetchServer(), makeStore });
