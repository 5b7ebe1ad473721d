// Node only. The contract: a wait that a caller awaits (a backoff) keeps a Node process alive like
// any setTimeout. This can only be seen from outside a process, with the real clock: a script whose
// only pending work is a retry's backoff must not exit before the retry finishes.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildCoreCopy } from './build-core-copy.js';

let copy: Awaited<ReturnType<typeof buildCoreCopy>> | undefined;
let outDir: string;

beforeAll(async () => {
  copy = await buildCoreCopy('esm');
  outDir = copy.dir;
}, 60_000);

afterAll(() => copy?.remove());

test('a pending backoff wait keeps the process alive until the retry succeeds', () => {
  const script = join(outDir, 'script.mjs');
  writeFileSync(
    script,
    `import { retryWithBackoff } from './index.js';
     let calls = 0;
     retryWithBackoff(() => { calls++; if (calls < 3) throw new Error('flaky'); return 'ok'; },
       { initialDelayMs: 40, jitter: 'none', timeoutMs: 0 })
       .then((value) => console.log(value, calls));`,
  );
  const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
  expect(run.stderr).toBe('');
  expect(run.stdout.trim()).toBe('ok 3');
});

test('a closed-loop breaker and a finished retry leave no timer behind: the process exits at once', () => {
  const script = join(outDir, 'idle.mjs');
  writeFileSync(
    script,
    `import { CircuitBreaker, retryWithBackoff } from './index.js';
     const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 60_000 });
     await breaker.execute(() => { throw new Error('down'); }).catch(() => {});
     await retryWithBackoff(() => 'ok'); // default 30 s deadline: cleared on success
     console.log(breaker.state);`,
  );
  const started = Date.now();
  const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
  expect(run.stdout.trim()).toBe('OPEN');
  // A leftover 30 s deadline or a 60 s reset timer would hold the process far longer than this.
  expect(Date.now() - started).toBeLessThan(10_000);
});
