/**
 * `closed-loop/redis`: a shared idempotency store on Redis (through an `ioredis` client), for apps
 * that run on several servers.
 *
 * @module closed-loop/redis
 */

export { RedisIdempotencyStore } from './idempotency-store.js';
export type { RedisIdempotencyStoreOptions } from './idempotency-store.js';
