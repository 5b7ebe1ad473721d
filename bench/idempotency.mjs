// HTTP throughput of an Express 5 POST route with and without idempotency middleware: bare, closed-loop
// on the memory store (new keys), replays of one key, closed-loop on the Redis store (new keys), and
// express-idempotency with its default in-memory adapter (new keys). Then the web-standard adapters
// against a bare Hono route on @hono/node-server: closed-loop/hono's middleware and
// closed-loop/fetch's withIdempotency() (served with serve({ fetch })), memory store, new keys. For
// the Redis cases the CPU redis-server spent per request is printed too (read from /proc on Linux).
// Run with `npm run bench` (builds dist first, then runs bench/run.mjs and this file).
//
// Every case's app runs in its own child process (this file with `--serve <case>`), one at a time,
// while autocannon runs in this (parent) process against 127.0.0.1 only: on a 2-core machine the
// server and the load generator each get a core instead of sharing one event loop. A fresh child is
// started for every case in every round, so every round measures the same thing (an empty store
// that fills while the load runs) and no case carries state from an earlier round.
//
// Rounds are interleaved: each round runs every case once, in a fresh (seeded) order, with the case's
// bare baseline (bare Express, or bare Hono for the Hono and fetch cases) run just before and just
// after it; a ratio against bare uses the bare runs on either side of the case, and the verdict is
// the median of the rounds' ratios. Two ratios are reported: of requests/s, and of the server's CPU
// time per request (bare µs/req ÷ case µs/req: the throughput a CPU-bound server would have). The
// second is the steadier one on a shared machine, where other processes take the CPU away from the
// server for a while and requests/s moves with them. Per case and
// round: start the child, check it over HTTP (status, body, replay header, handler runs), warm it up
// (not recorded), then measure for a fixed duration with a fixed number of connections. Every
// request carries an `Idempotency-Key` header made by `crypto.randomUUID()` in autocannon's
// `setupRequest` (the bare route gets and ignores one too, so the load generator does the same work
// for every case); the replay case sends one fixed key, used once before the load. The figure per
// case is the median over rounds of requests/s; p99 latency is the median of the rounds' p99s.
//
// Environment knobs: BENCH_ROUNDS (default 5), BENCH_DURATION (seconds, default 3), BENCH_WARMUP
// (seconds, default 1), BENCH_CONNECTIONS (default 32), BENCH_ONLY (comma-separated case ids; the
// baseline always runs), BENCH_PROF=<case id> (run that case's server under `node --cpu-prof`,
// profiles in /tmp/closed-loop-bench-prof), BENCH_VERBOSE=1 (a line per case and round on stderr).
//
// The bench reports; it is not a test: it exits 0 whether targets are met or not.

