/**
 * `closed-loop/express`: Express middleware for idempotent mutations, plus request ids, problem+json
 * errors, cache headers, CORS for pages on another origin, and `realtimeSse()`, a Server-Sent
 * Events endpoint that streams a realtime service's change events with a replay buffer for
 * `Last-Event-ID` resumes. Works with Express 4.21+ and 5.
 *
 * @module closed-loop/express
 */

export { createIdempotencyMiddleware, storeIdempotentResult } from './idempotency.js';
export { clearIdempotencyCache, getIdempotencyCacheStats } from './idempotency-cache.js';
export type { IdempotencyMiddlewareOptions, StoredHttpResponse } from './idempotency.js';
export { getRequestId, requestId } from './request-id.js';
export type { RequestIdOptions } from './request-id.js';
export { errorHandler } from './error-handler.js';
export type { ErrorHandlerOptions } from './error-handler.js';
export { CACHE_PRESETS, cacheControl } from './cache-control.js';
export type { CachePreset } from './cache-control.js';
export { cors } from './cors.js';
export type { CorsOptions, CorsOrigin } from './cors.js';
export { realtimeSse } from './sse.js';
export type { RealtimeSseHandler, RealtimeSseOptions, RealtimeSseSource } from './sse.js';
