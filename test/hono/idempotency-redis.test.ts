// Node only. The fifteen idempotency behaviours over real HTTP on the Redis store (one real
// redis-server for the file, a fresh client and key prefix per store), for idempotency() from closed-loop/hono in a Hono app on @hono/node-server.
import { describeIdempotencyBehaviours } from '../express/idempotency-behaviours.js';
import { redisIdempotencyStores } from '../support/redis-idempotency-stores.js';
import { honoServer } from './hono-server.js';

describeIdempotencyBehaviours('Hono, Redis store', { server: honoServer(), makeStore: redisIdempotencyStores('cl-hono') });