import { fork, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { median, mulberry32, positiveInt, printTable, shuffled, versionOf } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const ROUTE = '/orders';
const REQUEST_BODY = JSON.stringify({ item: 'book', quantity: 2, price: { amount: 1999, currency: 'EUR' } });
const RESPONSE_BODY = { ok: true, id: 'order-1', status: 'created' };
const RESPONSE_TEXT = JSON.stringify(RESPONSE_BODY);
const REDIS_PREFIX = 'closed-loop-bench:idem:';

const allCases = [
  { id: 'bare', label: 'bare Express 5 route (express.json())', baseline: true },
  { id: 'memory', label: 'closed-loop, memory store, new keys', base: 'bare' },
  { id: 'replay', label: 'closed-loop, memory store, replays of one key', base: 'bare' },
  { id: 'redis', label: 'closed-loop, Redis store, new keys', redis: true, base: 'bare' },
  { id: 'expressIdempotency', label: 'express-idempotency 1.0.6 (in-memory), new keys', base: 'bare' },
  { id: 'honoBare', label: 'bare Hono route on @hono/node-server (c.req.json())', baseline: true },
  { id: 'hono', label: 'closed-loop/hono, memory store, new keys', base: 'honoBare' },
  { id: 'fetch', label: 'closed-loop/fetch withIdempotency, memory store, new keys', base: 'honoBare' },
];

const targets = [
  { label: 'memory (new keys) / bare', num: 'memory', den: 'bare', min: 0.85 },
  { label: 'replays of one key / bare', num: 'replay', den: 'bare', min: 1.0 },
  { label: 'Redis (new keys) / bare', num: 'redis', den: 'bare', min: 0.6 },
  { label: 'memory (new keys) / express-idempotency', num: 'memory', den: 'expressIdempotency', min: 1.5 },
  { label: 'Hono middleware (new keys) / bare Hono', num: 'hono', den: 'honoBare', min: 0.85 },
  { label: 'withIdempotency (new keys) / bare Hono', num: 'fetch', den: 'honoBare', min: 0.85 },
];
const informational = [
  { label: 'Redis (new keys) / express-idempotency', num: 'redis', den: 'expressIdempotency' },
  { label: 'express-idempotency / bare', num: 'expressIdempotency', den: 'bare' },
];

if (process.argv[2] === '--serve') {
  await serve(process.argv[3], process.argv[4]);
} else {
  await main();
}

// =============================================================================================
// Parent: load generator and report.

async function main() {
  const ROUNDS = positiveInt(process.env.BENCH_ROUNDS, 5);
  const DURATION = positiveInt(process.env.BENCH_DURATION, 3);
  const WARMUP = nonNegativeInt(process.env.BENCH_WARMUP, 1);
  const CONNECTIONS = positiveInt(process.env.BENCH_CONNECTIONS, 32);
  const PROF = process.env.BENCH_PROF;
  const VERBOSE = process.env.BENCH_VERBOSE === '1';
  const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined;
  // A case brings its baseline along.
  let cases = only ? allCases.filter((c) => only.has(c.id) || allCases.some((o) => only.has(o.id) && o.base === c.id)) : allCases;

  const { default: autocannon } = await import('autocannon');
  const started = process.hrtime.bigint();

  // One redis-server for the whole run, on a free loopback port; each Redis round's child flushes it.
  let redis;
  const notes = [];
  if (cases.some((c) => c.redis)) {
    try {
      redis = await startRedisServer();
    } catch (error) {
      notes.push(`Redis case skipped: ${error.message}`);
      cases = cases.filter((c) => !c.redis);
    }
  }

  const samples = new Map(cases.map((c) => [c.id, []]));
  const problems = new Map(cases.map((c) => [c.id, []]));
  const random = mulberry32(0x1de4);
  try {
    // Each case is compared with the mean of its baseline's runs just before and just after it
    // (machine speed drifts; a sandwich cancels a linear drift). A baseline run after one case is
    // the run before the next case with the same baseline.
    const others = cases.filter((c) => !c.baseline);
    const measure = async (c, round) => {
      const sample = await runCase(c, { autocannon, redis, DURATION, WARMUP, CONNECTIONS, prof: PROF === c.id, round });
      samples.get(c.id).push(sample);
      problems.get(c.id).push(...sample.problems.map((p) => `round ${round + 1}: ${p}`));
      if (VERBOSE) {
        console.error(
          `round ${round + 1} ${c.id}: ${sample.rps.toFixed(0)} req/s, p99 ${sample.p99} ms, ${sample.cpuPerRequest.toFixed(0)} µs CPU/req, handler runs ${sample.runs}, store ${sample.storeSize ?? '?'}${sample.problems.length ? `, ${sample.problems.join('; ')}` : ''}`,
        );
      }
      return sample;
    };
    for (let round = 0; round < ROUNDS; round++) {
      const last = new Map();
      for (const c of shuffled(others, random)) {
        const baseline = cases.find((b) => b.id === c.base);
        const before = last.get(baseline.id) ?? (await measure(baseline, round));
        const sample = await measure(c, round);
        const after = await measure(baseline, round);
        sample.baselineRps = (before.rps + after.rps) / 2;
        sample.baselineCpu = (before.cpuPerRequest + after.cpuPerRequest) / 2;
        last.set(baseline.id, after);
      }
    }
  } finally {
    await redis?.stop();
  }

  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  printReport({ cases, samples, problems, notes, elapsedS, ROUNDS, DURATION, WARMUP, CONNECTIONS, redis });
  if (PROF) console.log(`CPU profiles of the '${PROF}' server: /tmp/closed-loop-bench-prof/`);
}

// One case, one round: a fresh server child, checks, warm-up, the measured run, the handler count.
async function runCase(c, { autocannon, redis, DURATION, WARMUP, CONNECTIONS, prof }) {
  const server = await startChild(c.id, redis?.url, prof);
  const problems = [];
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const fixedKey = randomUUID();
    problems.push(...(await preflight(c, base, server, fixedKey)));
    const nextKey = c.id === 'replay' ? () => fixedKey : randomUUID;
    const load = (duration) =>
      autocannon({
        url: base,
        connections: CONNECTIONS,
        duration,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: ROUTE,
            headers: { 'content-type': 'application/json' },
            body: REQUEST_BODY,
            setupRequest(request) {
              request.headers['Idempotency-Key'] = nextKey();
              return request;
            },
          },
        ],
      });
    if (WARMUP > 0) await load(WARMUP);
    const before = await settled(server);
    const redisBefore = c.redis ? redis.cpuUs() : undefined;
    const result = await load(DURATION);
    const stats = await settled(server);
    const redisAfter = c.redis ? redis.cpuUs() : undefined;
    const runs = stats.runs - before.runs;
    const ok = result['2xx'];
    if (result.non2xx > 0) problems.push(`${result.non2xx} non-2xx responses (${statusSummary(result)})`);
    if (result.errors > 0 || result.timeouts > 0) problems.push(`${result.errors} errors, ${result.timeouts} timeouts`);
    if (c.id === 'replay' ? runs !== 0 : !c.baseline && (runs < ok || runs > ok + CONNECTIONS)) {
      problems.push(`handler ran ${runs} times for ${ok} 2xx responses`);
    }
    return {
      rps: result.requests.total / result.duration,
      p99: result.latency.p99,
      p50: result.latency.p50,
      total: result.requests.total,
      cpuPerRequest: (stats.cpuUs - before.cpuUs) / result.requests.total,
      redisCpuPerRequest: redisBefore !== undefined && redisAfter !== undefined ? (redisAfter - redisBefore) / result.requests.total : undefined,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      runs,
      storeSize: stats.storeSize,
      problems,
    };
  } finally {
    await server.stop();
  }
}

