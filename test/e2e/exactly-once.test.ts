// Node only (real processes, sockets and a redis-server; not part of the browser project).
//
// The whole loop, end to end (issue 4, "Proof"): 20 `createSyncClient` instances send 2,000
// mutations to two Express app instances (child processes: test/e2e/fixtures/app-server.ts) that
// share one Redis idempotency store, each instance behind a fault-injecting loopback proxy
// (test/e2e/fault-proxy.ts: 5xx before and after the handler, answers dropped after the handler
// ran, connection resets, latency). Each client keeps 4 calls in flight. Instance A is killed with
// SIGKILL once 30% of the mutations have settled, while one of its handlers is between its effect
// and its stored answer; the clients' breakers and failover carry on through B. Counted in Redis,
// where the side effect lives: every mutation applied exactly once, none lost, every promise
// settled, and the handler ran once per mutation except for requests the SIGKILL cut between their
// effect and their stored answer (their lease expires and one retry takes over).
//
// Times are real here. The faults are seeded: the seed is printed, and E2E_SEED=<seed> rolls the
// same dice for each mutation's n-th attempt at each proxy (the interleaving, and so which proxy an
// attempt reaches and the moment of the kill, still varies from run to run).
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createSyncClient, type SyncClient, type SyncResponse } from 'closed-loop';
import { type BundledFixture, bundleFixture } from '../support/bundle-fixture.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { type FaultKind, type FaultProxy, startFaultProxy } from './fault-proxy.js';

const CLIENTS = 20;
const PER_CLIENT = 100;
const TOTAL = CLIENTS * PER_CLIENT;
/** Calls each client keeps in flight at once. */
const CONCURRENCY = 4;
const LEASE_MS = 1_000;
/** Kill A once this many mutations have settled (and a request is in flight on it). */
const KILL_AFTER = Math.round(TOTAL * 0.3);
/**
 * A hang fails with the count still pending: no mutation may go this long without another one
 * settling. (Progress, not a budget for the whole run: on a loaded machine the run is just slower.
 * With 80 calls in flight and a 10 s per-attempt timeout, 30 s without any settling is a hang.)
 */
const STALL_MS = 30_000;
const SEED = process.env.E2E_SEED ? Number(process.env.E2E_SEED) : Math.floor(Math.random() * 2 ** 31);

let redisServer: RedisServer;
let redis: Redis;
let fixture: BundledFixture | undefined;
const children: ChildProcess[] = [];
const proxies: FaultProxy[] = [];
const clients: SyncClient[] = [];

beforeAll(async () => {
  const [server, bundled] = await Promise.all([startRedisServer(), bundleFixture('app-server', 'test/e2e/fixtures/app-server.ts')]);
  fixture = bundled;
  redisServer = server;
  redis = new Redis(redisServer.url);
}, 60_000);

afterAll(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  redis?.disconnect();
  await redisServer?.stop();
  fixture?.remove();
});

interface App {
  process: ChildProcess;
  url: string;
  exited: Promise<void>;
  /** Calls `listener` with every later line the app prints. */
  onLine(listener: (line: string) => void): void;
  /** Writes one line to the app's stdin. */
  send(line: string): void;
}

/** Spawns one app instance and resolves once it prints `LISTENING <port>`. */
function startApp(name: string, env: Record<string, string>): Promise<App> {
  const child = spawn(process.execPath, [fixture!.script], {
    env: { ...process.env, NAME: name, REDIS_URL: redisServer.url, LEASE_MS: String(LEASE_MS), SEED: String(SEED), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdin.on('error', () => {}); // writes to a killed instance go nowhere
  const killOnExit = () => child.kill('SIGKILL'); // never outlive the test process
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => process.off('exit', killOnExit));
  let stdout = '';
  let stderr = '';
  let partial = '';
  const lineListeners: Array<(line: string) => void> = [];
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise<App>((resolve, reject) => {
    let listening = false;
    const fail = (why: string) => {
      if (listening) return;
      child.kill('SIGKILL');
      reject(new Error(`app ${name} ${why}:\n${stdout}\n${stderr}`));
    };
    // No time limit of its own (a slow start on a loaded machine is not a failure): the test's bounds it.
    void exited.then(() => fail('exited before printing LISTENING'));
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!listening) {
          stdout += `${line}\n`;
          const match = /^LISTENING (\d+)$/.exec(line);
          if (match) {
            listening = true;
            resolve({
              process: child,
              url: `http://127.0.0.1:${match[1]}`,
              exited,
              onLine: (listener) => lineListeners.push(listener),
              send: (text) => {
                if (child.exitCode === null && child.signalCode === null) child.stdin.write(`${text}\n`);
              },
            });
          }
        } else {
          for (const listener of lineListeners) listener(line);
        }
      }
    });
  });
}

