#!/usr/bin/env node
// Installs React 18 into test/react18/node_modules for the `react18` Vitest project (the root has
// React 19), only when it is missing, so `npm test` works on a fresh clone after `npm install` and
// costs nothing afterwards. Uses the committed test/react18/package-lock.json (`npm ci`) when present.
//
// Usage: node scripts/install-react18.mjs     (npm test runs it before the unit tests)

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const fixture = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'test', 'react18');
const installed = ['react', 'react-dom'].every((name) => existsSync(join(fixture, 'node_modules', name, 'package.json')));

if (installed) {
  console.log('React 18 for the react18 tests: already installed in test/react18');
} else {
  const command = existsSync(join(fixture, 'package-lock.json')) ? 'ci' : 'install';
  console.log(`React 18 for the react18 tests: npm ${command} in test/react18`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, [command, '--no-audit', '--no-fund'], {
    cwd: fixture,
    stdio: 'inherit',
    shell: process.platform === 'win32',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  if (r.status !== 0) {
    console.error(`npm ${command} in test/react18 failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }
}