// Requests in flight when autocannon stops are abandoned by it but still served: wait until the
// handler count stops moving, so they are not counted in the next window.
async function settled(server) {
  let last = await server.ask('stats');
  for (let i = 0; i < 40; i++) {
    await sleep(50);
    const now = await server.ask('stats');
    if (now.runs === last.runs) return now;
    last = now;
  }
  return last;
}

// Before the load: the case must answer 201 with the handler's body, and a middleware case must
// replay a repeated key without running the handler. A misconfigured case must not look fast.
async function preflight(c, base, server, key) {
  const problems = [];
  const post = async (k) => {
    const response = await fetch(`${base}${ROUTE}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': k },
      body: REQUEST_BODY,
    });
    return { status: response.status, body: await response.text(), replayed: response.headers.get('idempotent-replayed') };
  };
  const before = (await server.ask('stats')).runs;
  const first = await post(key);
  if (first.status !== 201 || first.body !== RESPONSE_TEXT) problems.push(`first request: ${first.status} ${first.body.slice(0, 200)}`);
  const second = await post(key);
  const runs = (await server.ask('stats')).runs - before;
  if (second.status !== 201 || second.body !== RESPONSE_TEXT) problems.push(`repeated key: ${second.status} ${second.body.slice(0, 200)}`);
  if (c.baseline) {
    if (runs !== 2) problems.push(`bare route: handler ran ${runs} times for 2 requests`);
  } else {
    if (runs !== 1) problems.push(`repeated key: handler ran ${runs} times for 2 requests with one key`);
    if (c.id !== 'expressIdempotency' && second.replayed !== 'true') problems.push('repeated key: no Idempotent-Replayed: true');
  }
  return problems;
}

function statusSummary(result) {
  const codes = Object.entries(result.statusCodeStats ?? {}).filter(([code]) => !code.startsWith('2'));
  return codes.map(([code, { count }]) => `${code}: ${count}`).join(', ') || 'no status';
}

// A server child: forked with IPC, reports its port, answers 'stats' and 'stop'.
function startChild(caseId, redisUrl, prof) {
  const execArgv = prof ? ['--cpu-prof', '--cpu-prof-dir=/tmp/closed-loop-bench-prof'] : [];
  if (process.env.BENCH_EXEC_ARGV) execArgv.push(...process.env.BENCH_EXEC_ARGV.split(' '));
  const child = fork(SELF, ['--serve', caseId, redisUrl ?? ''], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let nextId = 0;
  const waiting = new Map();
  child.on('message', (message) => {
    const resolve = waiting.get(message.id);
    waiting.delete(message.id);
    resolve?.(message);
  });
  const ask = (type) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`bench: the ${caseId} server did not answer '${type}'`));
      }, 10_000);
      waiting.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      child.send({ id, type });
    });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench: the ${caseId} server exited (${code}) before it listened`)));
    waiting.set(0, (message) => {
      if (message.error) {
        reject(new Error(`bench: the ${caseId} server failed to start: ${message.error}`));
        return;
      }
      resolve({
        port: message.port,
        ask,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.send({ id: -1, type: 'stop' });
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            await exited;
            clearTimeout(timer);
          }
        },
      });
    });
  });
}

