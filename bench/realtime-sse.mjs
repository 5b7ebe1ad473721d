// SSE fan-out: one Express 5 server with realtimeSse() streaming a RealtimeSyncService's events to
// 500 local clients. Prints events/s and deliveries/s (events × clients) at full speed, and delivery
// latency (publish timestamp → the client has the frame) at fixed publish rates. Run with
// `npm run build && node bench/realtime-sse.mjs` (it imports the built package from ../dist/, or from
// $CLOSED_LOOP_DIST when set).
//
// The server runs in a child process (this file with `--serve`) and the clients in this process, so
// on a 2-core machine each side gets a core. Clients are raw node:http GETs (agent: false, one socket
// each) that split frames and read the event's `n` and publish timestamp `t` from the data line.
// Timestamps are performance.timeOrigin + performance.now() on both sides (same machine clock).
//
// Phases:
// 1. Throughput, BENCH_ROUNDS rounds (default 3): the server publishes BENCH_EVENTS events (default
//    2000) as fast as it can, BENCH_PER_TICK (default 20) per event-loop turn; the figure is events
//    / (time from the first publish to the moment every client has every event). Median over rounds.
// 2. Latency at fixed rates, BENCH_RATES (events/s, default "100,1000"), BENCH_DURATION seconds each
//    (default 4): p50/p99/max over every delivery.
// Every client must receive every event once and in order, else the bench says so.
// The handler's writes are batched per tick (one res.write per connection per event-loop turn).
//
// Environment knobs: BENCH_CLIENTS (default 500), BENCH_EVENTS, BENCH_PER_TICK, BENCH_ROUNDS,
// BENCH_RATES, BENCH_DURATION, CLOSED_LOOP_DIST (a directory with index.js and express.js).
//
// The bench reports; it is not a test: it exits 0 whether or not the figures are good.

import { fork } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, positiveInt, printTable, quantile, versionOf } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const CLIENTS = positiveInt(process.env.BENCH_CLIENTS, 500);
const EVENTS = positiveInt(process.env.BENCH_EVENTS, 2000);
const PER_TICK = positiveInt(process.env.BENCH_PER_TICK, 20);
const ROUNDS = positiveInt(process.env.BENCH_ROUNDS, 3);
const DURATION_S = positiveInt(process.env.BENCH_DURATION, 4);
const RATES = (process.env.BENCH_RATES ?? '100,1000')
  .split(',')
  .map(Number)
  .filter((r) => Number.isFinite(r) && r > 0);

const now = () => performance.timeOrigin + performance.now();

if (process.argv.includes('--serve')) await serve();
else await main();

// ---- server (child process) ----

async function serve() {
  const dist = process.env.CLOSED_LOOP_DIST ? pathToFileURL(`${process.env.CLOSED_LOOP_DIST.replace(/\/$/, '')}/`) : new URL('../dist/', import.meta.url);
  const { RealtimeSyncService } = await import(new URL('index.js', dist).href);
  const { realtimeSse } = await import(new URL('express.js', dist).href);
  const { default: express } = await import('express');
  // The bench's own ids are just counters; the latest-state cache is on (its default), as in an app.
  const service = new RealtimeSyncService();
  // Big enough that no client is dropped for backpressure while a burst is in flight.
  const events = realtimeSse(service, { bufferSize: 1000, maxQueuedBytes: 64 * 1024 * 1024 });
  const app = express();
  app.get('/events', events);
  const server = http.createServer(app);
  server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
  let n = 0;
  process.on('message', (msg) => {
    if (msg.type === 'connections') process.send({ type: 'connections', count: events.connectionCount });
    else if (msg.type === 'burst') {
      const end = n + msg.count;
      const start = now();
      const step = () => {
        for (let i = 0; i < msg.perTick && n < end; i++) {
          n++;
          service.publish('bench', { id: n % 100, n, t: now() });
        }
        if (n < end) setImmediate(step);
        else process.send({ type: 'published', last: n, ms: now() - start });
      };
      step();
    } else if (msg.type === 'rate') {
      const end = n + Math.round(msg.rate * msg.seconds);
      const start = now();
      const interval = 1000 / msg.rate;
      let sent = 0;
      // Catches up with the schedule on every timer tick: the rate holds even with 1 ms timer slack.
      const tick = () => {
        const due = Math.min(end - n, Math.floor((now() - start) / interval) + 1 - sent);
        for (let i = 0; i < due; i++) {
          n++;
          sent++;
          service.publish('bench', { id: n % 100, n, t: now() });
        }
        if (n < end) setTimeout(tick, Math.max(0, start + sent * interval - now()));
        else process.send({ type: 'published', last: n, ms: now() - start });
      };
      tick();
    } else if (msg.type === 'exit') {
      events.close();
      server.closeAllConnections();
      server.close(() => process.exit(0));
    }
  });
}

// ---- clients and measurement (parent) ----

