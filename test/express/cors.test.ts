// cors() over real HTTP (Node's fetch sends the Origin and preflight headers a browser would) on
// Express 5 and 4: preflights, the headers on ordinary answers, every form of `origin`, Vary,
// credentials, and bad options refused at creation. The browser's side (a page on another origin
// reading what is exposed) is cors.browser-e2e.test.ts.
import type { Express } from 'express';
import { afterEach, describe, expect, test } from 'vitest';
import { createIdempotencyKey } from 'closed-loop';
import { cors, createIdempotencyMiddleware, type CorsOptions } from 'closed-loop/express';
import { EXPRESS_VERSIONS, serve, type Served } from './_extras.js';

const PAGE = 'https://shop.example.com';
const OTHER = 'https://evil.example.net';

const DEFAULT_ALLOW = 'Content-Type, Authorization, Idempotency-Key, X-Idempotency-Key, X-Request-ID, If-None-Match, Last-Event-ID';
const DEFAULT_EXPOSE = 'Idempotent-Replayed, Idempotent-Body-Omitted, Retry-After, ETag, X-Request-ID, Location';

const preflight = (url: string, origin: string | undefined, method = 'POST', headers = 'content-type, idempotency-key') =>
  fetch(`${url}/orders`, {
    method: 'OPTIONS',
    headers: {
      ...(origin === undefined ? {} : { Origin: origin }),
      'Access-Control-Request-Method': method,
      'Access-Control-Request-Headers': headers,
    },
  });

describe('cors() options', () => {
  test('bad options are a TypeError at creation', () => {
    const bad: unknown[] = [
      { credentials: true },
      { origin: '*', credentials: true },
      { credentials: 'yes' },
      { origin: 'shop.example.com' },
      { origin: 'https://shop.example.com/app' },
      { origin: 'https://shop.example.com?x=1' },
      { origin: 'null' },
      { origin: [] },
      { origin: [PAGE, 42] },
      { origin: ['*'] },
      { origin: 42 },
      { methods: [] },
      { methods: 'GET' },
      { methods: ['GET POST'] },
      { allowHeaders: ['X-Ok', 'bad header'] },
      { allowHeaders: 'X-Tenant' },
      { exposeHeaders: [''] },
      { exposeHeaders: ['X-Ok', 7] },
      { maxAge: -1 },
      { maxAge: 1.5 },
      { maxAge: '600' },
      // Names of the `cors` npm package: a typo or a habit, refused rather than ignored.
      { exposedHeaders: ['X-Total'] },
      { allowedHeaders: ['X-Tenant'] },
    ];
    for (const options of bad) expect(() => cors(options as CorsOptions), JSON.stringify(options)).toThrow(TypeError);
    expect(() => cors(null as unknown as CorsOptions)).toThrow(TypeError);
  });

  test('good options are accepted', () => {
    expect(() => cors()).not.toThrow();
    expect(() => cors({ origin: PAGE, credentials: true, maxAge: 0 })).not.toThrow();
    expect(() => cors({ origin: [PAGE, /\.example\.org$/], methods: ['get', 'post'] })).not.toThrow();
    expect(() => cors({ origin: () => true, allowHeaders: ['X-Tenant'], exposeHeaders: ['X-Total-Count'] })).not.toThrow();
  });
});

