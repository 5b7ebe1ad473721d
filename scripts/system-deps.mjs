#!/usr/bin/env node
// The `pretest` step: the tests need programs that npm cannot install. On a Debian machine this
// installs the missing ones itself when it can (as root, or with passwordless sudo), and otherwise
// stops at once with the one command to run. So `npm install` + `npm test` is enough on a fresh machine.
//
//   chromium      the browser the browser tests, the demo test and the docs-site test drive
//   redis-server  the Redis adapter's tests start their own on a free loopback port
//
// Usage: node scripts/system-deps.mjs [--check]   (--check: report only, install nothing)

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian package → how to find the program it brings. */
const needs = [
  { pkg: 'chromium', found: () => executable(process.env.CHROMIUM_PATH) ?? onPath('chromium') },
  { pkg: 'redis-server', found: () => onPath('redis-server') },
];

function executable(path) {
  if (!path) return undefined;
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const found = dir && executable(join(dir, name));
    if (found) return found;
  }
  return undefined;
}

function run(cmd, args) {
  return spawnSync(cmd, args, { stdio: 'inherit' }).status === 0;
}

const missing = needs.filter((need) => need.found() === undefined).map((need) => need.pkg);
if (missing.length === 0) process.exit(0);

const hint = `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`;
const mayInstall = !process.argv.includes('--check') && process.platform === 'linux' && onPath('apt-get') !== undefined;
/** How apt-get is run: as root directly, or through passwordless sudo (-n: never wait for a password). */
let apt;
if (mayInstall) {
  const env = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'];
  if (typeof process.getuid === 'function' && process.getuid() === 0) apt = env;
  else if (onPath('sudo') !== undefined && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) apt = ['sudo', '-n', ...env];
}

if (apt === undefined) {
  console.error(`\nThe tests need ${missing.join(' and ')}, which npm cannot install. Run:\n\n  ${hint}\n\nthen npm test again.`);
  process.exit(1);
}

console.log(`Installing the Debian packages the tests need: ${missing.join(' ')}`);
const [cmd, ...prefix] = apt;
const ok =
  run(cmd, [...prefix, 'update']) && run(cmd, [...prefix, 'install', '-y', '--no-install-recommends', ...missing]);
const still = needs.filter((need) => need.found() === undefined).map((need) => need.pkg);
if (!ok || still.length > 0) {
  console.error(`\nCould not install ${(still.length > 0 ? still : missing).join(' and ')}. Run:\n\n  ${hint}\n`);
  process.exit(1);
}
