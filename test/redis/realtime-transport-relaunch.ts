// Node only. Starts redis-server again on the port a stopped one used, for restart tests: the
// clients under test reconnect to where they were. test/support/redis-server.ts (shared, not changed
// here) always picks a fresh port, so this local helper launches the second server itself, with the
// same throwaway settings (no persistence, loopback only).
import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { redisServerBinary } from '../support/redis-server.js';

/** A redis-server started by {@link relaunchOnPort}. */
export interface Relaunched {
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts redis-server on `port` (free again after the first server's stop) and waits for PING. */
export async function relaunchOnPort(port: number): Promise<Relaunched> {
  const child = spawn(
    redisServerBinary(),
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning', '--dir', tmpdir()],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => (dead = true));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const stop = async () => {
    if (dead) return;
    child.kill('SIGKILL');
    await exited;
  };
  const deadline = Date.now() + 10_000;
  while (!(await pong(port))) {
    if (dead || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not start again on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { process: child, stop };
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 500);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => done(chunk.toString('utf8').startsWith('+PONG')));
    socket.on('error', () => done(false));
  });
}
