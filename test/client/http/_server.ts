// Real Express apps over HTTP for the client tests, behind the real idempotency middleware, with
// every side effect counted; and a fetch wrapper that injects faults around the real fetch.
// Node only (it starts servers). Not a test file.
import express from 'express';
import { type IdempotencyStore, MemoryIdempotencyStore } from 'closed-loop';
import { cacheControl, createIdempotencyMiddleware, type IdempotencyMiddlewareOptions } from 'closed-loop/express';
import { listen } from '../../express/idempotency-harness.js';

/** Side effects applied by the apps, shared by every instance that gets the same ledger. */
export class Ledger {
  /** One entry per handler run that changed something: `${method} ${path} ${JSON body}`. */
  readonly effects: string[] = [];
  /** The idempotency key (or '-') of every request that reached an app, in order. */
  readonly keys: string[] = [];
  /** Requests that reached each app, by name. */
  readonly hits: Record<string, number> = {};
  /** GET /orders handler runs, and how many of them Express answered 304. */
  reads = 0;
  notModified = 0;
  /** What GET /orders lists; tests change it to change the ETag. */
  catalogue: unknown = ['apple'];

  count(effect: string): number {
    return this.effects.filter((e) => e === effect).length;
  }
}

/** An app instance on a free loopback port. */
export interface OrderApp {
  url: string;
  name: string;
  close(): Promise<void>;
}

/** Options of {@link startOrderApp}. */
export interface OrderAppOptions {
  name?: string;
  ledger?: Ledger;
  store?: IdempotencyStore;
  /** How long a mutation handler takes, in ms (real time). */
  handlerDelayMs?: number;
  middleware?: IdempotencyMiddlewareOptions;
}

/**
 * An app with `POST /orders`, `PUT|PATCH|DELETE /orders/:id` (idempotent, counted) and
 * `GET /orders` (with an ETag, and 304 when `If-None-Match` matches).
 */
export async function startOrderApp(options: OrderAppOptions = {}): Promise<OrderApp> {
  const name = options.name ?? 'app';
  const ledger = options.ledger ?? new Ledger();
  const app = express();
  let nextId = 1;
  app.use((req, _res, next) => {
    ledger.keys.push(req.get('idempotency-key') ?? '-');
    ledger.hits[name] = (ledger.hits[name] ?? 0) + 1;
    next();
  });
  app.use(express.json({ type: ['application/json', 'application/*+json'] }));
  app.use(
    createIdempotencyMiddleware({
      store: options.store ?? new MemoryIdempotencyStore(),
      methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
      ...options.middleware,
    }),
  );
  const slow = async () => {
    if (options.handlerDelayMs) await new Promise((resolve) => setTimeout(resolve, options.handlerDelayMs));
  };
  app.post('/orders', async (req, res) => {
    await slow();
    ledger.effects.push(`POST /orders ${JSON.stringify(req.body)}`);
    res.status(201).json({ id: nextId++, by: name, order: req.body });
  });
  // cacheControl answers 304 to a matching If-None-Match even with the `Cache-Control: no-cache`
  // that fetch adds to conditional requests (Express's own freshness check gives up on that).
  app.get('/orders', cacheControl('no_cache'), (req, res) => {
    ledger.reads++;
    res.on('finish', () => {
      if (res.statusCode === 304) ledger.notModified++;
    });
    res.json({ items: ledger.catalogue, auth: req.get('authorization') ?? null });
  });
  for (const method of ['put', 'patch', 'delete'] as const) {
    app[method]('/orders/:id', async (req, res) => {
      await slow();
      ledger.effects.push(`${method.toUpperCase()} /orders/${req.params.id} ${JSON.stringify(req.body ?? null)}`);
      res.json({ id: req.params.id, by: name });
    });
  }
  const running = await listen(app);
  return { url: running.url, name, close: running.close };
}

/** What the fault wrapper does to one request. */
export type Fault =
  /** Passed through. */
  | 'ok'
  /** Never sent: fetch fails as on a refused connection. */
  | 'refuse'
  /** Sent and answered (the handler ran), then the response is lost: fetch fails. */
  | 'drop-after'
  /** Never sent: a 503 from "a proxy". */
  | '503';

/** Wraps the real fetch: request number n (from 0) suffers `plan(n)`. Records every key it sees. */
export function faultyFetch(plan: (n: number, url: string) => Fault): { fetch: typeof fetch; seen: Array<{ url: string; key: string | null; fault: Fault }> } {
  const seen: Array<{ url: string; key: string | null; fault: Fault }> = [];
  const wrapped = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const fault = plan(seen.length, url);
    seen.push({ url, key: new Headers(init.headers).get('idempotency-key'), fault });
    if (fault === 'refuse') throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    if (fault === '503') return new Response('{"title":"unavailable"}', { status: 503, headers: { 'content-type': 'application/json' } });
    const response = await fetch(input, init);
    if (fault === 'drop-after') {
      await response.arrayBuffer();
      throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
    }
    return response;
  }) as typeof fetch;
  return { fetch: wrapped, seen };
}
