// Publish throughput of closed-loop's RealtimeSyncService (default InMemoryTransport) against raw
// eventemitter3, to 1, 10 and 100 subscribers on one topic. Run with `npm run build` first, then
// `node bench/realtime.mjs` (or REALTIME_DIST=/path/to/index.js to bench another build).
//
// What is timed: a batch of synchronous calls, `service.publish('orders', record)` against
// `emitter.emit('orders', record)`, every subscriber/listener counting what it receives. A publish
// does everything a real one does: input checks, a fresh eventId and a clock timestamp, the
// latest-state update, local delivery, and the hand-off to the transport (which echoes the event
// back to its publisher, where it is dropped by id). Records cycle through RECORDS ids with
// versions, so the latest-state cache holds RECORDS entries and every publish updates one.
//
// Rounds are interleaved: each round runs one batch of every case, in a fresh (seeded) order, so
// machine noise falls on all cases alike. Warm-up rounds (not recorded) size each case's batch to
// about BATCH_MS of work. The figure per case is the median over rounds.
//
// Targets: at 100 subscribers, closed-loop delivers at least 0.5x raw eventemitter3's deliveries/s;
// at 1 subscriber, one publish costs at most 10 raw emits.
//
// Environment knobs: BENCH_ROUNDS (default 25), BENCH_WARMUP (default 3 rounds), BENCH_BATCH_MS
// (default 30), REALTIME_DIST (the built core to import; default ../dist/index.js). To bench the core
// alone while other entries do not build: `npx tsup src/index.ts --format esm --no-dts --out-dir
// node_modules/.cache/rt-dist` then REALTIME_DIST=node_modules/.cache/rt-dist/index.js (a directory
// under the repository, so that the build's own imports resolve).
//
// The bench reports; it is not a test: it exits 0 whether targets are met or not.

import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { EventEmitter } from 'eventemitter3';
import { median, mulberry32, positiveInt, printTable, quantile, shuffled, versionOf } from './lib.mjs';

const ROUNDS = positiveInt(process.env.BENCH_ROUNDS, 25);
const WARMUP = positiveInt(process.env.BENCH_WARMUP, 3);
const BATCH_MS = positiveInt(process.env.BENCH_BATCH_MS, 30);
const WARMUP_BATCH = 20_000;
const MIN_BATCH = 1_000;
const MAX_BATCH = 5_000_000;
const SETTLE_CALLS = 2_000;
const FANOUTS = [1, 10, 100];
const RECORDS = 1_000;
const TOPIC = 'orders';

const distUrl = process.env.REALTIME_DIST
  ? pathToFileURL(process.env.REALTIME_DIST).href
  : new URL('../dist/index.js', import.meta.url).href;
