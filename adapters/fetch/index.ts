/**
 * `closed-loop/fetch`: idempotent mutations for any server whose handlers take a web `Request` and
 * return a `Response`: Next.js route handlers, Remix and React Router actions, Cloudflare Workers,
 * Deno, Bun and `@hono/node-server`. The same rules, options and defaults as the Express
 * middleware, from the core's {@link closed-loop!HttpIdempotency HttpIdempotency}.
 *
 * @module closed-loop/fetch
 */

import { type HttpIdempotencyOptions, HttpIdempotency } from 'closed-loop';
import { type WebAdapter, fingerprintWebRequest, guardWebRequest } from './web-idempotency.js';

/**
 * Options of {@link withIdempotency}: those of every server adapter, with the web `Request` (or
 * your framework's subclass of it) as what `scope`, `fingerprint` and `onStoreError` get.
 */
export interface FetchIdempotencyOptions<R extends Request = Request> extends HttpIdempotencyOptions<R> {
  /**
   * What identifies "the same request" under one key; a different one is a 422. Default: the
   * method, the path (no query) and the canonical JSON of the body, read from a clone of the
   * request, so the handler reads its body as usual.
   */
  fingerprint?: (request: R) => string | PromiseLike<string>;
}

/**
 * Wraps a web handler, `(request, ...rest) => Response`, so that mutations are idempotent: the
 * first request with an `Idempotency-Key` runs the handler and its response is stored; a retry with
 * the same key gets that response again (`Idempotent-Replayed: true`) without running the handler.
 * A retry while the first is running gets 409 (or waits, with `concurrent: 'wait'`), one with the
 * same key but a different request 422. The wrapped handler has the same signature, extra
 * arguments (a route context, an env) passed on as they are.
 *
 * The response's body is read once, as it goes out to the client, and stored on the way (a stream
 * is streamed, not gathered first); a body over `maxResponseBytes` reaches the client whole and is
 * stored without it. A handler that throws, or whose body breaks off, releases the key.
 *
 * @example
 * ```ts
 * // app/api/orders/route.ts (Next.js)
 * import { withIdempotency } from 'closed-loop/fetch'
 *
 * export const POST = withIdempotency(async (request: Request) => {
 *   const order = await createOrder(await request.json()) // runs once per key
 *   return Response.json(order, { status: 201, headers: { Location: `/orders/${order.id}` } })
 * }, { store })
 * ```
 *
 * @param handler - the handler to guard
 * @param options - see {@link FetchIdempotencyOptions}
 * @returns the guarded handler
 */
export function withIdempotency<R extends Request, Rest extends unknown[]>(
  handler: (request: R, ...rest: Rest) => Response | Promise<Response>,
  options: FetchIdempotencyOptions<R> = {},
): (request: R, ...rest: Rest) => Promise<Response> {
  const adapter: WebAdapter<R> = {
    rules: new HttpIdempotency<R>(options, fingerprintCopy),
    respond: (_request, body, status, headers) => new Response(body as BodyInit | null, { status, headers: toHeaders(headers) }),
  };
  return (request, ...rest) => guardWebRequest(adapter, request, request, async () => handler(request, ...rest));
}

/** The default fingerprint, over a clone of the request, so its own body stays unread. */
async function fingerprintCopy(request: Request): Promise<string> {
  return fingerprintWebRequest(request, await request.clone().arrayBuffer());
}

/** Headers with list values as repeated entries. */
function toHeaders(record: Record<string, string | string[]>): Headers {
  const headers = new Headers();
  for (const name in record) {
    const value = record[name]!;
    if (typeof value === 'string') headers.append(name, value);
    else for (const item of value) headers.append(name, item);
  }
  return headers;
}