async function main() {
  const child = fork(SELF, ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox = [];
  const waiters = [];
  child.on('message', (msg) => {
    const index = waiters.findIndex((w) => w.type === msg.type);
    if (index === -1) inbox.push(msg);
    else waiters.splice(index, 1)[0].resolve(msg);
  });
  const receive = (type) =>
    new Promise((resolve) => {
      const index = inbox.findIndex((m) => m.type === type);
      if (index !== -1) resolve(inbox.splice(index, 1)[0]);
      else waiters.push({ type, resolve });
    });
  const { port } = await receive('ready');

  // Per client: the next expected n, and its errors. Latencies go to one shared array.
  let latencies = [];
  let recording = false;
  let errors = 0;
  let lastN = 0;
  let target = Number.POSITIVE_INFINITY;
  let pending = 0;
  let onAll = null;
  const clients = [];
  const DATA_RE = /"n":(\d+),"t":([\d.]+)/;
  await Promise.all(
    Array.from({ length: CLIENTS }, () =>
      new Promise((resolve, reject) => {
        const client = { expected: 1, opened: false, buffer: '', gone: false, done: true };
        clients.push(client);
        const req = http.get({ host: '127.0.0.1', port, path: '/events', agent: false, headers: { accept: 'text/event-stream' } });
        req.on('error', reject);
        req.on('response', (res) => {
          res.setEncoding('utf8');
          res.on('data', (text) => {
            const at = now();
            let buffer = client.buffer + text;
            let end;
            while ((end = buffer.indexOf('\n\n')) !== -1) {
              const frame = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              if (!client.opened) {
                client.opened = true;
                resolve();
              }
              const m = DATA_RE.exec(frame);
              if (m === null) continue;
              const n = Number(m[1]);
              if (client.expected === 1 && n > 1) client.expected = n; // joined mid-way: fine
              if (n !== client.expected) errors++;
              client.expected = n + 1;
              if (recording) latencies.push(at - Number(m[2]));
            }
            client.buffer = buffer;
            if (!client.done && client.expected > target) {
              client.done = true;
              if (--pending === 0 && onAll !== null) {
                const done = onAll;
                onAll = null;
                done();
              }
            }
          });
          res.on('close', () => {
            client.gone = true;
          });
        });
      }),
    ),
  );
  child.send({ type: 'connections' });
  const { count } = await receive('connections');

  // Resolves once every client has event n (event-driven: no polling loop competing for the CPU).
  const waitAll = (n) => {
    target = n;
    pending = 0;
    for (const c of clients) {
      c.done = c.gone || c.expected > n;
      if (!c.done) pending++;
    }
    if (pending === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`clients did not receive event ${n} within 60 s`)), 60_000);
      onAll = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  };

  // Warm-up: one small burst, not recorded.
  child.send({ type: 'burst', count: 200, perTick: PER_TICK });
  lastN = (await receive('published')).last;
  await waitAll(lastN);

  const throughput = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = now();
    child.send({ type: 'burst', count: EVENTS, perTick: PER_TICK });
    lastN = (await receive('published')).last;
    await waitAll(lastN);
    const seconds = (now() - start) / 1000;
    throughput.push(EVENTS / seconds);
    await new Promise((r) => setTimeout(r, 200));
  }

  const latency = [];
  for (const rate of RATES) {
    latencies = [];
    recording = true;
    child.send({ type: 'rate', rate, seconds: DURATION_S });
    const published = await receive('published');
    lastN = published.last;
    await waitAll(lastN);
    recording = false;
    const achieved = (rate * DURATION_S) / (published.ms / 1000);
    latency.push({ rate, achieved, deliveries: latencies.length, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies.reduce((a, b) => (b > a ? b : a), 0) });
    await new Promise((r) => setTimeout(r, 200));
  }

  child.send({ type: 'exit' });
  for (const c of clients) c.gone = true;
  const dropped = clients.filter((c) => c.expected <= lastN).length;

  console.log(`SSE fan-out: closed-loop ${versionOf('..')}, express ${versionOf('express')}, Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'})`);
  console.log(`${count} clients connected (server count), server in a child process, writes batched per event-loop turn.\n`);
  const tMedian = median(throughput);
  printTable(
    [
      ['full speed', 'events/s', 'deliveries/s', 'rounds'],
      [`${EVENTS} events, ${PER_TICK} per turn`, Math.round(tMedian).toLocaleString('en'), Math.round(tMedian * count).toLocaleString('en'), `${ROUNDS} (median; min ${Math.round(Math.min(...throughput))}, max ${Math.round(Math.max(...throughput))})`],
    ],
    [false, true, true, false],
  );
  console.log('');
  printTable(
    [
      ['fixed rate', 'events/s (achieved)', 'deliveries', 'p50 ms', 'p99 ms', 'max ms'],
      ...latency.map((l) => [
        `${l.rate} events/s for ${DURATION_S} s`,
        l.achieved.toFixed(0),
        l.deliveries.toLocaleString('en'),
        l.p50.toFixed(2),
        l.p99.toFixed(2),
        l.max.toFixed(2),
      ]),
    ],
    [false, true, true, true, true, true],
  );
  console.log('');
  console.log(errors === 0 && dropped === 0 ? 'Every client got every event once, in order.' : `PROBLEM: ${errors} out-of-order/missing deliveries, ${dropped} clients behind.`);
  await new Promise((r) => child.once('exit', r));
  process.exit(0);
}
