// Node only. The fifteen idempotency behaviours over real HTTP on the Redis store (one real
// redis-server for the file, a fresh client and key prefix per store), for withIdempotency() from closed-loop/fetch (served with @hono/node-server's serve({ fetch })).
import { describeIdempotencyBehaviours } from '../express/idempotency-behaviours.js';
import { redisIdempotencyStores } from '../support/redis-idempotency-stores.js';
import { fetchServer } from './fetch-server.js';

describeIdempotencyBehaviours('withIdempotency, Redis store', { server: fetchServer(), makeStore: redisIdempotencyStores('cl-fetch') });
