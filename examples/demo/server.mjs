// The closed-loop demo server: a small shop behind the idempotency middleware, a chaos panel that
// breaks the network on purpose, and counts pushed to every open tab over Server-Sent Events.
//
//   npm run demo                     # builds the package and the page, then runs this file
//   PORT=4000 npm run demo           # another port
//   REDIS_URL=redis://127.0.0.1:6379 npm run demo   # several servers share keys, counts and the bus
//
// It imports the package by its own name ('closed-loop', 'closed-loop/express', 'closed-loop/redis'):
// inside this repository Node resolves those to the built dist/ through package.json "exports".
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { MemoryIdempotencyStore, RealtimeSyncService } from 'closed-loop';
import { cors, createIdempotencyMiddleware, errorHandler, realtimeSse, requestId } from 'closed-loop/express';

const PAGE_DIR = fileURLToPath(new URL('./dist/', import.meta.url));
const COUNT_NAMES = ['clicks', 'requests', 'handlerRuns', 'replays', 'conflicts', 'queued', 'charged', 'refused'];
const SKUS = { tea: 'Green tea, 100 g', mug: 'Stoneware mug', beans: 'Coffee beans, 250 g', kettle: 'Gooseneck kettle' };

/**
 * Where the shop's state and the counts live: this process's memory, or Redis when several demo
 * servers share them.
 */
function memoryState() {
  const counts = Object.fromEntries(COUNT_NAMES.map((name) => [name, 0]));
  let version = 0;
  const orders = new Map();
  const cart = new Map();
  return {
    kind: 'memory',
    async incr(name) {
      counts[name]++;
      return { ...counts, version: ++version };
    },
    async counts() {
      return { ...counts, version };
    },
    async putOrder(order) {
      orders.set(order.id, order);
    },
    async takeOrder(id) {
      const order = orders.get(id);
      if (order === undefined || order.status !== 'paid') return undefined;
      const cancelled = { ...order, status: 'refunded' };
      orders.set(id, cancelled);
      return cancelled;
    },
    async putCartItem(item) {
      cart.set(item.id, item);
    },
    async shop() {
      return { orders: [...orders.values()], cart: [...cart.values()] };
    },
  };
}

async function redisState(url) {
  const { default: Redis } = await import('ioredis');
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  const p = 'closed-loop-demo:';
  const toCounts = (hash) => {
    const out = Object.fromEntries(COUNT_NAMES.map((name) => [name, Number(hash[name] ?? 0)]));
    out.version = Number(hash.version ?? 0);
    return out;
  };
  // Refunding an order is check-and-set: only a paid order is refunded, once, even with two servers.
  redis.defineCommand('demoRefund', {
    numberOfKeys: 1,
    lua: `local v = redis.call('HGET', KEYS[1], ARGV[1])
      if not v then return nil end
      local o = cjson.decode(v)
      if o.status ~= 'paid' then return nil end
      o.status = 'refunded'
      local s = cjson.encode(o)
      redis.call('HSET', KEYS[1], ARGV[1], s)
      return s`,
  });
  return {
    kind: 'redis',
    redis,
    async incr(name) {
      const [, , [, hash]] = await redis.multi().hincrby(`${p}counts`, name, 1).hincrby(`${p}counts`, 'version', 1).hgetall(`${p}counts`).exec();
      return toCounts(hash);
    },
    async counts() {
      return toCounts(await redis.hgetall(`${p}counts`));
    },
    async putOrder(order) {
      await redis.hset(`${p}orders`, order.id, JSON.stringify(order));
    },
    async takeOrder(id) {
      const s = await redis.demoRefund(`${p}orders`, id);
      return s ? JSON.parse(s) : undefined;
    },
    async putCartItem(item) {
      await redis.hset(`${p}cart`, item.id, JSON.stringify(item));
    },
    async shop() {
      const [orders, cart] = await Promise.all([redis.hvals(`${p}orders`), redis.hvals(`${p}cart`)]);
      const byTime = (a, b) => a.at - b.at;
      return { orders: orders.map((s) => JSON.parse(s)).sort(byTime), cart: cart.map((s) => JSON.parse(s)).sort(byTime) };
    },
  };
}

/** Clamps a chaos setting to [min, max]; anything not a number is the current value. */
function setting(value, current, min, max) {
  const n = Number(value);
  return value === undefined || value === null || !Number.isFinite(n) ? current : Math.min(max, Math.max(min, n));
}

/**
 * Creates the demo app. Returns `{ app, close }`; `listen()` below runs it.
 * @param {{ redisUrl?: string, servers?: string[] }} options
 */