function printReport({ cases, samples, problems, notes, elapsedS, ROUNDS, DURATION, WARMUP, CONNECTIONS, redis }) {
  console.log('');
  console.log(`closed-loop idempotency throughput — Node ${process.version}, ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? 'unknown'}), ${process.platform}/${process.arch}`);
  console.log(
    `closed-loop ${versionOf('..')} · express ${versionOf('express')} · express-idempotency ${versionOf('express-idempotency')} · hono ${versionOf('hono')} · @hono/node-server ${versionOf('@hono/node-server')} · ioredis ${versionOf('ioredis')} · autocannon ${versionOf('autocannon')}${redis ? ` · ${redis.version}` : ''}`,
  );
  console.log(
    `${ROUNDS} interleaved rounds; per case and round a fresh server child, ${WARMUP} s warm-up, then ${DURATION} s of POST ${ROUTE} from ${CONNECTIONS} connections (autocannon, 127.0.0.1); median per case; ${elapsedS.toFixed(1)} s`,
  );
  for (const note of notes) console.log(note);
  console.log('');

  const results = new Map();
  const rows = [['case', 'req/s (median)', 'min–max', 'p99 ms', 'server CPU µs/req', 'redis-server CPU µs/req', 'non-2xx', 'errors', 'handler runs']];
  for (const c of cases) {
    const s = samples.get(c.id);
    const rps = s.map((x) => x.rps);
    const r = {
      rps: median(rps),
      p99: median(s.map((x) => x.p99)),
      non2xx: sum(s.map((x) => x.non2xx)),
      errors: sum(s.map((x) => x.errors)),
      valid: problems.get(c.id).length === 0,
      samples: s,
    };
    results.set(c.id, r);
    rows.push([
      c.label,
      r.rps.toFixed(0),
      `${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)}`,
      r.p99.toFixed(1),
      median(s.map((x) => x.cpuPerRequest)).toFixed(0),
      s.every((x) => x.redisCpuPerRequest !== undefined) ? median(s.map((x) => x.redisCpuPerRequest)).toFixed(0) : '—',
      r.non2xx,
      r.errors,
      `${sum(s.map((x) => x.runs))} / ${sum(s.map((x) => x.total))} req`,
    ]);
  }
  printTable(rows, [false, true, true, true, true, true, true, true, true]);

  const invalid = cases.filter((c) => !results.get(c.id).valid);
  if (invalid.length > 0) {
    console.log('');
    console.log('INVALID cases (left out of the ratios):');
    for (const c of invalid) for (const p of problems.get(c.id).slice(0, 5)) console.log(`  ${c.id}: ${p}`);
  }

  for (const [title, metric] of [
    ['Throughput ratios (higher is better): requests/s, per round, against the bare runs just before and after; median over rounds', 'rps'],
    ['CPU ratios (higher is better): bare server CPU µs/req ÷ case CPU µs/req, per round, as above; median over rounds', 'cpu'],
  ]) {
    console.log('');
    console.log(title);
    const ratioRows = [['ratio', 'value', 'rounds min–max', 'target', 'result']];
    for (const t of targets) {
      ratioRows.push([t.label, ...ratioCells(results, t, metric, `>= ${t.min}`, (v) => (v >= t.min ? 'PASS' : 'MISS'))]);
    }
    for (const t of informational) {
      ratioRows.push([t.label, ...ratioCells(results, t, metric, '—', () => 'info')]);
    }
    printTable(ratioRows, [false, true, true, true, false]);
  }
  console.log('');
  // One machine-readable line, for collecting runs (bench/README or docs/benchmarks.md tables).
  const summary = {};
  for (const t of [...targets, ...informational]) {
    for (const metric of ['rps', 'cpu']) {
      const cells = ratioCells(results, t, metric, '', () => '');
      if (cells[0] !== '—') summary[`${t.num}/${t.den}:${metric}`] = Number(cells[0]);
    }
  }
  console.log(`RATIOS ${JSON.stringify(summary)}`);
}

