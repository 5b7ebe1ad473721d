// Node only. Contract behaviour 12 across real processes: a handler whose process dies mid-request
// leaves a lease in Redis; while it lives, retries (to another server sharing the Redis) get 409;
// after `leaseMs` exactly one retry takes over and runs the handler once. The handler counts its
// runs in Redis (INCR), so "once" is checked where the side effect lives. Times are real here: the
// servers are separate processes (test/redis/fixtures/crash-server.ts, bundled from the sources).
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { RedisIdempotencyStore } from 'closed-loop/redis';
import { type BundledFixture, bundleFixture } from '../support/bundle-fixture.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';

const LEASE_MS = 1_000;

let redisServer: RedisServer;
let redis: Redis;
let fixture: BundledFixture | undefined;
const children: ChildProcess[] = [];
let run = 0;

beforeAll(async () => {
  const [server, bundled] = await Promise.all([startRedisServer(), bundleFixture('crash-server', 'test/redis/fixtures/crash-server.ts')]);
  fixture = bundled;
  redisServer = server;
  redis = new Redis(redisServer.url);
}, 60_000);

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  redis?.disconnect();
  await redisServer?.stop();
  fixture?.remove();
});

interface Child {
  process: ChildProcess;
  url: string;
  /**
   * Resolves with the first output line matching `pattern` (already printed ones included); rejects
   * if the process exits first. No time limit of its own: the test's timeout bounds it (a child
   * that starts slowly on a loaded machine is not a failure).
   */
  waitFor(pattern: RegExp): Promise<string>;
  /** Lets a `stall` handler finish (writes a line to the child's stdin). */
  release(): void;
}

async function startServer(name: string, mode: 'respond' | 'hang' | 'stall', env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, [fixture!.script], {
    env: { ...process.env, NAME: name, MODE: mode, LEASE_MS: String(LEASE_MS), REDIS_URL: redisServer.url, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdin.on('error', () => {}); // a child killed by the test closes its stdin
  const killOnExit = () => child.kill('SIGKILL'); // never outlive the test process
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const lines: string[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const waitFor = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = lines.find((l) => pattern.test(l));
        if (line !== undefined) {
          cleanup();
          resolve(line);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          cleanup();
          reject(new Error(`server ${name} exited before printing ${pattern}:\n${stderr}`));
        }
      };
      const cleanup = () => {
        waiters.delete(check);
        child.off('exit', check);
      };
      waiters.add(check);
      child.on('exit', check);
      check();
    });
  const port = Number((await waitFor(/^LISTENING \d+$/)).split(' ')[1]);
  return { process: child, url: `http://127.0.0.1:${port}`, waitFor, release: () => child.stdin.end('release\n') };
}

function charge(server: Child, key: string, amount = 5): Promise<Response> {
  return fetch(`${server.url}/charge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ amount }),
  });
}

function setup() {
  run++;
  const prefix = `crash-${process.pid}-${run}:`;
  const counterKey = `crash-count-${process.pid}-${run}`;
  const env = { PREFIX: prefix, COUNTER_KEY: counterKey };
  const count = async () => Number((await redis.get(counterKey)) ?? 0);
  // The test's own view of the records, through the same adapter.
  const store = new RedisIdempotencyStore(redis, { prefix });
  /** Waits (real time) until the one record's lease has expired. */
  const leaseExpired = async () => {
    // The middleware's store key (its scoping is its own business): the only record under the prefix.
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    const record = await store.get(keys[0]!.slice(prefix.length + 1, -1));
    expect(record?.state).toBe('in_progress');
    const wait = record!.leaseExpiresAt! - Date.now() + 25;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  };
  return { env, count, store, leaseExpired };
}

test('a killed handler: 409 while its lease lives, then exactly one of 10 parallel retries takes over and runs once', async () => {
  const { env, count, leaseExpired } = setup();
  const [crashing, survivor] = await Promise.all([startServer('A', 'hang', env), startServer('B', 'respond', env)]);
  const key = 'order-crash-1';

  const lost = charge(crashing, key).then(
    () => 'answered',
    () => 'connection lost',
  );
  await crashing.waitFor(/^IN_HANDLER 1$/);
  crashing.process.kill('SIGKILL');
  expect(await lost).toBe('connection lost');
  expect(await count()).toBe(1);

  // The lease (1 s) is still live: the other server refuses, with Retry-After, and runs nothing.
  const refused = await Promise.all(Array.from({ length: 10 }, () => charge(survivor, key)));
  for (const response of refused) {
    expect(response.status).toBe(409);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await response.json()).toMatchObject({ status: 409, code: 'KEY_IN_USE' });
  }
  expect(await count()).toBe(1);

  await leaseExpired();
  const retries = await Promise.all(Array.from({ length: 10 }, () => charge(survivor, key)));
  const bodies = await Promise.all(retries.map(async (r) => ({ status: r.status, replayed: r.headers.get('idempotent-replayed'), body: await r.text() })));
  const executed = bodies.filter((b) => b.status === 201 && b.replayed !== 'true');
  expect(executed).toHaveLength(1);
  // The rest either arrived while the takeover ran (409) or after it completed (the replay).
  for (const b of bodies) {
    if (b === executed[0]) continue;
    if (b.status === 201) expect(b).toEqual({ ...executed[0], replayed: 'true' });
    else expect(b.status).toBe(409);
  }
  expect(JSON.parse(executed[0]!.body)).toEqual({ charged: 5, execution: 2, server: 'B' });
  expect(await count()).toBe(2);

  // And from now on every retry, on any server, is the stored answer.
  const later = await charge(survivor, key);
  expect(later.status).toBe(201);
  expect(later.headers.get('idempotent-replayed')).toBe('true');
  expect(await later.text()).toBe(executed[0]!.body);
  expect(await count()).toBe(2);
}, 30_000);

test('a stalled handler whose lease was taken over cannot overwrite the new result (fencing over HTTP)', async () => {
  const { env, count, leaseExpired } = setup();
  const [slow, other] = await Promise.all([
    startServer('A', 'stall', env),
    startServer('B', 'respond', env),
  ]);
  const key = 'order-stall-1';

  const slowAnswer = charge(slow, key);
  slowAnswer.catch(() => {}); // awaited below; a failed test kills the server before that
  await slow.waitFor(/^IN_HANDLER 1$/);
  await leaseExpired();
  const takeover = await charge(other, key);
  expect(takeover.status).toBe(201);
  const takeoverBody = await takeover.text();
  expect(JSON.parse(takeoverBody)).toMatchObject({ execution: 2, server: 'B' });

  // The stalled handler finishes only now, after the takeover (so its complete is the late one)...
  slow.release();
  const late = await slowAnswer;
  expect(late.status).toBe(201);
  expect(await late.json()).toMatchObject({ execution: 1, server: 'A' });
  // ...but what is stored and replayed everywhere is the takeover's result.
  for (const server of [slow, other]) {
    const replay = await charge(server, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.text()).toBe(takeoverBody);
  }
  expect(await count()).toBe(2);
}, 30_000);