/** The mutation id in a request body, for the proxies' dice and in-flight lists. */
function mutationIdOf(body: Buffer): string | undefined {
  try {
    const id = (JSON.parse(body.toString('utf8')) as { mutationId?: unknown }).mutationId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

type Outcome = { ok: true; response: SyncResponse<{ mutationId: string; server: string }> } | { ok: false; error: unknown };

test(
  `2,000 mutations from 20 clients through faulty proxies and a SIGKILLed instance: each applied exactly once, none lost`,
  async () => {
    const ns = `e2e:${process.pid}:`;
    const appEnv = { PREFIX: `${ns}idem:`, NS: ns };
    console.log(`exactly-once e2e: seed ${SEED} (E2E_SEED=${SEED} rolls the same fault dice again)`);

    // A holds each slow tail until told to go on: the kill below lands inside it however loaded the machine.
    const [appA, appB] = await Promise.all([startApp('A', { ...appEnv, HOLD_SLOW: '1' }), startApp('B', appEnv)]);
    const [proxyA, proxyB] = await Promise.all([
      startFaultProxy({ target: appA.url, seed: SEED, name: 'A', requestId: mutationIdOf }),
      startFaultProxy({ target: appB.url, seed: SEED, name: 'B', requestId: mutationIdOf }),
    ]);
    proxies.push(proxyA, proxyB);

    for (let c = 0; c < CLIENTS; c++) {
      clients.push(
        createSyncClient({
          baseUrl: [proxyA.url, proxyB.url],
          // Half the clients start every call at A (failover), half alternate (round-robin).
          loadBalancing: c % 2 === 0 ? 'failover' : 'round-robin',
          retry: { maxAttempts: 30, initialDelayMs: 5, maxDelayMs: 100, timeoutMs: 10_000 },
          // Rate mode: a dead server (every call fails) opens; a flaky one (~35% injected faults)
          // does not, so there is always a server to fail over to.
          breaker: { failureRateThreshold: 0.9, minimumCalls: 20, windowMs: 2_000, resetTimeoutMs: 500 },
        }),
      );
    }

    // Kill A once 30% have settled: the next time one of its handlers announces a slow tail after
    // its effect (`SLOW <id>`), so that at least one request dies between its effect and its stored
    // answer. Should no slow tail come by 50%, at any moment with a request in flight on A.
    let settled = 0;
    let lastSettledAt = performance.now();
    let killedAt: number | undefined;
    let cutInWindow: string | undefined;
    const inFlightAtKill = new Set<string>();
    const killA = (slowId: string | undefined) => {
      appA.process.kill('SIGKILL');
      killedAt = settled;
      cutInWindow = slowId;
      for (const id of proxyA.inFlight()) inFlightAtKill.add(id);
      // Anything forwarded before the process is gone may still have reached it.
      const late = (id: string) => inFlightAtKill.add(id);
      proxyA.on('forward', late);
      void appA.exited.then(() => proxyA.off('forward', late));
    };
    appA.onLine((line) => {
      const slow = /^SLOW (\S+)$/.exec(line);
      if (!slow) return;
      if (killedAt === undefined && settled >= KILL_AFTER) killA(slow[1]);
      else appA.send(`CONTINUE ${slow[1]}`);
    });
    const onSettled = () => {
      settled++;
      lastSettledAt = performance.now();
      if (killedAt === undefined && settled >= TOTAL / 2 && proxyA.inFlight().length > 0) killA(undefined);
    };

    let attemptsCounted = 0;
    const outcomes = new Map<string, Outcome>();
    const started = performance.now();
    const runClient = async (client: SyncClient, c: number) => {
      const ids = Array.from({ length: PER_CLIENT }, (_, i) => `m${c}-${i}`);
      const worker = async () => {
        for (let id = ids.shift(); id !== undefined; id = ids.shift()) {
          try {
            const response = await client.post<{ mutationId: string; server: string }>(
              '/apply',
              { mutationId: id },
              { onAttempt: () => attemptsCounted++ },
            );
            outcomes.set(id, { ok: true, response });
          } catch (error) {
            outcomes.set(id, { ok: false, error });
          }
          onSettled();
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    };
    const everything = Promise.all(clients.map(runClient));
    let watchdog: NodeJS.Timeout | undefined;
    await Promise.race([
      everything,
      new Promise((_, reject) => {
        watchdog = setInterval(() => {
          const idleMs = performance.now() - lastSettledAt;
          if (idleMs >= STALL_MS) {
            reject(new Error(`${TOTAL - settled} of ${TOTAL} mutations still pending; none settled in the last ${Math.round(idleMs)} ms`));
          }
        }, 1_000);
      }),
    ]).finally(() => clearInterval(watchdog));
    const durationMs = Math.round(performance.now() - started);
    await appA.exited;

    // --- what the clients saw ---
    const rejected = [...outcomes].filter(([, o]) => !o.ok);
    const fulfilled = [...outcomes.values()].filter((o): o is Extract<Outcome, { ok: true }> => o.ok);
    const replayed = fulfilled.filter((o) => o.response.replayed).length;
    const servedBy = { A: 0, B: 0 };
    for (const o of fulfilled) servedBy[o.response.data.server as 'A' | 'B']++;

    // --- what happened where the effect lives ---
    const runs = await redis.hgetall(`${ns}runs`);
    const applied = await redis.hgetall(`${ns}applied`);
    const ids = Array.from({ length: TOTAL }, (_, i) => `m${Math.floor(i / PER_CLIENT)}-${i % PER_CLIENT}`);
    const notApplied = ids.filter((id) => applied[id] === undefined);
    const appliedTwice = ids.filter((id) => Number(applied[id]) > 1);
    const rerun = ids.filter((id) => Number(runs[id] ?? 0) > 1);
    const totalRuns = Object.values(runs).reduce((sum, n) => sum + Number(n), 0);

    const faults: Record<FaultKind, number> = { 'reset-before': 0, 'error-before': 0, 'error-after': 0, 'drop-after': 0 };
    for (const proxy of [proxyA, proxyB]) for (const kind of Object.keys(faults) as FaultKind[]) faults[kind] += proxy.stats.faults[kind];
    const attempts = proxyA.stats.requests + proxyB.stats.requests;
    console.log(
      [
        `exactly-once e2e (seed ${SEED}): ${TOTAL} mutations from ${CLIENTS} clients in ${durationMs} ms`,
        `  settled: ${fulfilled.length} fulfilled, ${rejected.length} rejected; ${replayed} answered by a replay (Idempotent-Replayed: true); served by A ${servedBy.A}, B ${servedBy.B} (whose handler run made the answer)`,
        `  attempts at the proxies: ${attempts} (A ${proxyA.stats.requests}, B ${proxyB.stats.requests}); counted by the clients: ${attemptsCounted}`,
        `  injected faults: ${Object.entries(faults).map(([k, n]) => `${k} ${n}`).join(', ')}; 502 for a dead upstream: ${proxyA.stats.upstreamErrors + proxyB.stats.upstreamErrors}`,
        `  A killed (SIGKILL) after ${killedAt} settled, with ${inFlightAtKill.size} request(s) in flight on it${cutInWindow ? `, ${cutInWindow} between its effect and its stored answer` : ''}`,
        `  handler runs: ${totalRuns} for ${TOTAL} mutations; run more than once: ${rerun.length}${rerun.length ? ` (${rerun.slice(0, 40).map((id) => `${id}×${runs[id]}`).join(', ')}${rerun.length > 40 ? ', …' : ''})` : ''}`,
        `  side effects applied: ${Object.keys(applied).length} mutations; missing ${notApplied.length}; applied twice ${appliedTwice.length}`,
        `  client breakers at the end: ${clients.map((c) => c.getServers().map((s) => s.state[0]).join('')).join(' ')}`,
      ].join('\n'),
    );

    // Every promise settled, none rejected.
    expect(outcomes.size).toBe(TOTAL);
    expect(rejected.map(([id, o]) => `${id}: ${String((o as { error: unknown }).error)}`)).toEqual([]);
    for (const [id, o] of outcomes) {
      const response = (o as Extract<Outcome, { ok: true }>).response;
      expect(response.status).toBe(201);
      expect(response.data.mutationId).toBe(id);
    }
    // A died mid-run, with work in flight.
    expect(killedAt).toBeDefined();
    expect(inFlightAtKill.size).toBeGreaterThan(0);
    expect(appA.process.signalCode).toBe('SIGKILL');
    // Exactly once where it matters: every side effect applied, none twice.
    expect(notApplied).toEqual([]);
    expect(appliedTwice).toEqual([]);
    expect(Object.keys(applied)).toHaveLength(TOTAL);
    // The handler ran for every mutation, and again only for requests the SIGKILL cut off.
    expect(ids.filter((id) => runs[id] === undefined)).toEqual([]);
    expect(rerun.length).toBeLessThanOrEqual(inFlightAtKill.size);
    expect(rerun.filter((id) => !inFlightAtKill.has(id))).toEqual([]);
    expect(rerun.filter((id) => Number(runs[id]) > 2)).toEqual([]);
    // The one cut between its effect and its answer: its lease expired and one retry (on B) took
    // over, ran the handler again, found the effect applied, and answered.
    if (cutInWindow !== undefined) {
      expect(runs[cutInWindow]).toBe('2');
      expect(applied[cutInWindow]).toBe('1');
      expect(outcomes.get(cutInWindow)).toMatchObject({ ok: true, response: { status: 201, data: { server: 'B' } } });
    }
    // The faults did happen, and the clients' attempts are the ones the proxies counted.
    for (const kind of Object.keys(faults) as FaultKind[]) expect(faults[kind]).toBeGreaterThan(0);
    expect(replayed).toBeGreaterThan(0);
    expect(attemptsCounted).toBe(attempts);
  },
  // Bounds a run that keeps crawling forward on a very loaded machine; a hang fails sooner (STALL_MS).
  300_000,
);