describe.each(EXPRESS_VERSIONS)('cors() on %s', (_name, express) => {
  let served: Served | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });

  /** An API with cors() first: GET and POST /orders (idempotent), counting the route's runs. */
  async function start(options?: CorsOptions, more?: (app: Express) => void) {
    const runs = { count: 0 };
    const app = express();
    app.use(cors(options));
    app.use(express.json());
    app.use(createIdempotencyMiddleware());
    more?.(app);
    app.get('/orders', (_req, res) => {
      runs.count++;
      res.json([]);
    });
    app.post('/orders', (req, res) => {
      runs.count++;
      res.status(201).location('/orders/1').json({ id: 1, ...req.body });
    });
    served = await serve(app);
    return { url: served.url, runs };
  }

  test('a preflight is answered with 204 and the allowed methods, headers and max age; the route does not run', async () => {
    const { url, runs } = await start();
    const r = await preflight(url, PAGE);
    expect(r.status).toBe(204);
    expect(await r.text()).toBe('');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-allow-methods')).toBe('GET, HEAD, POST, PUT, PATCH, DELETE');
    expect(r.headers.get('access-control-allow-headers')).toBe(DEFAULT_ALLOW);
    expect(r.headers.get('access-control-max-age')).toBe('600');
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
    expect(runs.count).toBe(0);
  });

  test('methods, allowHeaders and maxAge change the preflight answer; additions keep the defaults', async () => {
    const { url } = await start({ methods: ['get', 'post'], allowHeaders: ['X-Tenant', 'content-type'], maxAge: 60 });
    const r = await preflight(url, PAGE, 'POST', 'x-tenant');
    expect(r.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(r.headers.get('access-control-allow-headers')).toBe(`${DEFAULT_ALLOW}, X-Tenant`);
    expect(r.headers.get('access-control-max-age')).toBe('60');
  });

  test('an ordinary answer carries the allowed origin and the exposed headers; replays and refusals too', async () => {
    const { url, runs } = await start({ exposeHeaders: ['X-Total-Count'] });
    const key = createIdempotencyKey();
    const post = () =>
      fetch(`${url}/orders`, {
        method: 'POST',
        headers: { Origin: PAGE, 'Content-Type': 'application/json', 'Idempotency-Key': key },
        body: JSON.stringify({ sku: 'A1' }),
      });
    for (const r of [await post(), await post()]) {
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      expect(r.headers.get('access-control-expose-headers')).toBe(`${DEFAULT_EXPOSE}, X-Total-Count`);
      expect(r.headers.get('access-control-allow-methods')).toBeNull();
      expect(r.headers.get('vary')).toBeNull();
    }
    expect(runs.count).toBe(1);
    const refused = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { Origin: PAGE, 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({ sku: 'other' }),
    });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(refused.headers.get('access-control-expose-headers')).toContain('Retry-After');
  });

  test('an OPTIONS request without Access-Control-Request-Method is not a preflight: it reaches the app', async () => {
    const { url } = await start(undefined, (app) => app.options('/orders', (_req, res) => void res.status(200).send('mine')));
    const r = await fetch(`${url}/orders`, { method: 'OPTIONS', headers: { Origin: PAGE } });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('mine');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
  });

  const forms: Array<[string, CorsOptions['origin']]> = [
    ['one origin', PAGE],
    ['one origin, written loosely', 'HTTPS://Shop.Example.com:443/'],
    ['a list', ['https://admin.example.com', PAGE]],
    ['a RegExp', /^https:\/\/[a-z]+\.example\.com$/],
    ['a global RegExp (no lastIndex carried between requests)', /^https:\/\/shop\.example\.com$/g],
    ['a list with a RegExp', ['https://admin.example.com', /^https:\/\/shop\./]],
    ['a function', (origin: string) => origin.endsWith('.example.com')],
  ];

  test.each(forms)('origin as %s: an allowed origin is echoed with Vary: Origin; another gets no CORS headers but reaches the route', async (_form, origin) => {
    const { url, runs } = await start({ origin });
    for (let i = 0; i < 2; i++) {
      const ok = await fetch(`${url}/orders`, { headers: { Origin: PAGE } });
      expect(ok.headers.get('access-control-allow-origin')).toBe(PAGE);
      expect(ok.headers.get('vary')).toMatch(/\bOrigin\b/);
      expect(ok.headers.get('access-control-expose-headers')).toBe(DEFAULT_EXPOSE);
      const pre = await preflight(url, PAGE);
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe(PAGE);
      expect(pre.headers.get('vary')).toMatch(/\bOrigin\b/);
    }
    expect(runs.count).toBe(2);

    const blocked = await fetch(`${url}/orders`, { headers: { Origin: OTHER } });
    expect(blocked.status).toBe(200);
    expect(runs.count).toBe(3);
    for (const name of ['access-control-allow-origin', 'access-control-expose-headers', 'access-control-allow-credentials']) {
      expect(blocked.headers.get(name), name).toBeNull();
    }
    expect(blocked.headers.get('vary')).toMatch(/\bOrigin\b/);
    const blockedPreflight = await preflight(url, OTHER);
    expect(blockedPreflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(blockedPreflight.headers.get('access-control-allow-methods')).toBeNull();

    // No Origin at all (a same-origin or server-side caller): no CORS headers, Vary all the same.
    const plain = await fetch(`${url}/orders`);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    expect(plain.headers.get('vary')).toMatch(/\bOrigin\b/);
  });

  test("origin '*' answers any origin with '*' and no Vary", async () => {
    const { url } = await start({ origin: '*' });
    const r = await fetch(`${url}/orders`, { headers: { Origin: OTHER } });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('vary')).toBeNull();
  });

  test('Vary: Origin is added to what the app varies on, not in place of it', async () => {
    const { url } = await start({ origin: PAGE }, (app) =>
      app.get('/lang', (_req, res) => {
        res.vary('Accept-Language');
        res.json({});
      }),
    );
    const r = await fetch(`${url}/lang`, { headers: { Origin: PAGE } });
    expect(r.headers.get('vary')).toBe('Origin, Accept-Language');
  });

  test('credentials: true sends Access-Control-Allow-Credentials on preflights and answers, for allowed origins only', async () => {
    const { url } = await start({ origin: PAGE, credentials: true });
    const pre = await preflight(url, PAGE);
    expect(pre.headers.get('access-control-allow-credentials')).toBe('true');
    expect(pre.headers.get('access-control-allow-origin')).toBe(PAGE);
    const ok = await fetch(`${url}/orders`, { headers: { Origin: PAGE } });
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-origin')).toBe(PAGE);
    const blocked = await fetch(`${url}/orders`, { headers: { Origin: OTHER } });
    expect(blocked.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
