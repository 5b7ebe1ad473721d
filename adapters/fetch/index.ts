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
   * method, the path (no query) and the canonical JSON of the body, read once; the handler then
   * gets a request made again on those bytes (the same URL, method, headers and signal), or, for a
   * subclass of `Request` (`NextRequest`), the request itself with its body read from a clone. Either
   * way the handler reads its body as usual.
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
  const { scope, fingerprint, onStoreError } = options;
  const adapter: WebAdapter<FetchCall<R>> = {
    rules: new HttpIdempotency<FetchCall<R>>(
      {
        ...options,
        scope: scope && ((call) => scope(call.request)),
        fingerprint: fingerprint && ((call) => fingerprint(call.request)),
        onStoreError: onStoreError && ((error, call) => onStoreError(error, call.request)),
      },
      fingerprintOnce,
    ),
    respond: (_call, body, status, headers) => new Response(body as BodyInit | null, { status, headers: toHeadersInit(headers) }),
  };
  return (request, ...rest) => {
    const call: FetchCall<R> = { request, handed: request };
    return guardWebRequest(adapter, call, request, async () => handler(call.handed, ...rest));
  };
}

/** One call of the wrapped handler: the request it was given, and the one the handler gets. */
interface FetchCall<R extends Request> {
  readonly request: R;
  /** The request itself, or one made again on its body once the default fingerprint has read it. */
  handed: R;
}

/**
 * The default fingerprint. The body is read once: a plain `Request` (@hono/node-server's, Deno's,
 * Bun's) is read itself and the handler gets one made again on the same bytes, which costs
 * @hono/node-server far less than a clone (its lightweight request would become a full one, its
 * body stream teed). A subclass (`NextRequest`), one carrying properties of its own, or a Worker's
 * (its `cf`) reaches the handler as it is, and the fingerprint reads a clone.
 */
async function fingerprintOnce<R extends Request>(call: FetchCall<R>): Promise<string> {
  const request = call.request;
  const method = request.method;
  if (method === 'GET' || method === 'HEAD') return fingerprintWebRequest(request, undefined);
  if (!isPlainRequest(request)) return fingerprintWebRequest(request, await request.clone().arrayBuffer());
  const body = await request.arrayBuffer();
  call.handed = new Request(request.url, { method, headers: request.headers, body: body.byteLength === 0 ? null : body, signal: request.signal }) as R;
  return fingerprintWebRequest(request, body);
}

/** A request the handler can be given a copy of without losing anything but its identity. */
function isPlainRequest(request: Request): boolean {
  return request.constructor === Request && !('cf' in request) && Object.keys(request).length === 0;
}

/** Stored headers as a response's: the record itself, unless a header has several values. */
function toHeadersInit(record: Record<string, string | string[]>): HeadersInit {
  if (Object.values(record).every((value) => typeof value === 'string')) return record as Record<string, string>;
  return Object.entries(record).flatMap(([name, value]) => (typeof value === 'string' ? [[name, value]] : value.map((item) => [name, item]))) as [string, string][];
}
