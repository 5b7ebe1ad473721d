// The server the test's page and service worker send to: static files (the page, and both fixture
// scripts bundled by esbuild from the sources) and /api/:route behind the idempotency middleware.
// The test changes each route's answers in process and reads what reached it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import express, { type Request, type Response } from 'express';
import { createIdempotencyMiddleware } from 'closed-loop/express';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** What one route answered, and the answers it gives next. */
export interface Route {
  /** Statuses the handler answers next, in order; once used up it answers 201. */
  script: number[];
  /** The key of every request that reached the route (replays included), in order. */
  requestKeys: string[];
  /** Per key, how often the handler ran to a 2xx: "exactly once" is 1 for each. */
  runs: Map<string, number>;
}

export interface TestServer {
  readonly url: string;
  route(name: string): Route;
  close(): Promise<void>;
}

// closed-loop and its subpaths resolve to the sources, as in the other tests.
const sources: Plugin = {
  name: 'closed-loop-sources',
  setup(b) {
    const entries: Record<string, string> = {
      'closed-loop': 'src/index.ts',
      'closed-loop/service-worker': 'adapters/service-worker/index.ts',
    };
    b.onResolve({ filter: /^closed-loop(\/service-worker)?$/ }, (args) => ({ path: `${root}${entries[args.path]}` }));
  },
};

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(`./fixture/${entry}`, import.meta.url))],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    plugins: [sources],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export async function startTestServer(): Promise<TestServer> {
  const [pageJs, swJs] = await Promise.all([bundle('page.ts'), bundle('sw.ts')]);
  const routes = new Map<string, Route>();
  const route = (name: string): Route => {
    let r = routes.get(name);
    if (r === undefined) {
      r = { script: [], requestKeys: [], runs: new Map() };
      routes.set(name, r);
    }
    return r;
  };

  const app = express();
  app.get('/', (_req, res) => {
    res.type('html').send('<!doctype html><title>service worker test</title><script src="/page.js"></script>');
  });
  app.get('/page.js', (_req, res) => void res.type('js').send(pageJs));
  app.get('/sw.js', (_req, res) => void res.type('js').set('Cache-Control', 'no-store').send(swJs));
  app.use(express.json());
  app.post('/api/:name', (req, _res, next) => {
    route(req.params.name).requestKeys.push(req.get('Idempotency-Key') ?? '');
    next();
  });
  app.use('/api', createIdempotencyMiddleware());
  app.post('/api/:name', (req: Request<{ name: string }>, res: Response) => {
    const r = route(req.params.name);
    const status = r.script.shift() ?? 201;
    const key = req.get('Idempotency-Key') ?? '';
    if (status >= 200 && status < 300) r.runs.set(key, (r.runs.get(key) ?? 0) + 1);
    res.status(status).json({ status, body: req.body as unknown });
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    route,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
