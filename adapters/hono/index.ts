/**
 * `closed-loop/hono`: idempotent mutations for Hono apps, as a middleware
 * (`app.use('/api/*', idempotency())`). The same rules, options and defaults as the Express
 * middleware, from the core's {@link closed-loop!HttpIdempotency HttpIdempotency}; Hono 4, on any
 * runtime Hono runs on.
 *
 * @module closed-loop/hono
 */

import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';
import { type HttpIdempotencyOptions, HttpIdempotency, retryAfterSeconds } from 'closed-loop';
import { type WebAdapter, fingerprintWebRequest, guardWebRequest } from '../fetch/web-idempotency.js';

/**
 * Options of {@link idempotency}: those of every server adapter, except that `scope`,
 * `fingerprint` and `onStoreError` get the web `Request` and Hono's context.
 */
export interface HonoIdempotencyOptions extends Omit<HttpIdempotencyOptions<Context>, 'scope' | 'fingerprint' | 'onStoreError'> {
  /**
   * The key space a request belongs to (a user, a tenant): the same key in two scopes is two
   * keys. Return `undefined` (or `''`) for the shared space. Default: one key space.
   */
  scope?: (request: Request, c: Context) => string | undefined | null | PromiseLike<string | undefined | null>;
  /**
   * What identifies "the same request" under one key; a different one is a 422. Default: the
   * method, the path (no query) and the canonical JSON of the body, read through Hono's body cache
   * (`c.req.text()` for JSON, text and URL-encoded forms, else `c.req.arrayBuffer()`), so handlers
   * read it with `c.req.json()`, `c.req.text()`, `c.req.parseBody()` or a validator, as usual (not
   * from `c.req.raw`, whose stream is then read).
   */
  fingerprint?: (request: Request, c: Context) => string | PromiseLike<string>;
  /** Called when storing or releasing a result fails after the handler ran. Default: nothing is logged. */
  onStoreError?: (error: unknown, request: Request, c: Context) => void;
}

/**
 * Hono middleware that makes mutations idempotent: the first request with an `Idempotency-Key`
 * runs the handler and its response is stored; a retry with the same key gets that response again
 * (`Idempotent-Replayed: true`) without running the handler. A retry while the first is running
 * gets 409 (or waits, with `concurrent: 'wait'`), one with the same key but a different request
 * 422. A handler that throws (its error reaches `app.onError`) releases the key.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { idempotency } from 'closed-loop/hono'
 *
 * const app = new Hono()
 * app.use('/api/*', idempotency({ scope: (_request, c) => c.req.header('x-user-id') }))
 * app.post('/api/orders', async (c) => {
 *   const order = await createOrder(await c.req.json()) // runs once per key
 *   return c.json(order, 201, { Location: `/api/orders/${order.id}` })
 * })
 * ```
 *
 * @param options - see {@link HonoIdempotencyOptions}
 * @returns the middleware
 */
export function idempotency(options: HonoIdempotencyOptions = {}): MiddlewareHandler {
  const { scope, fingerprint, onStoreError } = options;
  const adapter: WebAdapter<Context> = {
    rules: new HttpIdempotency<Context>(
      {
        ...options,
        scope: scope && ((c) => scope(c.req.raw, c)),
        fingerprint: fingerprint && ((c) => fingerprint(c.req.raw, c)),
        onStoreError: onStoreError && ((error, c) => onStoreError(error, c.req.raw, c)),
      },
      fingerprintCached,
    ),
    // Through c.body, so headers other middleware prepared (a request id) are on it.
    respond: (c, body, status, headers) =>
      body === null ? c.body(null, status as StatusCode, headers) : c.body(body as Uint8Array<ArrayBuffer>, status as ContentfulStatusCode, headers),
    requestId: (c) => {
      const id: unknown = c.get('requestId' as never);
      return typeof id === 'string' ? id : undefined;
    },
    failed: (c) => c.error !== undefined,
    // Set already, so the app's onError answer (through c.json and the like) carries it.
    passing: (c, error) => {
      if (error.retryAfterMs !== undefined) c.header('Retry-After', retryAfterSeconds(error.retryAfterMs));
    },
  };

  return async function idempotencyMiddleware(c, next) {
    let ran = false;
    const response = await guardWebRequest<Context>(adapter, c, c.req.raw, async () => {
      ran = true;
      await next();
      return c.res;
    });
    // A refusal or a replay: Hono sends what the middleware returns.
    if (!ran) return response;
    // The handler's response with its body captured on the way out replaces it (reset first, so
    // Hono does not copy the old response's headers onto it again).
    if (response !== c.res) {
      c.res = undefined;
      c.res = response;
    }
    return undefined;
  };
}

// Text that Hono's c.req.json(), c.req.text() and c.req.parseBody() read from its text cache.
const TEXTUAL = /json|^text\/|x-www-form-urlencoded/i;

/**
 * The default fingerprint, over the body read through Hono's cache, so the handler reads the same
 * body without reading the request again: as text when its type is textual (c.req.json() then
 * parses that text), else as bytes (text would not keep every byte of a binary body).
 */
async function fingerprintCached(c: Context): Promise<string> {
  const textual = TEXTUAL.test(c.req.header('content-type') ?? '');
  return fingerprintWebRequest(c.req.raw, textual ? await c.req.text() : await c.req.arrayBuffer());
}