export async function createDemoApp({ redisUrl, servers = [] } = {}) {
  const state = redisUrl ? await redisState(redisUrl) : memoryState();
  /** @type {import('closed-loop').IdempotencyStore} */
  let idempotencyStore = new MemoryIdempotencyStore();
  let transport;
  if (state.kind === 'redis') {
    const { RedisIdempotencyStore, RedisTransport } = await import('closed-loop/redis');
    idempotencyStore = new RedisIdempotencyStore(state.redis);
    transport = new RedisTransport(state.redis, { prefix: 'closed-loop-demo:bus:' });
  }
  const bus = new RealtimeSyncService(transport ? { transport } : {});
  const bootId = randomUUID().slice(0, 8);

  // The chaos settings, changed by POST /api/chaos on any server and applied by every server: the
  // change travels on the bus, like everything else the tabs see.
  let chaos = { id: 'settings', failureRate: 0, dropRate: 0, latencyMs: 0 };
  bus.subscribe('chaos', (event) => {
    if (event.new) chaos = { ...chaos, ...event.new };
  });

  const count = async (name) => bus.publish('counts', { id: 'totals', ...(await state.incr(name)) });
  const shopChanged = async () => bus.publish('shop', { id: 'shop', ...(await state.shop()), version: Date.now() });

  const app = express();
  app.disable('x-powered-by');
  app.use(requestId());
  // The page of one server may send to another (a failover list): that one must allow its origin.
  if (servers.length > 1) app.use(cors({ origin: servers.map((s) => new URL(s).origin) }));
  app.use(express.json());

  // What a page needs at start: where to send, the current counts and chaos, the shop.
  app.get('/api/config', async (_req, res) => {
    res.json({ servers, store: state.kind, bootId, chaos, counts: await state.counts(), shop: await state.shop() });
  });
  app.get('/api/shop', async (_req, res) => res.json(await state.shop()));
  app.post('/api/chaos', (req, res) => {
    const body = req.body ?? {};
    const next = {
      id: 'settings',
      failureRate: setting(body.failureRate, chaos.failureRate, 0, 1),
      dropRate: setting(body.dropRate, chaos.dropRate, 0, 1),
      latencyMs: Math.round(setting(body.latencyMs, chaos.latencyMs, 0, 10_000)),
      version: Date.now(),
    };
    chaos = next;
    bus.publish('chaos', next);
    res.json(next);
  });
  // The page reports what only it can see: a press that started a mutation, a mutation it queued.
  // These reports are instrumentation, not part of the shop: no chaos touches them.
  app.post('/api/report', async (req, res) => {
    const kind = req.body?.kind;
    if (kind !== 'click' && kind !== 'queued') return res.status(400).json({ error: 'kind must be click or queued' });
    await count(kind === 'click' ? 'clicks' : 'queued');
    res.status(204).end();
  });

  // The shop's mutations, under chaos. Order matters:
  //   1. count the request, wait out the latency, decide now whether its response will be dropped;
  //   2. the idempotency middleware: a key seen before is answered from the store (a replay);
  //   3. injected failures: a 5xx before the handler, so the middleware releases the key;
  //   4. the handler: runs once per key.
  const shop = express.Router();
  shop.use(async (req, res, next) => {
    if (req.method === 'GET') {
      next();
      return;
    }
    await count('requests');
    const { latencyMs, dropRate } = chaos;
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const drop = Math.random() < dropRate;
    // Sits under the idempotency middleware's hooks: it sees every answer after it was stored.
    const end = res.end.bind(res);
    res.end = function (...args) {
      if (res.getHeader('Idempotent-Replayed') === 'true') void count('replays');
      if (res.statusCode === 409) void count('conflicts');
      if (drop) {
        // The handler ran (or the answer was replayed) and the store has it; the client never
        // hears: its fetch fails as a network error and it retries with the same key.
        req.socket.destroy();
        return res;
      }
      return end.apply(this, args);
    };
    next();
  });
  shop.use(createIdempotencyMiddleware({ store: idempotencyStore }));
  shop.use((req, res, next) => {
    if (req.method === 'GET' || Math.random() >= chaos.failureRate) {
      next();
      return;
    }
    res.status(503).json({ error: 'chaos: an injected failure before the handler ran' });
  });

  const ran = async (sideEffect) => {
    await count('handlerRuns');
    if (sideEffect) {
      await count('charged');
      await shopChanged();
    } else {
      await count('refused'); // answered 404/422: nothing to charge
    }
  };
  shop.post('/orders', async (req, res) => {
    const sku = String(req.body?.sku ?? '');
    if (!(sku in SKUS)) {
      await ran(false);
      return res.status(422).json({ error: `unknown sku ${sku}` });
    }
    const order = { id: `o-${randomUUID().slice(0, 8)}`, sku, name: SKUS[sku], status: 'paid', at: Date.now(), key: req.get('idempotency-key') };
    await state.putOrder(order);
    await ran(true);
    res.status(201).json(order);
  });
  shop.delete('/orders/:id', async (req, res) => {
    const order = await state.takeOrder(req.params.id);
    await ran(order !== undefined);
    if (order === undefined) return res.status(404).json({ error: 'no paid order with that id' });
    res.json(order);
  });
  shop.post('/cart', async (req, res) => {
    const sku = String(req.body?.sku ?? '');
    if (!(sku in SKUS)) {
      await ran(false);
      return res.status(422).json({ error: `unknown sku ${sku}` });
    }
    const item = { id: `c-${randomUUID().slice(0, 8)}`, sku, name: SKUS[sku], at: Date.now() };
    await state.putCartItem(item);
    await ran(true);
    res.status(201).json(item);
  });
  app.use('/api', shop);

  // Every change to counts, chaos and the shop, to every tab.
  const events = realtimeSse(bus, { heartbeatMs: 10_000 });
  app.get('/events', events);

  if (existsSync(PAGE_DIR)) app.use(express.static(PAGE_DIR));
  else app.get('/', (_req, res) => res.type('text').send('The page is not built: run `npm run demo`.'));
  app.use(errorHandler());

  return {
    app,
    async close() {
      events.close();
      await bus.destroy();
      if (state.redis) state.redis.disconnect();
    },
  };
}

async function main() {
  const port = Number(process.env.PORT ?? 3000);
  const servers = (process.env.DEMO_SERVERS ?? '')
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  const demo = await createDemoApp({ redisUrl: process.env.REDIS_URL || undefined, servers });
  const server = demo.app.listen(port);
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const store = process.env.REDIS_URL ? 'Redis' : 'memory';
  console.log(`closed-loop demo (${store} store${servers.length > 1 ? `, failover: ${servers.join(' ')}` : ''}) on`);
  console.log(`http://localhost:${port}`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await demo.close();
    server.closeAllConnections?.();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