// The ratio of two cases is taken within each round (against the bare runs just before and after
// the case, or the other case's run in the same round) and the median over rounds is the figure: the speed of a shared VM drifts by tens of percent from one
// minute to the next, and a ratio of per-case medians taken from different minutes moves with it.
function ratioCells(results, { num, den }, metric, target, verdict) {
  const a = results.get(num);
  const b = results.get(den);
  if (!a || !b) return ['—', '', target, 'skipped'];
  if (!a.valid || !b.valid) return ['—', '', target, 'INVALID'];
  // Against the baseline: each sample's own sandwich of bare runs. Between two other cases: the
  // samples of the same round.
  const againstBase = allCases.find((c) => c.id === num)?.base === den;
  const perRound = a.samples.map((x, i) =>
    metric === 'rps'
      ? x.rps / (againstBase ? x.baselineRps : b.samples[i].rps)
      : (againstBase ? x.baselineCpu : b.samples[i].cpuPerRequest) / x.cpuPerRequest,
  );
  const v = median(perRound);
  return [v.toFixed(3), `${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}`, target, verdict(v)];
}

// =============================================================================================
// Child: one app.

async function serve(caseId, redisUrl) {
  if (['honoBare', 'hono', 'fetch'].includes(caseId)) return serveWeb(caseId);
  try {
    const { default: express } = await import('express');
    const app = express();
    app.use(express.json());
    let runs = 0;
    let storeSize = () => undefined;
    let closeStore = async () => {};
    const handler = (req, res) => {
      runs++;
      res.status(201).json(RESPONSE_BODY);
    };

    switch (caseId) {
      case 'bare':
        app.post(ROUTE, handler);
        break;
      case 'memory':
      case 'replay': {
        const { createIdempotencyMiddleware } = await importDist('express');
        app.post(ROUTE, createIdempotencyMiddleware(), handler);
        break;
      }
      case 'redis': {
        const { createIdempotencyMiddleware } = await importDist('express');
        const { RedisIdempotencyStore } = await importDist('redis');
        const { Redis } = await import('ioredis');
        const client = new Redis(redisUrl, { lazyConnect: true });
        await client.connect();
        await client.flushdb();
        const store = new RedisIdempotencyStore(client, { prefix: REDIS_PREFIX });
        app.post(ROUTE, createIdempotencyMiddleware({ store }), handler);
        storeSize = () => client.dbsize();
        closeStore = () => client.quit();
        break;
      }
      case 'expressIdempotency': {
        const { idempotency, getSharedIdempotencyService } = await import('express-idempotency');
        const middleware = idempotency();
        const service = getSharedIdempotencyService();
        storeSize = () => service._options?.dataAdapter?.idempotencyResources?.length;
        app.post(ROUTE, middleware, (req, res) => {
          // The middleware has already sent the stored response on a hit and calls next() anyway.
          if (service.isHit(req)) return;
          handler(req, res);
        });
        break;
      }
      default:
        throw new Error(`unknown case ${caseId}`);
    }

    const server = await new Promise((resolve, reject) => {
      const s = app.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve(s)));
    });
    listenForParent(server, () => runs, () => storeSize(), () => closeStore());
    process.send({ id: 0, port: server.address().port });
  } catch (error) {
    process.send({ id: 0, error: String(error?.stack ?? error) });
    process.exit(1);
  }
}

