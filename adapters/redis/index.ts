/**
 * `closed-loop/redis`: Redis (through an `ioredis` client) for apps that run on several servers: a
 * shared idempotency store, and a realtime transport on Redis pub/sub so that every instance's
 * realtime service hears the changes published on any of them.
 *
 * @module closed-loop/redis
 */

export { RedisIdempotencyStore } from './idempotency-store.js';
export type { RedisIdempotencyStoreOptions } from './idempotency-store.js';
export { RedisTransport } from './realtime-transport.js';
export type { RedisTransportOptions } from './realtime-transport.js';
