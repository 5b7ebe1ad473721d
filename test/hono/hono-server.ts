// The behaviour suite's routes on a Hono app with the idempotency middleware, served with
// @hono/node-server. Not a test file.
import { Hono, type Context, type Handler } from 'hono';
import { stream } from 'hono/streaming';
import { isIdempotencyError } from 'closed-loop';
import { type HonoIdempotencyOptions, idempotency } from 'closed-loop/hono';
import type { GuardOptions, RouteHandler, ServerUnderTest } from '../express/server-under-test.js';
import { commonOptions, replyResponse, routeRequest, serveFetch } from '../fetch/web-harness.js';

/** The guard's options as the Hono middleware takes them. */
function honoOptions(guard: GuardOptions): HonoIdempotencyOptions {
  const { scopeHeader, onStoreError } = guard;
  return {
    ...commonOptions(guard),
    ...(scopeHeader && { scope: (_request: Request, c: Context) => c.req.header(scopeHeader) }),
    ...(onStoreError && { onStoreError: (error: unknown) => onStoreError(error) }),
  };
}

/** A server-neutral handler as a Hono handler (the body read through Hono's cache). */
function honoHandler(handle: RouteHandler): Handler {
  return async (c) => replyResponse(await handle(routeRequest(c.req.raw, await c.req.text())));
}

/** A Hono app with the routes' error answers: quiet 500s, or the suite's `{ handled }` answers. */
function app(errorHandler: boolean): Hono {
  const hono = new Hono();
  hono.onError((error, c) =>
    errorHandler
      ? c.json({ handled: isIdempotencyError(error) ? error.code : 'other' }, isIdempotencyError(error) ? (error.status as 400) : 500)
      : c.text('Internal Server Error', 500),
  );
  return hono;
}

const encoder = new TextEncoder();
const bytes = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));

/** Every way a Hono handler answers. */
const sendPaths: Array<[string, Handler]> = [
  ['c.json', (c) => c.json({ id: 1, note: '\u00fc\u2713' }, 201, { Location: '/orders/1' })],
  ['c.text', (c) => c.text('h\u00e9llo \u2713')],
  ['c.html', (c) => c.html('<p>h\u00e9llo</p>')],
  ['c.body(bytes)', (c) => c.body(bytes, 201)],
  // Valid UTF-8 bytes are stored as text: the BOM and every byte must come back as they were.
  ['c.body(bytes) of UTF-8 text with a BOM', (c) => c.body(encoder.encode('\ufeffb\u00f6m \u2713\r\n'), 201, { 'Content-Type': 'text/plain' })],
  ['an empty 201', (c) => c.body(null, 201, { Location: '/orders/9' })],
  ['an empty 204', (c) => c.body(null, 204)],
  [
    'c.status and c.header, then c.text',
    (c) => {
      c.status(200);
      c.header('Location', '/a/1');
      c.header('Content-Location', '/a/1/v/1');
      c.header('ETag', '"abc"');
      c.header('Last-Modified', 'Wed, 01 Jan 2020 00:00:00 GMT');
      return c.text('with headers');
    },
  ],
  [
    'a stream from hono/streaming',
    (c) => {
      c.status(201);
      c.header('Content-Type', 'application/x-ndjson');
      return stream(c, async (s) => {
        await s.write('{"n":1}\n');
        await s.sleep(5);
        await s.write(encoder.encode('{"n":2}\n'));
        await s.sleep(5);
        await s.write('{"n":3}\n');
      });
    },
  ],
  ['a web Response returned as it is', () => new Response('plain', { status: 202, headers: { 'Content-Type': 'text/plain', ETag: '"p"' } })],
];

/** Hono with idempotency() on @hono/node-server. */
export function honoServer(): ServerUnderTest {
  return {
    name: 'Hono on @hono/node-server',
    sendPaths,
    retryAfterOnNext: true,
    serve(guard, routes, extras = {}) {
      const hono = app(extras.errorHandler ?? false);
      if (guard) hono.use('*', idempotency(honoOptions(guard)));
      for (const route of routes) hono.on(route.method, route.path, (route.native as Handler | undefined) ?? honoHandler(route.handle!));
      return serveFetch(hono.fetch);
    },
    serveMounted(guard, handle) {
      const sub = new Hono();
      sub.use('*', idempotency(honoOptions(guard)));
      sub.post('/orders', honoHandler(handle));
      const hono = app(false);
      hono.route('/v1', sub);
      hono.route('/v2', sub);
      return serveFetch(hono.fetch);
    },
  };
}