// The web-standard cases: a Hono app (bare, or with closed-loop/hono's middleware) or a fetch handler
// wrapped by closed-loop/fetch's withIdempotency(), on @hono/node-server.
async function serveWeb(caseId) {
  try {
    const { serve: serveNode } = await import('@hono/node-server');
    let runs = 0;
    let fetch;
    if (caseId === 'fetch') {
      const { withIdempotency } = await importDist('fetch');
      fetch = withIdempotency(async (request) => {
        await request.json();
        runs++;
        return Response.json(RESPONSE_BODY, { status: 201 });
      });
    } else {
      const { Hono } = await import('hono');
      const app = new Hono();
      if (caseId === 'hono') {
        const { idempotency } = await importDist('hono');
        app.use(ROUTE, idempotency());
      }
      app.post(ROUTE, async (c) => {
        await c.req.json();
        runs++;
        return c.json(RESPONSE_BODY, 201);
      });
      fetch = app.fetch;
    }
    const server = await new Promise((resolve) => {
      const s = serveNode({ fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    listenForParent(server, () => runs, () => undefined, async () => {});
    process.send({ id: 0, port: server.address().port });
  } catch (error) {
    process.send({ id: 0, error: String(error?.stack ?? error) });
    process.exit(1);
  }
}

// 'stats' and 'stop' from the parent.
function listenForParent(server, runs, storeSize, closeStore) {
  // A failed answer (a store that cannot report its size or close) ends the child with the error.
  process.on('message', (message) => {
    answerParent(message).catch((error) => {
      console.error(error);
      process.exit(1);
    });
  });
  // The parent is gone: stop too.
  process.on('disconnect', () => process.exit(0));

  async function answerParent(message) {
    if (message.type === 'stats') {
      const cpu = process.cpuUsage();
      process.send({ id: message.id, runs: runs(), cpuUs: cpu.user + cpu.system, storeSize: await storeSize() });
    } else if (message.type === 'stop') {
      // With BENCH_PROF, the request count goes next to the profile, to compare per request.
      if (process.execArgv.includes('--cpu-prof')) {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(`/tmp/closed-loop-bench-prof/${process.pid}.runs`, String(runs()));
      }
      server.closeAllConnections?.();
      server.close();
      await closeStore().catch(() => {});
      process.exit(0);
    }
  }
}

// dist/ may be rebuilt (and briefly removed) by a concurrent build: retry the import a few times.
async function importDist(entry) {
  for (let tries = 1; ; tries++) {
    try {
      return await import(`../dist/${entry}.js${tries > 1 ? `?try=${tries}` : ''}`);
    } catch (error) {
      if (tries >= 5) throw error;
      await sleep(1000);
    }
  }
}

// =============================================================================================
// redis-server: a throwaway instance on a free loopback port, no persistence.

async function startRedisServer() {
  const binary = [process.env.REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => p && existsSync(p));
  if (!binary) throw new Error('redis-server not found (apt-get install redis-server, or set REDIS_SERVER)');
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1];
  // Linux's USER_HZ, the unit of utime/stime in /proc/<pid>/stat: 100 on every common build.
  const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning', '--dir', os.tmpdir()],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let gone = false;
    void exited.then(() => (gone = true)); // resolves only, on exit
    const deadline = Date.now() + 10_000;
    while (!gone && Date.now() < deadline && !(await ping(port))) await sleep(20);
    if (!gone && Date.now() < deadline) {
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        version: `redis-server ${version ?? '?'}`,
        // User + system CPU of redis-server so far, in µs (Linux /proc; undefined elsewhere).
        cpuUs() {
          try {
            const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
            return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
          } catch {
            return undefined;
          }
        },
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    lastError = new Error(`redis-server on port ${port} did not start: ${output.trim().slice(0, 500)}`);
    if (!/address already in use/i.test(output)) break;
  }
  throw lastError ?? new Error('redis-server did not start');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 500);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk;
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

// =============================================================================================
// Helpers (as in bench/run.mjs).





function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}



function nonNegativeInt(text, fallback) {
  const n = Number(text);
  return text !== undefined && Number.isInteger(n) && n >= 0 ? n : fallback;
}
