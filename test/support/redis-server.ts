// Node only. Starts a real, throwaway `redis-server` (the Debian package) for a test file: on a free
// loopback port, with no persistence, answering PING before the promise resolves. `.ci/run` installs
// the package; when it is missing this fails loudly, it never skips.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer } from 'node:net';

/** A running redis-server. */
export interface RedisServer {
  /** The loopback port it listens on. */
  port: number;
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** The child process (for SIGSTOP/SIGCONT in outage tests). */
  process: ChildProcess;
  /** Kills it and waits for it to exit. */
  stop(): Promise<void>;
}

const MISSING = 'redis-server not found: apt-get install redis-server';

/**
 * The redis-server binary: `REDIS_SERVER` if set (and then only that), else /usr/bin/redis-server,
 * else the PATH. Throws "redis-server not found: apt-get install redis-server" when there is none.
 */
export function redisServerBinary(): string {
  const override = process.env.REDIS_SERVER;
  if (override) {
    if (existsSync(override)) return override;
    throw new Error(`${MISSING} (REDIS_SERVER=${override} does not exist)`);
  }
  for (const candidate of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status === 0 && found) return found;
  throw new Error(MISSING);
}

/** A port that was free a moment ago (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * Sends one inline command on a raw socket and resolves with the reply text once `complete(reply)`
 * says it is whole, or undefined on error or timeout.
 */
function rawCommand(port: number, command: string, complete: (reply: string) => boolean, timeoutMs = 500): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const done = (reply: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (complete(data)) done(data);
    });
    socket.on('error', () => done(undefined));
  });
}

/** Sends PING; resolves true on `+PONG`. */
async function ping(port: number): Promise<boolean> {
  const reply = await rawCommand(port, 'PING', (r) => r.includes('\r\n'));
  return reply?.startsWith('+PONG') ?? false;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a redis-server on a free loopback port. Retries on another port if the chosen one was
 * taken in the meantime (EADDRINUSE). Rejects with "redis-server not found: apt-get install
 * redis-server" when the binary is missing.
 */
export async function startRedisServer(): Promise<RedisServer> {
  return startWithRetry([]);
}

async function startWithRetry(extraArgs: string[] | ((port: number) => Promise<string[]>)): Promise<RedisServer> {
  const binary = redisServerBinary();
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      return await launch(binary, port, typeof extraArgs === 'function' ? await extraArgs(port) : extraArgs);
    } catch (error) {
      lastError = error;
      if (!String((error as Error).message).includes('EADDRINUSE') && !/address already in use/i.test(String((error as Error).message))) {
        throw error;
      }
    }
  }
  throw lastError;
}

async function launch(binary: string, port: number, extraArgs: string[]): Promise<RedisServer> {
  const child = spawn(
    binary,
    [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--protected-mode', 'no', '--loglevel', 'warning', '--dir', tmpdir(), ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  let spawnError: Error | undefined;
  child.on('error', (error) => (spawnError = error));
  // Never outlive the test process, even when its afterAll does not get to run stop().
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (spawnError) {
      throw (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(MISSING) : spawnError;
    }
    if (exited) {
      const reason = /address already in use/i.test(output) ? 'EADDRINUSE' : `exit ${exited.code ?? exited.signal}`;
      throw new Error(`redis-server on port ${port} did not start (${reason}):\n${output}`);
    }
    if (await ping(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s:\n${output}`);
    }
    await sleep(20);
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    process: child,
    async stop() {
      if (exited) return;
      // A stopped (SIGSTOP) server must be continued to die of SIGTERM; SIGKILL needs no help.
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exit;
    },
  };
}

/** A running Redis Cluster of masters only (no replicas). */
export interface RedisCluster {
  /** Its nodes, each a {@link RedisServer}. */
  nodes: RedisServer[];
  /** `{ host, port }` of every node: the startup nodes for an ioredis `Cluster`. */
  startupNodes: Array<{ host: string; port: number }>;
  /** Kills every node and removes their cluster state files. */
  stop(): Promise<void>;
}

/** The redis-cli binary (Debian's redis-tools, which redis-server depends on). */
function redisCliBinary(): string {
  for (const candidate of [process.env.REDIS_CLI, '/usr/bin/redis-cli', '/usr/local/bin/redis-cli']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  const which = spawnSync('sh', ['-c', 'command -v redis-cli'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error('redis-cli not found: apt-get install redis-server (it brings redis-tools)');
}

/**
 * Starts a Redis Cluster of `masters` nodes on free loopback ports (each with its own free cluster
 * bus port), assigns the slots with `redis-cli --cluster create`, and waits until every node reports
 * `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const cli = redisCliBinary();
  const dir = mkdtempSync(join(tmpdir(), 'closed-loop-redis-cluster-'));
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await startWithRetry(async (port) => [
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--cluster-port', String(await freePort()),
          '--cluster-node-timeout', '2000',
        ]),
      );
    }
    const create = spawnSync(
      cli,
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
    const deadline = Date.now() + 15_000;
    for (const node of nodes) {
      for (;;) {
        const info = await rawCommand(node.port, 'CLUSTER INFO', (r) => r.includes('cluster_known_nodes'));
        if (info?.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`)) break;
        if (Date.now() > deadline) throw new Error(`the Redis Cluster did not reach cluster_state:ok within 15 s:\n${info}`);
        await sleep(50);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, startupNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), stop };
}
