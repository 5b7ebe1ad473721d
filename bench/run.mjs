// Per-call overhead of wrapping an async no-op: closed-loop against cockatiel, opossum, p-retry
// and a plain `await`. Run with `npm run bench` (builds dist first).
//
// Every case is timed in batches of sequential awaited calls. Rounds are interleaved: each round
// runs one batch of every case, in a fresh (seeded) order each round, so machine noise falls on all
// cases alike. Warm-up rounds (not recorded) size each case's batch to about BATCH_MS of work.
// Each batch is preceded by a few untimed calls of the same case. The figure per case is the median
// over rounds; its overhead is that median minus the plain `await` median.
//
// Environment knobs: BENCH_ROUNDS (default 31), BENCH_WARMUP (default 3 rounds), BENCH_BATCH_MS
// (default 20), BENCH_ONLY (comma-separated case ids to run; the baseline always runs), BENCH_GC=1
// (a full GC before every batch; see docs/benchmarks.md for why it is off by default).
//
// The bench reports; it is not a test: it exits 0 whether targets are met or not.

import os from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import {
  retry as cRetry,
  circuitBreaker as cCircuitBreaker,
  handleAll,
  ExponentialBackoff,
  ConsecutiveBreaker,
  wrap as cWrap,
  timeout as cTimeout,
  TimeoutStrategy,
} from 'cockatiel';
import Opossum from 'opossum';
import pRetry from 'p-retry';
import { median, mulberry32, positiveInt, printTable, quantile, shuffled, versionOf } from './lib.mjs';

const ROUNDS = positiveInt(process.env.BENCH_ROUNDS, 31);
const WARMUP = positiveInt(process.env.BENCH_WARMUP, 3);
const BATCH_MS = positiveInt(process.env.BENCH_BATCH_MS, 20);
const WARMUP_BATCH = 20_000;
const MIN_BATCH = 2_000;
const MAX_BATCH = 1_000_000;
const SETTLE_CALLS = 5_000;
const FORCE_GC = process.env.BENCH_GC === '1';

let gc;
if (FORCE_GC) {
  setFlagsFromString('--expose-gc');
  gc = runInNewContext('gc');
}

// dist/ may be rebuilt (and briefly removed) by a concurrent build: retry the import a few times.
const { retryWithBackoff, CircuitBreaker } = await importDist();

// ---------------------------------------------------------------------------------------------
// The wrapped operation and the wrappers, all built once, outside the timed loops.

const VALUE = { ok: true };
const op = async () => VALUE;

const RETRY_NO_DEADLINE = { timeoutMs: 0 };
const P_RETRY_OPTIONS = { retries: 2 };

const ours = new CircuitBreaker();
const oursComposedBreaker = new CircuitBreaker();
const composedOp = () => oursComposedBreaker.execute(op);

const cockatielRetry = cRetry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() });
const cockatielBreaker = cCircuitBreaker(handleAll, {
  halfOpenAfter: 10_000,
  breaker: new ConsecutiveBreaker(5),
});
const cockatielWrapped = cWrap(
  cRetry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
  cCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
);
const cockatielTimeout = cTimeout(30_000, TimeoutStrategy.Cooperative);

// opossum with its defaults: a 10 s `timeout`, so every fire() starts and clears a timer.
const opossum = new Opossum(op);

// ---------------------------------------------------------------------------------------------
// One literal loop per case, so no call site in a loop is shared (and made megamorphic) by others.

