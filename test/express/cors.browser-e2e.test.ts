// cors() as a browser meets it: Debian's Chromium opens a page served from one loopback port, and
// the page's own closed-loop client (the built core, bundled for the browser) calls an Express API on
// another port, so every call is cross-origin and the browser enforces CORS. With cors() the page
// sees what the API says: a repeated POST comes back `replayed: true`, a 503's `Retry-After: 1` is
// waited out, and a GET is revalidated with its ETag (`fromCache: true` on the 304). The control is
// the same API with cors()'s Access-Control-Expose-Headers taken away: the server still replays, but
// the page cannot see it, nor the Retry-After, nor the ETag. So a missing expose list fails here.
//
// A Node-project test: it starts the servers and drives Chromium with Playwright itself.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cacheControl, cors, createIdempotencyMiddleware, requestId } from 'closed-loop/express';
import { serve, type Served } from './_extras.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

// The page: the client under test, and the three scenarios it runs against the API it is given.
const PAGE_SCRIPT = `
import { createIdempotencyKey, createSyncClient } from '/closed-loop.js';

// A short backoff, so that a wait of a whole second can only be the server's Retry-After.
const clientFor = (apiUrl) =>
  createSyncClient({ baseUrl: apiUrl, retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 100 }, breaker: false });
const seen = (r) => ({
  status: r.status,
  data: r.data,
  replayed: r.replayed,
  fromCache: r.fromCache,
  requestId: r.headers['x-request-id'] ?? null,
  location: r.headers['location'] ?? null,
});

window.scenarios = {
  async order(apiUrl) {
    const client = clientFor(apiUrl);
    const idempotencyKey = createIdempotencyKey();
    const first = await client.post('/orders', { sku: 'A1' }, { idempotencyKey });
    const again = await client.post('/orders', { sku: 'A1' }, { idempotencyKey });
    return { first: seen(first), again: seen(again) };
  },
  async flaky(apiUrl, id) {
    const client = clientFor(apiUrl);
    const attempts = [];
    const result = await client.get('/flaky/' + id, { onAttempt: (attempt) => attempts.push(attempt) });
    return { result: seen(result), attempts };
  },
  async products(apiUrl) {
    const client = clientFor(apiUrl);
    const first = await client.get('/products');
    const second = await client.get('/products');
    return { first: seen(first), second: seen(second) };
  },
};
document.title = 'ready';
`;

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>loading</title></head>
<body><p>closed-loop cross-origin page</p><script type="module" src="/page.js"></script></body></html>`;

/** What one API saw. */
interface ApiLog {
  orderRuns: number;
  /** The Idempotent-Replayed header of each POST /orders answer, as the server sent it. */
  orderReplayed: Array<string | undefined>;
  /** Arrival times (ms) of each GET /flaky/:id. */
  flaky: Map<string, number[]>;
  /** The If-None-Match of each GET /products that reached the route or the ETag check. */
  productIfNoneMatch: Array<string | undefined>;
  productStatuses: number[];
}

/** The API: cors() for the page's origin, then the idempotency middleware and three routes. */
async function startApi(pageOrigin: string, { withoutExposeList = false } = {}): Promise<{ served: Served; log: ApiLog }> {
  const log: ApiLog = { orderRuns: 0, orderReplayed: [], flaky: new Map(), productIfNoneMatch: [], productStatuses: [] };
  const app = express();
  app.use(cors({ origin: pageOrigin }));
  if (withoutExposeList) {
    // The control: everything cors() does except the list of headers the page may read.
    app.use((_req, res, next) => {
      res.removeHeader('Access-Control-Expose-Headers');
      next();
    });
  }
  app.use(requestId());
  app.use('/orders', (req, res, next) => {
    if (req.method === 'POST') res.on('finish', () => log.orderReplayed.push(res.getHeader('idempotent-replayed') as string | undefined));
    next();
  });
  app.use(express.json());
  app.use(createIdempotencyMiddleware());
  app.post('/orders', (req, res) => {
    log.orderRuns++;
    res.status(201).location(`/orders/${log.orderRuns}`).json({ id: log.orderRuns, sku: (req.body as { sku?: string }).sku });
  });
  app.get('/flaky/:id', (req, res) => {
    const times = log.flaky.get(req.params.id) ?? [];
    times.push(performance.now());
    log.flaky.set(req.params.id, times);
    res.set('Cache-Control', 'no-store');
    if (times.length === 1) res.status(503).set('Retry-After', '1').json({ error: 'busy' });
    else res.json({ ok: true, attempt: times.length });
  });
  app.get(
    '/products',
    (req, res, next) => {
      log.productIfNoneMatch.push(req.get('if-none-match'));
      res.on('finish', () => log.productStatuses.push(res.statusCode));
      next();
    },
    cacheControl('api_short'),
    (_req, res) => {
      res.json([{ sku: 'A1', name: 'Anvil' }]);
    },
  );
  return { served: await serve(app), log };
}

let browser: Browser;
let pageServer: Served;
let pageOrigin: string;

beforeAll(async () => {
  // The built core (`npm run build` runs before the tests), bundled with its dependencies for the
  // browser; the sources when there is no build.
  const built = `${root}dist/index.js`;
  const bundle = await build({
    entryPoints: [existsSync(built) ? built : `${root}src/index.ts`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const core = bundle.outputFiles[0]!.text;
  const app = express();
  app.get('/', (_req, res) => void res.type('html').send(PAGE_HTML));
  app.get('/page.js', (_req, res) => void res.type('text/javascript').send(PAGE_SCRIPT));
  app.get('/closed-loop.js', (_req, res) => void res.type('text/javascript').send(core));
  pageServer = await serve(app);
  pageOrigin = pageServer.url;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await pageServer?.close();
});

/** A fresh page (its own HTTP cache) on the page origin, with the client loaded. */
async function openPage(): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(pageOrigin);
  await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 20_000 });
  return { page, errors, close: () => context.close() };
}

const run = <T>(page: Page, scenario: string, ...args: unknown[]): Promise<T> =>
  page.evaluate<T>(`window.scenarios.${scenario}(${args.map((a) => JSON.stringify(a)).join(', ')})`);

interface Seen {
  status: number;
  data: unknown;
  replayed: boolean;
  fromCache: boolean;
  requestId: string | null;
  location: string | null;
}

describe.each([
  ['with cors()', false],
  ["control: cors() without its expose list", true],
] as const)('a page on another origin calls the API, %s', (_label, withoutExposeList) => {
  let api: { served: Served; log: ApiLog };
  let tab: Awaited<ReturnType<typeof openPage>>;
  const exposed = !withoutExposeList;

  beforeAll(async () => {
    api = await startApi(pageOrigin, { withoutExposeList });
    expect(new URL(api.served.url).origin).not.toBe(pageOrigin);
    tab = await openPage();
  }, 60_000);

  afterAll(async () => {
    await tab?.close();
    await api?.served.close();
    expect(tab?.errors ?? []).toEqual([]);
  });

  test('a POST repeated with the same key: the handler runs once, and the page sees the replay', async () => {
    const { first, again } = await run<{ first: Seen; again: Seen }>(tab.page, 'order', api.served.url);
    expect(first).toMatchObject({ status: 201, data: { id: 1, sku: 'A1' }, replayed: false });
    expect(again).toMatchObject({ status: 201, data: { id: 1, sku: 'A1' } });
    // The server replayed both times; whether the page can tell is what the expose list decides.
    expect(api.log.orderRuns).toBe(1);
    expect(api.log.orderReplayed).toEqual([undefined, 'true']);
    expect(again.replayed).toBe(exposed);
    expect(first.location).toBe(exposed ? '/orders/1' : null);
    expect(first.requestId === null).toBe(!exposed);
  });

  test("a 503 with Retry-After: 1 is waited out before the retry", async () => {
    const { result, attempts } = await run<{ result: Seen; attempts: number[] }>(tab.page, 'flaky', api.served.url, 'a');
    expect(result).toMatchObject({ status: 200, data: { ok: true, attempt: 2 } });
    expect(attempts).toEqual([1, 2]);
    const [first, second] = api.log.flaky.get('a')!;
    const gap = second! - first!;
    if (exposed) expect(gap).toBeGreaterThanOrEqual(950);
    // Without it the client cannot read Retry-After and retries after its own short backoff.
    else expect(gap).toBeLessThan(900);
  });

  test('a GET is revalidated with its ETag: the server sees If-None-Match and the page gets its data from cache', async () => {
    const { first, second } = await run<{ first: Seen; second: Seen }>(tab.page, 'products', api.served.url);
    const products = [{ sku: 'A1', name: 'Anvil' }];
    expect(first).toMatchObject({ status: 200, data: products, fromCache: false });
    expect(second.data).toEqual(products);
    if (exposed) {
      expect(second.fromCache).toBe(true);
      expect(api.log.productIfNoneMatch).toHaveLength(2);
      expect(api.log.productIfNoneMatch[0]).toBeUndefined();
      expect(api.log.productIfNoneMatch[1]).toMatch(/^"/);
      expect(api.log.productStatuses).toEqual([200, 304]);
    } else {
      // The page never saw the ETag, so it never revalidates with one.
      expect(second.fromCache).toBe(false);
      expect(api.log.productIfNoneMatch.every((value) => value === undefined)).toBe(true);
    }
  });
});
