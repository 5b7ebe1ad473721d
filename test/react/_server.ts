// Global setup of the React browser projects (react19, react18): a page cannot start a Node server,
// so this starts an Express app on a free loopback port and provides its base URL to the tests as
// `inject('reactServerUrl')`. The page is on another origin, hence the CORS answers.
//
// /api/:name is the idempotency middleware (memory store) in front of a scripted handler, so that
// every test uses a name of its own and reads its own counts:
//   POST /control/script/:name   JSON [{ status: 503 } | { status: 201, body? } | { hold: true, status? } ...]:
//                                the answers of the next POSTs that reach the handler of /api/:name,
//                                in order; once the script is used up: 201 { ok: true, n }
//   POST /control/release/:name  answers every request held by a `hold` step of :name
//   GET  /control/stats/:name    { requests, effects, keys, replays, requestKeys }: `requests` counts
//                                every POST to /api/:name (replays and 409s from the middleware
//                                included), `effects` the 2xx answers of the handler, `keys` the key
//                                of each effect in order, `replays` the answers the middleware
//                                replayed, `requestKeys` the key of every request in order
//   GET  /api/:name              the `keys` list of :name (a collection a query can read)
// Realtime, for the hooks' test: GET /events is realtimeSse(service); POST /control/publish/:topic
// publishes its JSON body (a record) on that service.
import http from 'node:http';
import express, { type Request, type Response } from 'express';
import type { TestProject } from 'vitest/node';
import { RealtimeSyncService } from 'closed-loop';
import { createIdempotencyMiddleware, realtimeSse } from 'closed-loop/express';
import { listenOnLoopback } from '../support/listen.js';

declare module 'vitest' {
  export interface ProvidedContext {
    reactServerUrl: string;
  }
}

/** One scripted answer of /api/:name. */
interface Step {
  status?: number;
  body?: unknown;
  hold?: boolean;
}

/** What the server keeps for one route name. */
interface Route {
  script: Step[];
  requests: number;
  effects: number;
  keys: string[];
  replays: number;
  requestKeys: Array<string | null>;
  /** Answers a held request; each is called once by /control/release/:name. */
  held: Array<() => void>;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const routes = new Map<string, Route>();
  const route = (name: string): Route => {
    let r = routes.get(name);
    if (r === undefined) {
      r = { script: [], requests: 0, effects: 0, keys: [], replays: 0, requestKeys: [], held: [] };
      routes.set(name, r);
    }
    return r;
  };

  const service = new RealtimeSyncService();
  const events = realtimeSse(service);

  const app = express();
  app.use((req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Idempotency-Key, Authorization, Last-Event-ID');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
    res.setHeader('Access-Control-Expose-Headers', 'Idempotent-Replayed, Retry-After, ETag');
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  });
  // Text too: a string body (the optimistic-list test sends one) is text/plain, and the idempotency
  // middleware refuses a keyed body that no parser has read.
  app.use(express.json(), express.text());

  // Counts every POST to /api/:name, before the idempotency middleware may answer it itself.
  app.post('/api/:name', (req, res, next) => {
    const r = route(req.params.name);
    r.requests++;
    r.requestKeys.push(req.get('Idempotency-Key') ?? null);
    res.on('close', () => {
      if (res.getHeader('Idempotent-Replayed') === 'true') r.replays++;
    });
    next();
  });
  // The list a GET reads (for the TanStack Query recipe): the key of every effect of :name.
  app.get('/api/:name', (req, res) => {
    res.json(route(req.params.name).keys);
  });
  app.use('/api', createIdempotencyMiddleware());
  app.post('/api/:name', (req: Request<{ name: string }>, res: Response) => {
    const r = route(req.params.name);
    const step: Step = r.script.shift() ?? { status: 201 };
    const key = req.get('Idempotency-Key');
    const answer = (): void => {
      const status = step.status ?? 201;
      if (status >= 200 && status < 300) {
        r.effects++;
        if (key !== undefined) r.keys.push(key);
        res.status(status).json(step.body ?? { ok: true, n: r.effects });
      } else if (status >= 500) {
        res.status(status).json({ error: 'scripted server error' });
      } else {
        res.status(status).json({ error: 'scripted client error' });
      }
    };
    if (step.hold === true) r.held.push(answer);
    else answer();
  });

  app.post('/control/script/:name', (req, res) => {
    const r = route(req.params.name);
    r.script = Array.isArray(req.body) ? (req.body as Step[]) : [];
    res.status(204).end();
  });
  app.post('/control/release/:name', (req, res) => {
    const r = route(req.params.name);
    const held = r.held;
    r.held = [];
    for (const answer of held) answer();
    res.json({ released: held.length });
  });
  app.get('/control/stats/:name', (req, res) => {
    const { requests, effects, keys, replays, requestKeys } = route(req.params.name);
    res.json({ requests, effects, keys, replays, requestKeys });
  });
  app.get('/events', events);
  app.post('/control/publish/:topic', (req, res) => {
    const event = service.publish(req.params.topic, req.body as Record<string, unknown>);
    res.json({ eventId: event.eventId });
  });

  const server = http.createServer(app);
  project.provide('reactServerUrl', await listenOnLoopback(server));

  return async () => {
    for (const r of routes.values()) for (const answer of r.held.splice(0)) answer();
    events.close();
    await service.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
