// The behaviour suite's routes on Express (5 or 4): express.json(), createIdempotencyMiddleware(),
// the routes. Not a test file.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { isIdempotencyError } from 'closed-loop';
import { type IdempotencyMiddlewareOptions, createIdempotencyMiddleware } from 'closed-loop/express';
import { listen, pause } from './idempotency-harness.js';
import type { GuardOptions, RouteHandler, RouteReply, RouteRequest, ServerUnderTest } from './server-under-test.js';

/** The guard's options as the Express middleware takes them. */
export function expressOptions(guard: GuardOptions): IdempotencyMiddlewareOptions {
  const { scopeHeader, onStoreError, ...rest } = guard;
  return {
    ...rest,
    ...(scopeHeader && { scope: (req: Request) => req.get(scopeHeader) }),
    ...(onStoreError && { onStoreError: (error: unknown) => onStoreError(error) }),
  };
}

/** A server-neutral handler as an Express handler: a throw or a rejection goes to next(err). */
function expressHandler(handle: RouteHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const request: RouteRequest = {
      body: req.body,
      path: req.baseUrl + req.path,
      header: (name) => req.get(name),
      disconnected: () => new Promise((resolve) => res.once('close', () => resolve())),
    };
    let reply: RouteReply | Promise<RouteReply>;
    try {
      reply = handle(request);
    } catch (error) {
      next(error);
      return;
    }
    Promise.resolve(reply).then((r) => sendReply(res, r), next);
  };
}

async function sendReply(res: Response, reply: RouteReply): Promise<void> {
  for (const [name, value] of Object.entries(reply.cookies ?? {})) res.cookie(name, value);
  if (reply.headers) res.set(reply.headers);
  res.status(reply.status);
  if (reply.json !== undefined) res.json(reply.json);
  else if (reply.text !== undefined) res.send(reply.text);
  else if (reply.bytes !== undefined) res.send(Buffer.from(reply.bytes));
  else if (reply.chunks !== undefined) {
    for (const chunk of reply.chunks) {
      await pause(1);
      res.write(chunk);
    }
    res.end();
  } else res.end();
}

const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Every way Express sends a response. */
const sendPaths: Array<[string, RequestHandler]> = [
  ['res.json', (_req, res) => void res.status(201).location('/orders/1').json({ id: 1, note: '\u00fc\u2713' })],
  ['res.send(string)', (_req, res) => void res.status(200).send('<p>h\u00e9llo</p>')],
  ['res.send(Buffer)', (_req, res) => void res.status(201).send(bytes)],
  // Valid UTF-8 bytes are stored as text: the BOM and every byte must come back as they were.
  ['res.send(Buffer) of UTF-8 text with a BOM', (_req, res) => void res.status(201).type('text/plain').send(Buffer.from('\ufeffb\u00f6m \u2713\r\n', 'utf8'))],
  ['res.send(object)', (_req, res) => void res.status(202).send({ a: [1, 2, { b: null }] })],
  [
    'res.end(string)',
    (_req, res) => {
      res.statusCode = 201;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('ended \u2713');
    },
  ],
  ['res.end(Buffer) without a content type', (_req, res) => void res.status(200).end(bytes)],
  ['res.sendStatus', (_req, res) => void res.sendStatus(202)],
  ['an empty 201', (_req, res) => void res.status(201).location('/orders/9').end()],
  ['an empty 204', (_req, res) => void res.status(204).end()],
  ['res.sendStatus(204)', (_req, res) => void res.sendStatus(204)],
  [
    'res.write stream',
    async (_req, res) => {
      res.status(201).type('application/x-ndjson');
      res.write('{"n":1}\n');
      await pause(5);
      res.write(Buffer.from('{"n":2}\n'));
      res.write('7b226e223a337d0a', 'hex');
      await pause(5);
      res.end('{"n":4}\n');
    },
  ],
  [
    'res.writeHead with headers',
    (_req, res) => {
      res.writeHead(201, { 'Content-Type': 'application/json', Location: '/w/1', ETag: '"v1"' });
      res.end('{"ok":true}');
    },
  ],
  [
    'res.set with every allow-listed header',
    (_req, res) => {
      res.set({
        Location: '/a/1',
        'Content-Location': '/a/1/v/1',
        ETag: '"abc"',
        'Last-Modified': 'Wed, 01 Jan 2020 00:00:00 GMT',
      });
      res.status(200).type('text/plain').send('with headers');
    },
  ],
];

/** Express 5 or 4 as a server under test. */
export function expressServer(name: string, express: typeof import('express')): ServerUnderTest {
  return {
    name,
    sendPaths,
    retryAfterOnNext: true,
    async serve(guard, routes, extras = {}) {
      const app = express();
      app.use(express.json());
      if (guard) app.use(createIdempotencyMiddleware(expressOptions(guard)));
      for (const route of routes) {
        const handler = route.native !== undefined ? (route.native as RequestHandler) : expressHandler(route.handle!);
        app[route.method.toLowerCase() as 'post' | 'get' | 'put' | 'delete'](route.path, handler);
      }
      if (extras.errorHandler) {
        app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
          const status = isIdempotencyError(err) ? err.status : 500;
          res.status(status).json({ handled: isIdempotencyError(err) ? err.code : 'other' });
        });
      }
      return listen(app);
    },
    async serveMounted(guard, handle) {
      const app = express();
      app.use(express.json());
      const router = express.Router();
      router.use(createIdempotencyMiddleware(expressOptions(guard)));
      router.post('/orders', expressHandler(handle));
      app.use('/v1', router);
      app.use('/v2', router);
      return listen(app);
    },
  };
}