const { RealtimeSyncService } = await importDist(distUrl);
if (typeof RealtimeSyncService !== 'function') {
  console.error(`bench: ${distUrl} exports no RealtimeSyncService: rebuild it (npm run build)`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// The payloads, emitters and services, all built once, outside the timed loops.

const records = Array.from({ length: RECORDS }, (_, i) => ({ id: i, status: 'paid', total: 1999, version: 1 }));

let received = 0;

function rawCase(n) {
  const emitter = new EventEmitter();
  // One closure per listener (not one shared function), as distinct subscribers would be.
  for (let i = 0; i < n; i++) emitter.on(TOPIC, () => received++);
  return {
    id: `raw${n}`,
    label: `eventemitter3 emit, ${n} listener${n === 1 ? '' : 's'}`,
    fanout: n,
    run(count) {
      for (let i = 0; i < count; i++) emitter.emit(TOPIC, records[i % RECORDS]);
    },
  };
}

function oursCase(n) {
  const service = new RealtimeSyncService();
  for (let i = 0; i < n; i++) service.subscribe(TOPIC, () => received++);
  return {
    id: `ours${n}`,
    label: `closed-loop publish, ${n} subscriber${n === 1 ? '' : 's'}`,
    fanout: n,
    service,
    run(count) {
      for (let i = 0; i < count; i++) service.publish(TOPIC, records[i % RECORDS]);
    },
  };
}

// One case object per (library, fanout): every case has its own loop closure over its own emitter.
const cases = FANOUTS.flatMap((n) => [rawCase(n), oursCase(n)]);

// ---------------------------------------------------------------------------------------------

function timeBatch(c, n) {
  c.run(SETTLE_CALLS);
  const t0 = process.hrtime.bigint();
  c.run(n);
  const t1 = process.hrtime.bigint();
  return Number(t1 - t0) / n;
}

function main() {
  const started = process.hrtime.bigint();

  // Every case must deliver each publish to each subscriber exactly once.
  for (const c of cases) {
    const before = received;
    c.run(10);
    if (received - before !== 10 * c.fanout) {
      throw new Error(`bench: case ${c.id} delivered ${received - before} times for 10 publishes to ${c.fanout}`);
    }
  }
  const sample = cases.find((c) => c.id === 'ours1').service;
  if (sample.getLatest(TOPIC, 3)?.id !== 3) throw new Error('bench: the latest-state cache was not updated');

  const random = mulberry32(0x5eed);
  const fastest = new Map(cases.map((c) => [c.id, Infinity]));
  for (let round = 0; round < WARMUP; round++) {
    for (const c of shuffled(cases, random)) fastest.set(c.id, Math.min(fastest.get(c.id), timeBatch(c, WARMUP_BATCH)));
  }
  const batchSize = new Map();
  for (const c of cases) {
    const n = Math.round((BATCH_MS * 1e6) / fastest.get(c.id) / 1000) * 1000;
    batchSize.set(c.id, Math.min(MAX_BATCH, Math.max(MIN_BATCH, n)));
  }

  const samples = new Map(cases.map((c) => [c.id, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of shuffled(cases, random)) samples.get(c.id).push(timeBatch(c, batchSize.get(c.id)));
  }

  const results = new Map();
  for (const c of cases) {
    const s = samples.get(c.id);
    const ns = median(s);
    results.set(c.id, {
      label: c.label,
      fanout: c.fanout,
      calls: batchSize.get(c.id),
      ns,
      p25: quantile(s, 0.25),
      p75: quantile(s, 0.75),
      deliveriesPerS: (c.fanout * 1e9) / ns,
    });
  }
  printReport(results, Number(process.hrtime.bigint() - started) / 1e9);
}

function printReport(results, elapsedS) {
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  console.log('');
  console.log(
    `closed-loop realtime benchmark — Node ${process.version}, ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? 'unknown'}), ${process.platform}/${process.arch}`,
  );
  console.log(`closed-loop ${versionOf('..')} (${distUrl.replace(/^file:\/\//, '')}) · eventemitter3 ${versionOf('eventemitter3')}`);
  console.log(
    `${ROUNDS} interleaved rounds (+${WARMUP} warm-up), batches of ~${BATCH_MS} ms of synchronous publishes, median per case; ${RECORDS} records cycled; ${elapsedS.toFixed(1)} s`,
  );
  console.log('');

  const rows = [['case', 'calls/batch', 'ns/publish', 'p25–p75', 'deliveries/s']];
  for (const r of results.values()) {
    rows.push([r.label, r.calls, r.ns.toFixed(1), `${r.p25.toFixed(1)}–${r.p75.toFixed(1)}`, fmt(r.deliveriesPerS)]);
  }
  printTable(rows, [false, true, true, true, true]);

  console.log('');
  const ratioRows = [['measure', 'value', 'target', 'result']];
  for (const n of FANOUTS) {
    const ratio = results.get(`ours${n}`).deliveriesPerS / results.get(`raw${n}`).deliveriesPerS;
    const target = n === 100 ? 0.5 : undefined;
    ratioRows.push([
      `deliveries/s at ${n} subscriber${n === 1 ? '' : 's'}: closed-loop / eventemitter3`,
      ratio.toFixed(3),
      target === undefined ? '—' : `>= ${target}`,
      target === undefined ? 'info' : ratio >= target ? 'PASS' : 'MISS',
    ]);
  }
  const cost = results.get('ours1').ns / results.get('raw1').ns;
  ratioRows.push(['cost of one publish at 1 subscriber, in raw emits', cost.toFixed(2), '<= 10', cost <= 10 ? 'PASS' : 'MISS']);
  printTable(ratioRows, [false, true, true, false]);
  console.log('');
}

async function importDist(url) {
  // dist/ may be rebuilt (and briefly removed) by a concurrent build: retry the import a few times.
  for (let tries = 1; ; tries++) {
    try {
      return await import(`${url}${tries > 1 ? `?try=${tries}` : ''}`);
    } catch (error) {
      if (tries >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

main();
if (received === 0) console.log('(no deliveries counted)');
