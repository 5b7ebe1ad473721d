// The behaviour suite's routes as one fetch handler wrapped by withIdempotency(), served with
// @hono/node-server's serve({ fetch }). Not a test file.
import { type FetchIdempotencyOptions, withIdempotency } from 'closed-loop/fetch';
import { pause } from '../express/idempotency-harness.js';
import type { GuardOptions, Route, RouteHandler, ServerUnderTest } from '../express/server-under-test.js';
import { commonOptions, errorResponse, replyResponse, routeRequest, serveFetch } from './web-harness.js';

type FetchHandler = (request: Request) => Response | Promise<Response>;

/** The guard's options as withIdempotency takes them. */
function fetchOptions(guard: GuardOptions): FetchIdempotencyOptions {
  const { scopeHeader, onStoreError } = guard;
  return {
    ...commonOptions(guard),
    ...(scopeHeader && { scope: (request: Request) => request.headers.get(scopeHeader) }),
    ...(onStoreError && { onStoreError: (error: unknown) => onStoreError(error) }),
  };
}

/** A server-neutral handler as a fetch handler. */
function fetchHandler(handle: RouteHandler): FetchHandler {
  return async (request) => replyResponse(await handle(routeRequest(request, await request.text())));
}

/** Routes by method and path; 404 for anything else. */
function dispatch(routes: Route[]): FetchHandler {
  const handlers = routes.map((route) => ({ route, handler: (route.native as FetchHandler | undefined) ?? fetchHandler(route.handle!) }));
  return (request) => {
    const path = new URL(request.url).pathname;
    const found = handlers.find(({ route }) => route.method === request.method && route.path === path);
    return found ? found.handler(request) : new Response('not found', { status: 404 });
  };
}

const encoder = new TextEncoder();
const bytes = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));

/** Every way a fetch handler answers. */
const sendPaths: Array<[string, FetchHandler]> = [
  ['Response.json', () => Response.json({ id: 1, note: '\u00fc\u2713' }, { status: 201, headers: { Location: '/orders/1' } })],
  ['new Response(text)', () => new Response('<p>h\u00e9llo</p>', { headers: { 'Content-Type': 'text/html; charset=utf-8' } })],
  ['new Response(bytes)', () => new Response(bytes, { status: 201 })],
  // Valid UTF-8 bytes are stored as text: the BOM and every byte must come back as they were.
  ['new Response(bytes) of UTF-8 text with a BOM', () => new Response(encoder.encode('\ufeffb\u00f6m \u2713\r\n'), { status: 201, headers: { 'Content-Type': 'text/plain' } })],
  ['a Blob body', () => new Response(new Blob(['blob \u2713'], { type: 'text/plain' }), { status: 200 })],
  ['a URLSearchParams body', () => new Response(new URLSearchParams({ a: '1', b: '\u2713' }), { status: 200 })],
  ['an empty 201', () => new Response(null, { status: 201, headers: { Location: '/orders/9' } })],
  ['an empty 204', () => new Response(null, { status: 204 })],
  [
    'a ReadableStream body written over several ticks',
    () => {
      const parts = ['{"n":1}\n', '{"n":2}\n', '{"n":3}\n', '{"n":4}\n'];
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await pause(5);
          const part = parts.shift();
          if (part === undefined) controller.close();
          else controller.enqueue(encoder.encode(part));
        },
      });
      return new Response(body, { status: 201, headers: { 'Content-Type': 'application/x-ndjson' } });
    },
  ],
  [
    'every allow-listed header',
    () =>
      new Response('with headers', {
        headers: {
          'Content-Type': 'text/plain',
          Location: '/a/1',
          'Content-Location': '/a/1/v/1',
          ETag: '"abc"',
          'Last-Modified': 'Wed, 01 Jan 2020 00:00:00 GMT',
        },
      }),
  ],
];

/** withIdempotency() on @hono/node-server's serve({ fetch }). */
export function fetchServer(): ServerUnderTest {
  return {
    name: 'withIdempotency on serve({ fetch })',
    sendPaths,
    // A thrown IdempotencyError carries no headers: the app's own handler answers it.
    retryAfterOnNext: false,
    serve(guard, routes, extras = {}) {
      const routed = dispatch(routes);
      const handler = guard ? withIdempotency(routed, fetchOptions(guard)) : routed;
      const app: FetchHandler = extras.errorHandler
        ? async (request) => {
            try {
              return await handler(request);
            } catch (error) {
              return errorResponse(error);
            }
          }
        : handler;
      return serveFetch(app);
    },
    serveMounted(guard, handle) {
      return serveFetch(withIdempotency(dispatch([{ method: 'POST', path: '/v1/orders', handle }, { method: 'POST', path: '/v2/orders', handle }]), fetchOptions(guard)));
    },
  };
}
