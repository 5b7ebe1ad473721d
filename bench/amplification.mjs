// Retry amplification during an outage: a simulation on a simulated clock, not a wall-clock bench.
//
// 100 clients each send one mutation per second for 60 s to a server that is down (503, or refused
// connections) for the first 30 s and healthy afterwards. The fake fetch counts every request that
// reaches the server. Strategies:
//   naive loop     every failure retried after a fixed 100 ms until it succeeds
//   p-retry-like   p-retry's defaults: 10 retries, exponential 1 s × 2^n, no jitter
//   client …       createSyncClient with its defaults (3 attempts, 1 s full-jitter backoff), then
//                  with the breaker (5 failures, 30 s reset), the retry budget (ratio 0.1,
//                  1 retry/s, 10 s window), both, and both with a 5 s breaker reset.
//
// Usage: npx tsup && node bench/amplification.mjs
//   CLOSED_LOOP_DIST=/tmp/x/index.js   use another build of the core entry
//   AMP_CLIENTS=100 AMP_DOWN_MS=30000 AMP_RUN_MS=60000 AMP_SEED=1   change the scenario
import { pathToFileURL } from 'node:url';
import { mulberry32, printTable } from './lib.mjs';

const dist = process.env.CLOSED_LOOP_DIST ? pathToFileURL(process.env.CLOSED_LOOP_DIST).href : '../dist/index.js';
const { createSyncClient } = await import(dist);

const CLIENTS = Number(process.env.AMP_CLIENTS ?? 100);
const DOWN_MS = Number(process.env.AMP_DOWN_MS ?? 30_000);
const RUN_MS = Number(process.env.AMP_RUN_MS ?? 60_000);
const PERIOD_MS = 1000;
const SEED = Number(process.env.AMP_SEED ?? 1);
// Long enough after the last mutation for every strategy to settle (p-retry's last waits are minutes).
const DRAIN_MS = 20 * 60_000;
const LATENCY_MS = 20;
const REFUSE_MS = 2;

/**
 * A Clock (now/setTimeout/clearTimeout) on a binary heap: the simulation fires around a million
 * timers, and lets pending promise callbacks run after each one.
 */
class SimClock {
  t = 0;
  seq = 0;
  heap = [];
  cancelled = new Set();
  now() {
    return this.t;
  }
  setTimeout(callback, ms) {
    const id = ++this.seq;
    this.push({ at: this.t + (Number.isFinite(ms) && ms > 0 ? ms : 0), id, callback });
    return id;
  }
  clearTimeout(id) {
    this.cancelled.add(id);
  }
  async runUntil(until) {
    while (this.heap.length > 0 && this.heap[0].at <= until) {
      const timer = this.pop();
      if (this.cancelled.delete(timer.id)) continue;
      this.t = timer.at;
      timer.callback();
      await drain();
    }
    this.t = until;
  }
  push(node) {
    const h = this.heap;
    h.push(node);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (before(h[p], h[i])) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }
  pop() {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
const before = (a, b) => a.at < b.at || (a.at === b.at && a.id < b.id);
const drain = () => new Promise((resolve) => setImmediate(resolve));

const JSON_HEADERS = new Headers({ 'content-type': 'application/json' });
const OK_BODY = '{"ok":true}';
const DOWN_BODY = '{"title":"Service Unavailable"}';

/** The server: counts requests, down until DOWN_MS. Answers after a simulated latency. */
function makeServer(clock, mode) {
  const stats = { requests: 0, duringOutage: 0, perSecond: new Map() };
  const fetch = (_url, _init) => {
    stats.requests++;
    const now = clock.now();
    const second = Math.floor(now / 1000);
    stats.perSecond.set(second, (stats.perSecond.get(second) ?? 0) + 1);
    const down = now < DOWN_MS;
    if (down) stats.duringOutage++;
    return new Promise((resolve, reject) => {
      if (down && mode === 'network') {
        clock.setTimeout(() => reject(new TypeError('fetch failed')), REFUSE_MS);
        return;
      }
      clock.setTimeout(() => resolve(fakeResponse(down ? 503 : 201, down ? DOWN_BODY : OK_BODY)), LATENCY_MS);
    });
  };
  return { fetch, stats };
}

// What the client reads of a Response: status, headers, text().
function fakeResponse(status, body) {
  return { status, ok: status < 300, headers: JSON_HEADERS, text: () => Promise.resolve(body) };
}

/** Each strategy sends one mutation through `send(clientIndex, n)`, which settles when it gives up or succeeds. */
const strategies = [
  {
    name: 'naive loop (100 ms, until success)',
    make: (clock, fetch) => () => async () => {
      for (;;) {
        try {
          const res = await fetch('/orders', { method: 'POST' });
          if (res.status < 300) return;
        } catch {
          // retried like everything else
        }
        await new Promise((resolve) => clock.setTimeout(resolve, 100));
      }
    },
  },
  {
    name: 'p-retry-like (10 retries, 1 s × 2^n)',
    make: (clock, fetch) => () => async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const res = await fetch('/orders', { method: 'POST' });
          if (res.status < 300) return;
        } catch {
          // retried
        }
        if (attempt > 10) throw new Error('gave up');
        await new Promise((resolve) => clock.setTimeout(resolve, 1000 * 2 ** (attempt - 1)));
      }
    },
  },
  clientStrategy('client: retry', { breaker: false }),
  clientStrategy('client: retry + budget', { breaker: false, retryBudget: {} }),
  clientStrategy('client: retry + breaker', {}),
  clientStrategy('client: retry + breaker + budget', { retryBudget: {} }),
  clientStrategy('client: retry + breaker (5 s reset) + budget', { breaker: { resetTimeoutMs: 5000 }, retryBudget: {} }),
];