const allCases = [
  {
    id: 'baseline',
    label: 'await fn()',
    async run(n) {
      let value;
      for (let i = 0; i < n; i++) value = await op();
      return value;
    },
  },
  {
    id: 'oursRetry0',
    label: 'closed-loop retryWithBackoff, timeoutMs: 0',
    async run(n) {
      let value;
      for (let i = 0; i < n; i++) value = await retryWithBackoff(op, RETRY_NO_DEADLINE);
      return value;
    },
  },
  {
    id: 'oursRetryDefault',
    label: 'closed-loop retryWithBackoff, default 30 s deadline',
    async run(n) {
      let value;
      for (let i = 0; i < n; i++) value = await retryWithBackoff(op);
      return value;
    },
  },
  {
    id: 'oursBreaker',
    label: 'closed-loop CircuitBreaker.execute',
    async run(n) {
      let value;
      for (let i = 0; i < n; i++) value = await ours.execute(op);
      return value;
    },
  },
  {
    id: 'oursComposed',
    label: 'closed-loop retry(timeoutMs: 0) + breaker',
    async run(n) {
      let value;
      for (let i = 0; i < n; i++) value = await retryWithBackoff(composedOp, RETRY_NO_DEADLINE);
      return value;
    },
  },
  {
    id: 'cockatielRetry',
    label: 'cockatiel retry (maxAttempts 2, exponential)',
    async run(n) {
      let value;
      for (let i = 0; i < n; i++) value = await cockatielRetry.execute(op);
      return value;
    },
  },
  {
    id: 'cockatielBreaker',
    label: 'cockatiel circuitBreaker (consecutive 5)',
    async run(n) {
      let value;
      for (let i = 0; i < n; i++) value = await cockatielBreaker.execute(op);
      return value;
    },
  },
  {
    id: 'cockatielWrap',
    label: 'cockatiel wrap(retry, breaker)',
    async run(n) {
      let value;
      for (let i = 0; i < n; i++) value = await cockatielWrapped.execute(op);
      return value;
    },
  },
  {
    id: 'cockatielTimeout',
    label: 'cockatiel timeout(30 s, cooperative)',
    async run(n) {
      let value;
      for (let i = 0; i < n; i++) value = await cockatielTimeout.execute(op);
      return value;
    },
  },
  {
    id: 'opossum',
    label: 'opossum fire() (defaults: 10 s timer per call)',
    async run(n) {
      let value;
      for (let i = 0; i < n; i++) value = await opossum.fire();
      return value;
    },
  },
  {
    id: 'pRetry',
    label: 'p-retry (retries: 2)',
    async run(n) {
      let value;
      for (let i = 0; i < n; i++) value = await pRetry(op, P_RETRY_OPTIONS);
      return value;
    },
  },
];

const only = process.env.BENCH_ONLY ? new Set(['baseline', ...process.env.BENCH_ONLY.split(',')]) : undefined;
const cases = only ? allCases.filter((c) => only.has(c.id)) : allCases;

const targets = [
  { label: 'retry: closed-loop (timeoutMs 0) / cockatiel retry', num: 'oursRetry0', den: 'cockatielRetry', max: 0.5 },
  { label: 'breaker: closed-loop / cockatiel breaker', num: 'oursBreaker', den: 'cockatielBreaker', max: 0.5 },
  { label: 'composed: closed-loop retry+breaker / cockatiel wrap', num: 'oursComposed', den: 'cockatielWrap', max: 0.5 },
  { label: 'deadline: closed-loop default retry / cockatiel timeout', num: 'oursRetryDefault', den: 'cockatielTimeout', max: 0.1 },
];
const informational = [
  { label: 'closed-loop default retry / cockatiel retry', num: 'oursRetryDefault', den: 'cockatielRetry' },
  { label: 'closed-loop retry (timeoutMs 0) / p-retry', num: 'oursRetry0', den: 'pRetry' },
  { label: 'closed-loop breaker / opossum fire()', num: 'oursBreaker', den: 'opossum' },
];

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = process.hrtime.bigint();
  // Every case must resolve with the wrapped operation's value.
  for (const c of cases) {
    const value = await c.run(1);
    if (value !== VALUE) throw new Error(`bench: case ${c.id} resolved with ${String(value)}`);
  }

  // Warm-up rounds (not recorded) also size each case's batch to about BATCH_MS of work, so that a
  // fast case (the plain await) is not timed over a fraction of a millisecond.
  const random = mulberry32(0x5eed);
  const fastest = new Map(cases.map((c) => [c.id, Infinity]));
  for (let round = 0; round < WARMUP; round++) {
    for (const c of shuffled(cases, random)) {
      fastest.set(c.id, Math.min(fastest.get(c.id), await timeBatch(c, WARMUP_BATCH)));
    }
  }
  const batchSize = new Map();
  for (const c of cases) {
    const n = Math.round((BATCH_MS * 1e6) / fastest.get(c.id) / 1000) * 1000;
    batchSize.set(c.id, Math.min(MAX_BATCH, Math.max(MIN_BATCH, n)));
  }

  const samples = new Map(cases.map((c) => [c.id, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of shuffled(cases, random)) {
      samples.get(c.id).push(await timeBatch(c, batchSize.get(c.id)));
    }
  }

  const baseline = median(samples.get('baseline'));
  const results = new Map();
  for (const c of cases) {
    const s = samples.get(c.id);
    const ns = median(s);
    results.set(c.id, {
      label: c.label,
      calls: batchSize.get(c.id),
      ns,
      p25: quantile(s, 0.25),
      p75: quantile(s, 0.75),
      overhead: ns - baseline,
    });
  }
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;

  printReport(results, elapsedS);
}

