// One real redis-server for a test file, and a RedisIdempotencyStore per test on a fresh client
// under a key prefix of its own: the shape the behaviour suite's `makeStore` wants.
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import type { Clock } from 'closed-loop';
import { RedisIdempotencyStore } from 'closed-loop/redis';
import { type RedisServer, startRedisServer } from './redis-server.js';

/**
 * Starts redis-server for the calling file; returns `makeStore`, whose `close` quits the client (and
 * whose `redisOptions` configure it), with `makeStore.url()`, the server's URL for clients of a
 * test's own.
 */
export function redisIdempotencyStores(prefix: string) {
  let server: RedisServer;
  let stores = 0;
  beforeAll(async () => {
    server = await startRedisServer();
  }, 20_000);
  afterAll(async () => {
    await server?.stop();
  });
  function makeStore(opts: { clock?: Clock } = {}, redisOptions: RedisOptions = {}) {
    const client = new Redis(server.url, redisOptions);
    const store = new RedisIdempotencyStore(client, { prefix: `${prefix}-${process.pid}-${++stores}:`, ...(opts.clock && { clock: opts.clock }) });
    return {
      store,
      close: async () => {
        await client.quit().catch(() => client.disconnect());
      },
    };
  }
  makeStore.url = (): string => server.url;
  return makeStore;
}