function clientStrategy(name, extra) {
  return {
    name,
    make: (clock, fetch, random) => () => {
      const client = createSyncClient({
        baseUrl: 'https://api.example',
        fetch,
        clock,
        retry: { random },
        ...extra,
      });
      return (n) => client.post('/orders', { n });
    },
  };
}

async function simulate(strategy, mode) {
  const clock = new SimClock();
  const random = mulberry32(SEED);
  const server = makeServer(clock, mode);
  const makeClient = strategy.make(clock, server.fetch, random);
  const result = { issued: 0, succeeded: 0, failed: 0, lastSettledAt: 0 };
  for (let c = 0; c < CLIENTS; c++) {
    const send = makeClient();
    const offset = Math.floor(random() * PERIOD_MS);
    for (let at = offset; at < RUN_MS; at += PERIOD_MS) {
      clock.setTimeout(() => {
        const n = result.issued++;
        send(n).then(
          () => {
            result.succeeded++;
            result.lastSettledAt = clock.now();
          },
          () => {
            result.failed++;
            result.lastSettledAt = clock.now();
          },
        );
      }, at);
    }
  }
  await clock.runUntil(RUN_MS + DRAIN_MS);
  const firstSecondUp = server.stats.perSecond.get(Math.floor(DOWN_MS / 1000)) ?? 0;
  let peak = 0;
  for (const [second, count] of server.stats.perSecond) if (second < DOWN_MS / 1000) peak = Math.max(peak, count);
  return { ...result, ...server.stats, peak, firstSecondUp, unsettled: result.issued - result.succeeded - result.failed };
}

console.log(
  `Retry amplification: ${CLIENTS} clients × 1 mutation/s for ${RUN_MS / 1000} s; server down for the first ${DOWN_MS / 1000} s. Simulated clock (seed ${SEED}).\n`,
);
for (const mode of ['503', 'network']) {
  console.log(`Outage answered with ${mode === '503' ? '503 Service Unavailable' : 'refused connections (fetch throws)'}:`);
  const rows = [
    ['strategy', 'requests', 'in outage', 'vs naive', 'per mutation', 'peak req/s down', 'req in 1st s up', 'succeeded', 'failed'],
  ];
  let naive;
  for (const strategy of strategies) {
    const r = await simulate(strategy, mode);
    naive ??= r.requests;
    if (r.unsettled !== 0) throw new Error(`${strategy.name}: ${r.unsettled} mutations never settled`);
    rows.push([
      strategy.name,
      r.requests,
      r.duringOutage,
      (r.requests / naive).toFixed(3),
      (r.requests / r.issued).toFixed(2),
      r.peak,
      r.firstSecondUp,
      r.succeeded,
      r.failed,
    ]);
  }
  printTable(rows, [false, true, true, true, true, true, true, true, true]);
  console.log('');
}
console.log(
  'requests: every request that reached the server; in outage: those sent while it was down; vs naive: requests / the naive loop\'s;',
);
console.log('per mutation: requests / mutations issued; failed: mutations whose call rejected (for the caller to queue or show).');