// One timed batch, after a few untimed calls of the same case. With BENCH_GC=1 a full GC runs first,
// so that no case pays for another's garbage; a full GC also makes V8 drop optimized code that
// embeds maps no live object holds (per-call class instances), hence the untimed calls.
async function timeBatch(c, n) {
  if (FORCE_GC) gc();
  await c.run(SETTLE_CALLS);
  const t0 = process.hrtime.bigint();
  await c.run(n);
  const t1 = process.hrtime.bigint();
  return Number(t1 - t0) / n;
}

function printReport(results, elapsedS) {
  const pkg = (name) => versionOf(name);
  console.log('');
  console.log(`closed-loop overhead benchmark — Node ${process.version}, ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? 'unknown'}), ${process.platform}/${process.arch}`);
  console.log(`closed-loop ${pkg('..')} · cockatiel ${pkg('cockatiel')} · opossum ${pkg('opossum')} · p-retry ${pkg('p-retry')}`);
  console.log(`${ROUNDS} interleaved rounds (+${WARMUP} warm-up), batches of ~${BATCH_MS} ms of sequential awaited calls, median per case${FORCE_GC ? ', full GC before each batch' : ''}; ${elapsedS.toFixed(1)} s`);
  console.log('');

  const rows = [['case', 'calls/batch', 'ns/call', 'p25–p75', 'overhead ns/call']];
  for (const r of results.values()) {
    rows.push([r.label, r.calls, r.ns.toFixed(0), `${r.p25.toFixed(0)}–${r.p75.toFixed(0)}`, r === results.get('baseline') ? '—' : r.overhead.toFixed(0)]);
  }
  printTable(rows, [false, true, true, true, true]);

  console.log('');
  console.log('Overhead ratios (lower is better):');
  const ratioRows = [['ratio', 'value', 'target', 'result']];
  for (const t of targets) {
    if (!results.has(t.num) || !results.has(t.den)) continue;
    const v = ratio(results, t);
    ratioRows.push([t.label, v.toFixed(3), `<= ${t.max}`, v <= t.max ? 'PASS' : 'MISS']);
  }
  for (const t of informational) {
    if (!results.has(t.num) || !results.has(t.den)) continue;
    ratioRows.push([t.label, ratio(results, t).toFixed(3), '—', 'info']);
  }
  printTable(ratioRows, [false, true, true, false]);
  console.log('');
}

function ratio(results, { num, den }) {
  const d = results.get(den).overhead;
  return d > 0 ? Math.max(0, results.get(num).overhead) / d : Number.NaN;
}







async function importDist() {
  for (let tries = 1; ; tries++) {
    try {
      return await import(`../dist/index.js${tries > 1 ? `?try=${tries}` : ''}`);
    } catch (error) {
      if (tries >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}


// ---------------------------------------------------------------------------------------------

await main();

// The bench must not keep the process alive. Every case has settled, so no timer of ours (a
// per-attempt deadline), cockatiel's or opossum's (its per-fire timeout) may still be referenced;
// opossum's rolling-stats intervals are unref'd, and shut down here anyway.
const referenced = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate');
opossum.shutdown();
console.log(
  referenced.length === 0
    ? 'Timers holding the process open after the last case: none.'
    : `Timers holding the process open after the last case: ${referenced.length} (${referenced.join(', ')})`,
);
const reportedAt = Date.now();
process.on('exit', () => {
  const ms = Date.now() - reportedAt;
  if (ms > 100) console.log(`Process exited ${ms} ms after the report.`);
});
