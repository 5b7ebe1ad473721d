#!/usr/bin/env node
// Consumer check: uses closed-loop the way a user does. Packs the tarball, installs it into a fresh
// project outside the repository, then imports it by ESM `import` and CJS `require`, checks that the
// error guards recognise errors across the two copies, type-checks TypeScript consumers under
// `node16` and `bundler` resolution, checks that no framework came along with the install and that
// closed-loop/supabase loads without @supabase/supabase-js and closed-loop/fetch and closed-loop/hono
// without hono, then installs the optional peers and runs the adapters: Express and Redis over HTTP,
// Hono and withIdempotency over HTTP on @hono/node-server (and their types), and closed-loop/react
// (ESM, CJS, server rendering, TSX).
// Last, CommonJS without require(esm): every entry with Node's require(esm) turned off, and a real Jest
// run (default config) of a CommonJS test file, as a Jest user on Node 20 or 22 has it.
//
// Usage: node scripts/consumer-check.mjs        (npm run test:consumer)
// Env:   KEEP_CONSUMER_DIR=1 keeps the temporary project for inspection.
//
// Runs `npm run build` first when dist/ is missing (npm test builds before it runs this).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const results = [];

/** Runs a command; returns { ok, out, stdout }, `out` being stdout and stderr together. Never throws. */
function run(cmd, args, cwd, { timeoutMs = 120_000, env = {} } = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, npm_config_update_notifier: 'false', NO_COLOR: '1', ...env },
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  const stdout = r.stdout ?? '';
  if (r.error) return { ok: false, out: `${out}\n${r.error.message}`.trim(), stdout };
  if (r.status !== 0) return { ok: false, out: `${out}\n(exit ${r.status ?? r.signal})`.trim(), stdout };
  return { ok: true, out, stdout };
}

function indent(text) {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

function pass(name, detail = '') {
  results.push({ name, ok: true });
  console.log(`PASS  ${name}${detail ? ` — ${detail}` : ''}`);
}

function fail(name, detail) {
  results.push({ name, ok: false });
  console.log(`FAIL  ${name}`);
  if (detail) console.log(indent(detail));
}

/** Runs a command as one named check. */
function check(name, cmd, args, cwd, opts) {
  const r = run(cmd, args, cwd, opts);
  if (r.ok) pass(name);
  else fail(name, r.out);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Consumer sources
// ---------------------------------------------------------------------------------------------

// The same runtime scenario for both module systems; `load` is the module-system-specific import.
const scenario = (header) => `${header}
const {
  retryWithBackoff, CircuitBreaker, ManualClock, computeBackoffDelay,
  HttpError, RetryExhaustedError, CircuitBreakerError,
  isHttpError, isClosedLoopError, isRetryExhaustedError, isCircuitBreakerError, isNetworkError,
} = cl;

function assert(cond, message) {
  if (!cond) throw new Error('assertion failed: ' + message);
}

async function main() {
  // retryWithBackoff: a flaky fn that fails once with a retryable error, then succeeds.
  let calls = 0;
  const delays = [];
  const value = await retryWithBackoff(
    async ({ attempt, signal }) => {
      calls++;
      assert(attempt === calls, 'attempt counts from 1');
      assert(signal && typeof signal.aborted === 'boolean', 'attempt receives a signal');
      if (attempt === 1) throw new HttpError(503);
      return 'ok-' + attempt;
    },
    { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5, onRetry: (_a, _e, d) => delays.push(d) },
  );
  assert(value === 'ok-2', 'retry returned ' + value);
  assert(calls === 2, 'fn called ' + calls + ' times');
  assert(delays.length === 1 && delays[0] >= 0 && delays[0] <= 5, 'one capped delay: ' + delays);

  // Attempts run out: RetryExhaustedError carrying the last error.
  const exhausted = await retryWithBackoff(
    () => { throw new HttpError(500); },
    { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
  ).then(() => undefined, (e) => e);
  assert(exhausted instanceof RetryExhaustedError && isRetryExhaustedError(exhausted), 'exhausted');
  assert(exhausted.attempts === 2 && isHttpError(exhausted.cause), 'attempts and cause');

  const d = computeBackoffDelay(3, { initialDelayMs: 100, backoffMultiplier: 2, jitter: 'none' });
  assert(d === 400, 'computeBackoffDelay(3) = ' + d);

  // CircuitBreaker: opens after consecutive failures, rejects without calling fn, half-opens by clock.
  const clock = new ManualClock(1_000);
  const breaker = new CircuitBreaker({ failureThreshold: 2, resetTimeoutMs: 1_000, clock, name: 'consumer' });
  const changes = [];
  breaker.on('stateChange', (from, to) => changes.push(from + '->' + to));
  for (let i = 0; i < 2; i++) {
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
  }
  assert(breaker.state === 'OPEN', 'state after 2 failures: ' + breaker.state);
  let ran = false;
  const rejected = await breaker.execute(() => { ran = true; }).then(() => undefined, (e) => e);
  assert(!ran, 'fn must not run while OPEN');
  assert(rejected instanceof CircuitBreakerError && isCircuitBreakerError(rejected), 'CircuitBreakerError');
  assert(rejected.retryAfterMs > 0, 'retryAfterMs ' + rejected.retryAfterMs);
  await clock.advance(1_000);
  assert(breaker.state === 'HALF_OPEN', 'state after resetTimeoutMs: ' + breaker.state);
  assert((await breaker.execute(() => 42)) === 42, 'probe result');
  assert(breaker.state === 'CLOSED', 'closed after a good probe: ' + breaker.state);
  assert(changes.join(',') === 'CLOSED->OPEN,OPEN->HALF_OPEN,HALF_OPEN->CLOSED', 'events ' + changes);
  const m = breaker.getMetrics();
  assert(m.totalCalls === 4 && m.rejections === 1, 'metrics ' + JSON.stringify(m));

  // Guards.
  const he = new HttpError(429, { headers: { 'Retry-After': '2' } });
  assert(isHttpError(he) && isClosedLoopError(he) && !isNetworkError(he), 'HttpError guards');
  assert(he.status === 429 && he.retryAfterMs === 2000, 'HttpError fields');
  assert(!isHttpError(new Error('x')) && !isClosedLoopError(null) && !isHttpError({ status: 500 }), 'guards refuse others');
}

main().then(
  () => console.log('consumer ok'),
  (e) => { console.error(e); process.exit(1); },
);
`;

const esmConsumer = scenario(`import * as cl from 'closed-loop';
import { retryWithBackoff as namedRetry, CircuitBreaker as NamedBreaker } from 'closed-loop';
if (namedRetry !== cl.retryWithBackoff || NamedBreaker !== cl.CircuitBreaker) throw new Error('named imports differ from the namespace');`);

const cjsConsumer = scenario(`'use strict';
const cl = require('closed-loop');
const path = require.resolve('closed-loop');
if (!path.endsWith('.cjs')) throw new Error('require resolved to ' + path);`);

// Both copies in one process: errors made by one copy are recognised by the other copy's guards.
const crossCopyConsumer = `import * as esm from 'closed-loop';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('closed-loop');

if (esm.HttpError === cjs.HttpError) throw new Error('expected two copies (ESM and CJS), got one');

const make = (m) => ({
  ClosedLoopError: new m.ClosedLoopError('x', 'X_CODE'),
  HttpError: new m.HttpError(503),
  NetworkError: new m.NetworkError('offline'),
  TimeoutError: new m.TimeoutError(10),
  RetryExhaustedError: new m.RetryExhaustedError(3, new Error('last')),
  CircuitBreakerError: new m.CircuitBreakerError('OPEN', 100),
  IdempotencyError: new m.IdempotencyError('KEY_IN_USE'),
  OfflineQueuedError: new m.OfflineQueuedError('item-1', 'key-1', Promise.resolve(undefined)),
});
const guards = {
  HttpError: 'isHttpError',
  NetworkError: 'isNetworkError',
  TimeoutError: 'isTimeoutError',
  RetryExhaustedError: 'isRetryExhaustedError',
  CircuitBreakerError: 'isCircuitBreakerError',
  IdempotencyError: 'isIdempotencyError',
  OfflineQueuedError: 'isOfflineQueuedError',
};

const problems = [];
for (const [fromName, from, to] of [['cjs', cjs, esm], ['esm', esm, cjs]]) {
  const errors = make(from);
  for (const [cls, err] of Object.entries(errors)) {
    if (!to.isClosedLoopError(err)) problems.push(fromName + ' ' + cls + ' not isClosedLoopError in the other copy');
    for (const [otherCls, guard] of Object.entries(guards)) {
      const expected = otherCls === cls;
      if (to[guard](err) !== expected) problems.push(fromName + ' ' + cls + ': other copy ' + guard + ' = ' + !expected);
    }
  }
}

// A rejection from the CJS copy's breaker is recognised by the ESM copy's guard.
const breaker = new cjs.CircuitBreaker({ failureThreshold: 1 });
await breaker.execute(() => { throw new Error('down'); }).catch(() => undefined);
const err = await breaker.execute(() => 1).then(() => undefined, (e) => e);
if (!esm.isCircuitBreakerError(err)) problems.push('CJS breaker rejection not recognised by ESM guard');

// Retry in the ESM copy reads Retry-After from an HttpError made by the CJS copy.
let seen;
await esm.retryWithBackoff(({ attempt }) => {
  if (attempt === 1) throw new cjs.HttpError(503, { retryAfterMs: 3 });
  return 'done';
}, { maxAttempts: 2, onRetry: (_a, _e, delay) => { seen = delay; } });
if (seen !== 3) problems.push('ESM retry ignored retryAfterMs of a CJS HttpError (delay ' + seen + ')');

if (problems.length) { console.error(problems.join('\\n')); process.exit(1); }
console.log('cross-copy ok');
`;

// Type-level use of the public API; each consumer variant compiles this body.
const typedBody = `
const ctxCheck: Promise<number> = retryWithBackoff(
  async ({ attempt, signal }: RetryContext) => {
    const s: AbortSignal = signal;
    void s;
    return attempt;
  },
  { maxAttempts: 3, jitter: 'decorrelated', timeoutMs: 0, onRetry: (a: number, _e: unknown, d: number) => void (a + d) },
);
void ctxCheck;

const options: RetryOptions = { initialDelayMs: 100, maxDelayMs: 1000, backoffMultiplier: 2, jitter: 'full' };
const jitter: JitterMode = 'equal';
const delay: number = computeBackoffDelay(2, { ...options, jitter });
void delay;

const clock: Clock = new ManualClock(0);
const breakerOptions: CircuitBreakerOptions = { failureThreshold: 2, clock, name: 'typed' };
const breaker = new CircuitBreaker(breakerOptions);
const state: CircuitState = breaker.state;
void state;
breaker.on('stateChange', (from: CircuitState, to: CircuitState) => void [from, to]);
const result: Promise<string> = breaker.execute(async () => 'x');
void result;
const metrics: CircuitBreakerMetrics = breaker.getMetrics();
void metrics.totalCalls;

const e: unknown = new HttpError(503, { headers: { 'retry-after': '1' } });
if (isHttpError(e)) {
  const status: number = e.status;
  const after: number | undefined = e.retryAfterMs;
  void [status, after];
}
if (isRetryExhaustedError(e)) void (e.attempts satisfies number);
if (isCircuitBreakerError(e)) void (e.state satisfies CircuitState);
if (isClosedLoopError(e)) void (e.code satisfies string);
const base: ClosedLoopError = new TimeoutError(5);
void base;

// @ts-expect-error an unknown jitter mode is refused
void retryWithBackoff(() => 1, { jitter: 'sometimes' });
// @ts-expect-error the attempt callback receives a context object, not a number
void retryWithBackoff((n: number) => n);
`;

const typedImports = (from) => `import {
  retryWithBackoff, computeBackoffDelay, CircuitBreaker, ManualClock,
  HttpError, TimeoutError, ClosedLoopError,
  isHttpError, isRetryExhaustedError, isCircuitBreakerError, isClosedLoopError,
} from '${from}';
import type {
  RetryContext, RetryOptions, JitterMode, Clock, CircuitState, CircuitBreakerOptions, CircuitBreakerMetrics,
} from '${from}';
`;

// The adapters, as a user meets them: a real Express app over HTTP with the idempotency middleware,
// and the Redis store on a real redis-server when one is installed. Run once as ESM, once as CJS.
const adapterScenario = (header) => `${header}
const http = require_('node:http');
const { spawn } = require_('node:child_process');
const net = require_('node:net');

function assert(cond, message) {
  if (!cond) throw new Error('assertion failed: ' + message);
}

async function serve(app) {
  const server = http.createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: 'http://127.0.0.1:' + server.address().port, close: () => new Promise((r) => server.close(r)) };
}

async function post(url, key, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), text: await res.text(), type: res.headers.get('content-type') };
}

async function exercise(label, store) {
  let runs = 0;
  const app = express();
  app.use(express.json());
  app.use(createIdempotencyMiddleware(store ? { store } : {}));
  app.post('/orders', (req, res) => {
    runs++;
    res.status(201).json({ id: 'order-' + runs, total: req.body.total });
  });
  // errors: 'next' hands the app the very IdempotencyError class the core exports.
  let seen;
  app.post('/strict', createIdempotencyMiddleware({ store, required: true, errors: 'next' }), (_req, res) => res.end());
  app.use((err, _req, res, _next) => { seen = err; res.status(err.status || 500).end(); });
  const server = await serve(app);
  try {
    const key = core.createIdempotencyKey();
    const first = await post(server.url + '/orders', key, { total: 5 });
    const parallel = await Promise.all(Array.from({ length: 5 }, () => post(server.url + '/orders', key, { total: 5 })));
    assert(first.status === 201 && first.replayed === null, label + ': first response ' + JSON.stringify(first));
    for (const again of parallel) {
      assert(again.status === 201 && again.replayed === 'true' && again.text === first.text, label + ': replay ' + JSON.stringify(again));
    }
    assert(runs === 1, label + ': handler ran ' + runs + ' times');
    const mismatch = await post(server.url + '/orders', key, { total: 6 });
    assert(mismatch.status === 422 && mismatch.type.startsWith('application/problem+json'), label + ': mismatch ' + JSON.stringify(mismatch));
    const missing = await fetch(server.url + '/strict', { method: 'POST' });
    assert(missing.status === 400, label + ': required key missing -> ' + missing.status);
    assert(seen instanceof core.IdempotencyError && core.isIdempotencyError(seen) && seen.code === 'KEY_MISSING', label + ': next(err) gets the core IdempotencyError');
  } finally {
    await server.close();
  }
}

async function until(cond, label) {
  for (let i = 0; !cond(); i++) {
    if (i > 400) throw new Error('timed out waiting for ' + label);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// The realtime bus: an Express SSE endpoint and a Node SseTransport client over HTTP, and (with
// Redis) two "instances" on RedisTransport. Every subscriber sees each event once.
async function realtime(redisClient) {
  const bus = new core.InMemoryTransport();
  const a = new core.RealtimeSyncService({ transport: bus });
  const b = new core.RealtimeSyncService({ transport: bus });
  const seenB = [];
  b.subscribe('orders', (e) => seenB.push(e.eventId));
  const published = a.publish('orders', { id: 1, version: 1 });
  assert(seenB.length === 1 && seenB[0] === published.eventId, 'in-memory bus delivers once');
  assert(a.getLatest('orders', 1).version === 1, 'getLatest');

  const server = new core.RealtimeSyncService();
  const events = realtimeSse(server, { heartbeatMs: 1000 });
  const app = express();
  app.get('/events', events);
  const http_ = await serve(app);
  const client = new core.RealtimeSyncService({ transport: new core.SseTransport(http_.url + '/events', { reconnectDelayMs: 50 }) });
  const got = [];
  client.subscribe('orders', (e) => got.push(e.id));
  try {
    await until(() => client.status === 'connected', 'SSE connected');
    for (let i = 1; i <= 5; i++) server.publish('orders', { id: i, version: i });
    await until(() => got.length === 5, 'SSE events');
    assert(got.join() === '1,2,3,4,5', 'SSE order ' + got.join());
  } finally {
    await client.destroy();
    events.close();
    await http_.close();
  }

  if (!redisClient) return;
  const one = new core.RealtimeSyncService({ transport: new RedisTransport(redisClient, { prefix: 'consumer:rt:' }) });
  const two = new core.RealtimeSyncService({ transport: new RedisTransport(redisClient, { prefix: 'consumer:rt:' }) });
  const onOne = [];
  const onTwo = [];
  one.subscribe('orders', (e) => onOne.push(e.eventId));
  two.subscribe('orders', (e) => onTwo.push(e.eventId));
  try {
    await until(() => one.status === 'connected' && two.status === 'connected', 'Redis transports connected');
    const sent = one.publish('orders', { id: 9, version: 1 });
    await until(() => onTwo.length === 1, 'event over Redis');
    await new Promise((r) => setTimeout(r, 100));
    assert(onOne.length === 1 && onOne[0] === sent.eventId && onTwo[0] === sent.eventId, 'Redis: each event once on both');
  } finally {
    await one.destroy();
    await two.destroy();
  }
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function main() {
  await exercise('memory store', undefined);
  if (!process.env.REDIS_SERVER) { await realtime(undefined); console.log('adapters ok (no redis-server)'); return; }
  const port = await freePort();
  const child = spawn(process.env.REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  // Wait until the server accepts connections, then connect the client once.
  for (let i = 0; ; i++) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 200) throw new Error('redis-server did not start on port ' + port);
    await new Promise((r) => setTimeout(r, 25));
  }
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  try {
    await exercise('redis store', new RedisIdempotencyStore(client, { prefix: 'consumer:' }));
    await realtime(client);
  } finally {
    client.disconnect();
    child.kill('SIGKILL');
  }
  console.log('adapters ok (memory and redis)');
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
`;

const esmAdapterConsumer = adapterScenario(`import * as core from 'closed-loop';
import { createIdempotencyMiddleware, realtimeSse } from 'closed-loop/express';
import { RedisIdempotencyStore, RedisTransport } from 'closed-loop/redis';
import express from 'express';
import Redis from 'ioredis';
import { createRequire } from 'node:module';
const require_ = createRequire(import.meta.url);`);

const cjsAdapterConsumer = adapterScenario(`'use strict';
const core = require('closed-loop');
const { createIdempotencyMiddleware, realtimeSse } = require('closed-loop/express');
const { RedisIdempotencyStore, RedisTransport } = require('closed-loop/redis');
const express = require('express');
const Redis = require('ioredis');
const require_ = require;`);

// closed-loop/supabase takes the app's Supabase client as an argument and imports only types from
// @supabase/supabase-js: it must load (and check its input) with that package absent. Run as ESM and
// as CJS before any peer is installed.
const supabaseScenario = (header) => `${header}
function assert(cond, message) {
  if (!cond) throw new Error('assertion failed: ' + message);
}
assert(typeof supabase.createSupabaseTransport === 'function', 'createSupabaseTransport is a function');
assert(typeof supabase.subscribeToTable === 'function', 'subscribeToTable is a function');
let thrown;
try { supabase.createSupabaseTransport({}); } catch (e) { thrown = e; }
assert(thrown instanceof TypeError, 'a non-client is a TypeError, got ' + thrown);
let missing;
try { require_.resolve('@supabase/supabase-js'); } catch (e) { missing = e; }
assert(missing, '@supabase/supabase-js must not be installed for this check');
console.log('closed-loop/supabase loads without @supabase/supabase-js');
`;

const esmSupabaseConsumer = supabaseScenario(`import * as supabase from 'closed-loop/supabase';
import { createRequire } from 'node:module';
const require_ = createRequire(import.meta.url);`);

const cjsSupabaseConsumer = supabaseScenario(`'use strict';
const supabase = require('closed-loop/supabase');
const require_ = require;`);

// closed-loop/react as an app meets it, with react and react-dom installed: the entry loads, keeps
// 'use client' as its first directive, and renders a page with the provider, the hooks and the three
// buttons on the server (renderToString in Node, where there is no window or navigator).
const reactScenario = (header) => `${header}
const h = React.createElement;

function assert(cond, message) {
  if (!cond) throw new Error('assertion failed: ' + message);
}

const names = ['SyncProvider', 'useSyncMutation', 'useOfflineSync', 'useRealtime', 'SyncButton', 'SyncButtonWithConfirm', 'SyncButtonWithProgress'];
for (const name of names) assert(r[name] !== undefined && r[name] !== null, 'closed-loop/react exports ' + name);
assert(/^(?:"use strict";\\s*)?["']use client["'];/.test(fs.readFileSync(entryFile, 'utf8')), entryFile + ' starts with "use client"');
assert(typeof globalThis.window === 'undefined' && typeof globalThis.document === 'undefined', 'no DOM in this Node process');

const client = core.createSyncClient({ baseUrl: 'http://127.0.0.1:9', retry: { maxAttempts: 4 } });
const queue = new core.OfflineQueue({ storage: new core.MemoryQueueStorage() });
const realtime = new core.RealtimeSyncService();
realtime.publish('orders', { id: 1, state: 'paid', version: 1 });

function Page() {
  const save = r.useSyncMutation({ endpoint: '/orders', onSuccess: () => {} });
  const offline = r.useOfflineSync();
  const order = r.useRealtime('orders', { id: 1 });
  return h('main', null,
    h('p', { id: 'mutation' }, save.status + ' ' + save.progress.attempt + '/' + save.progress.maxAttempts),
    h('p', { id: 'offline' }, (offline.isOnline ? 'online' : 'offline') + ' ' + offline.pending),
    h('p', { id: 'order' }, order.latest ? order.latest.state : '-'),
    h(r.SyncButton, { endpoint: '/orders', successMessage: 'Saved' }, 'Save'),
    h(r.SyncButtonWithConfirm, { endpoint: '/orders/1', method: 'DELETE', confirmMessage: 'Delete it?' }, 'Delete'),
    h(r.SyncButtonWithProgress, { endpoint: '/orders' }, 'Pay'));
}

const html = renderToString(h(r.SyncProvider, { client, queue, realtime }, h(Page)));
assert(html.includes('<p id="mutation">idle 0/4</p>'), 'mutation state in ' + html);
assert(html.includes('<p id="offline">online 0</p>'), 'offline state in ' + html);
assert(html.includes('<p id="order">paid</p>'), 'realtime state in ' + html);
assert((html.match(/<button[^>]*data-state="idle"/g) || []).length === 3, 'three idle buttons in ' + html);
realtime.destroy();
console.log('closed-loop/react renders on the server with React ' + React.version);
`;

const esmReactConsumer = reactScenario(`import * as r from 'closed-loop/react';
import * as core from 'closed-loop';
import React from 'react';
import { renderToString } from 'react-dom/server';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
const entryFile = fileURLToPath(import.meta.resolve('closed-loop/react'));
if (!entryFile.endsWith('react.js')) throw new Error('import resolved to ' + entryFile);`);

const cjsReactConsumer = reactScenario(`'use strict';
const r = require('closed-loop/react');
const core = require('closed-loop');
const React = require('react');
const { renderToString } = require('react-dom/server');
const fs = require('node:fs');
const entryFile = require.resolve('closed-loop/react');
if (!entryFile.endsWith('react.cjs')) throw new Error('require resolved to ' + entryFile);`);

// A Jest suite as a CommonJS project writes it: a .test.js file (the project has no "type"), run by
// `npx jest` with Jest's default configuration (no transform of node_modules, no ESM flags). Jest
// loads modules with its own runtime, which cannot require() an ES module (before Node 24.9), so
// this fails if any file the CommonJS build loads is ESM-only (p-retry is: the CJS build bundles it).
const jestSuite = `'use strict';
const http = require('node:http');
const cl = require('closed-loop');
const { createIdempotencyMiddleware } = require('closed-loop/express');
const r = require('closed-loop/react');
const express = require('express');
const React = require('react');
const { renderToString } = require('react-dom/server');

test('require() resolves every entry to its CommonJS build', () => {
  for (const entry of ['closed-loop', 'closed-loop/express', 'closed-loop/fetch', 'closed-loop/hono', 'closed-loop/redis', 'closed-loop/supabase', 'closed-loop/react', 'closed-loop/service-worker']) {
    expect(require.resolve(entry)).toMatch(/\\.cjs$/);
    expect(require(entry)).toBeDefined();
  }
});

test('retryWithBackoff: fails once, waits on a ManualClock, succeeds', async () => {
  const clock = new cl.ManualClock();
  let calls = 0;
  const result = cl.retryWithBackoff(async ({ attempt }) => {
    calls++;
    if (attempt === 1) throw new cl.HttpError(503);
    return 'ok-' + attempt;
  }, { clock, jitter: 'none', initialDelayMs: 1000, timeoutMs: 0, maxAttempts: 3 });
  await clock.advance(999);
  expect(calls).toBe(1);
  await clock.advance(1);
  await expect(result).resolves.toBe('ok-2');
  expect(calls).toBe(2);

  const exhausted = await cl.retryWithBackoff(() => { throw new cl.HttpError(500); }, { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 })
    .then(() => undefined, (e) => e);
  expect(cl.isRetryExhaustedError(exhausted)).toBe(true);
  expect(exhausted.attempts).toBe(2);
  expect(cl.isHttpError(exhausted.cause)).toBe(true);
});

test('CircuitBreaker: opens, rejects without calling, half-opens on the clock, closes', async () => {
  const clock = new cl.ManualClock(1000);
  const breaker = new cl.CircuitBreaker({ failureThreshold: 2, resetTimeoutMs: 1000, clock });
  for (let i = 0; i < 2; i++) await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
  expect(breaker.state).toBe('OPEN');
  const fn = jest.fn();
  const rejected = await breaker.execute(fn).then(() => undefined, (e) => e);
  expect(fn).not.toHaveBeenCalled();
  expect(rejected).toBeInstanceOf(cl.CircuitBreakerError);
  expect(cl.isCircuitBreakerError(rejected)).toBe(true);
  await clock.advance(1000);
  expect(breaker.state).toBe('HALF_OPEN');
  await expect(breaker.execute(() => 42)).resolves.toBe(42);
  expect(breaker.state).toBe('CLOSED');
});

test('guards recognise errors from a second copy of the core (jest.isolateModules)', async () => {
  let other;
  jest.isolateModules(() => { other = require('closed-loop'); });
  expect(other.HttpError).not.toBe(cl.HttpError);
  expect(cl.isHttpError(new other.HttpError(503))).toBe(true);
  expect(other.isHttpError(new cl.HttpError(503))).toBe(true);
  expect(cl.isClosedLoopError(new other.TimeoutError(5))).toBe(true);
  expect(cl.isHttpError(new other.NetworkError('offline'))).toBe(false);
  const delays = [];
  await cl.retryWithBackoff(({ attempt }) => {
    if (attempt === 1) throw new other.HttpError(503, { retryAfterMs: 3 });
    return 'done';
  }, { maxAttempts: 2, onRetry: (_a, _e, delay) => delays.push(delay) });
  expect(delays).toEqual([3]);
});

test('createSyncClient against Express with closed-loop/express: a 503, a retry, one handler run, a replay', async () => {
  let runs = 0;
  let posts = 0;
  let seen;
  const app = express();
  app.use(express.json());
  // The first POST /orders gets a 503 before it reaches the idempotency middleware.
  app.use('/orders', (_req, res, next) => (++posts === 1 ? res.status(503).end() : next()));
  app.post('/orders', createIdempotencyMiddleware(), (req, res) => {
    runs++;
    res.status(201).json({ id: runs, sku: req.body.sku });
  });
  app.post('/strict', createIdempotencyMiddleware({ required: true, errors: 'next' }), (_req, res) => res.end());
  app.use((err, _req, res, _next) => { seen = err; res.status(err.status || 500).end(); });
  const server = http.createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = 'http://127.0.0.1:' + server.address().port;
    const api = cl.createSyncClient({ baseUrl: url, retry: { initialDelayMs: 1, maxDelayMs: 5 } });
    const first = await api.post('/orders', { sku: 'A1' });
    expect(first.status).toBe(201);
    expect(first.data).toEqual({ id: 1, sku: 'A1' });
    expect(posts).toBe(2);
    const again = await api.post('/orders', { sku: 'A1' }, { idempotencyKey: first.idempotencyKey });
    expect(again.replayed).toBe(true);
    expect(again.data).toEqual(first.data);
    expect(runs).toBe(1);
    // No key: the adapter hands the app an IdempotencyError, the very class this file required.
    const missing = await fetch(url + '/strict', { method: 'POST' });
    expect(missing.status).toBe(400);
    expect(seen).toBeInstanceOf(cl.IdempotencyError);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('closed-loop/react renders on the server', () => {
  const client = cl.createSyncClient({ baseUrl: 'http://127.0.0.1:9' });
  const html = renderToString(
    React.createElement(r.SyncProvider, { client }, React.createElement(r.SyncButton, { endpoint: '/orders' }, 'Save')),
  );
  expect(html).toMatch(/<button[^>]*data-state="idle"[^>]*>.*Save/);
});
`;

// closed-loop/fetch needs nothing but the web's Request and Response, and closed-loop/hono imports
// only types from hono: both load, and withIdempotency runs as a framework calls a route handler,
// with hono absent. Run as ESM and as CJS.
const webScenario = (header) => `${header}
function assert(cond, message) {
  if (!cond) throw new Error('assertion failed: ' + message);
}
async function main() {
  let runs = 0;
  const handler = withIdempotency(async (request, context) => {
    runs++;
    const body = await request.json();
    return Response.json({ run: runs, item: body.item, shop: context.shop }, { status: 201 });
  });
  const order = () => new Request('http://shop.test/orders', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': 'order-1' },
    body: JSON.stringify({ item: 'tea' }),
  });
  const first = await handler(order(), { shop: 'north' });
  const second = await handler(order(), { shop: 'north' });
  assert(first.status === 201 && second.status === 201, 'statuses ' + first.status + ' ' + second.status);
  assert(second.headers.get('idempotent-replayed') === 'true', 'the second is a replay');
  assert((await second.text()) === (await first.text()), 'the replay has the same body');
  assert(runs === 1, 'the handler ran once');
  const missing = await withIdempotency(async () => new Response('x'), { required: true })(new Request('http://shop.test/x', { method: 'POST' }));
  assert(missing.status === 400 && missing.headers.get('content-type').startsWith('application/problem+json'), 'KEY_MISSING as problem+json');
  assert(typeof hono.idempotency === 'function', 'closed-loop/hono exports idempotency');
  let absent;
  try { require_.resolve('hono'); } catch (e) { absent = e; }
  assert(absent, 'hono must not be installed for this check');
  console.log('closed-loop/fetch runs and closed-loop/hono loads, without hono');
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

const esmWebConsumer = webScenario(`import { createRequire } from 'node:module';
import { withIdempotency } from 'closed-loop/fetch';
import * as hono from 'closed-loop/hono';
const require_ = createRequire(import.meta.url);`);

const cjsWebConsumer = webScenario(`'use strict';
const { withIdempotency } = require('closed-loop/fetch');
const hono = require('closed-loop/hono');
const require_ = require;`);

// With hono and @hono/node-server installed by the user: a Hono app with idempotency(), and a fetch
// handler wrapped by withIdempotency(), each over real HTTP on @hono/node-server. ESM and CJS.
const honoScenario = (header) => `${header}
function assert(cond, message) {
  if (!cond) throw new Error('assertion failed: ' + message);
}
async function main() {
  let honoRuns = 0;
  const app = new Hono();
  app.use('/api/*', idempotency());
  app.post('/api/orders', async (c) => c.json({ run: ++honoRuns, item: (await c.req.json()).item }, 201));
  let fetchRuns = 0;
  const guarded = withIdempotency(async (request) => Response.json({ run: ++fetchRuns, item: (await request.json()).item }, { status: 201 }));
  for (const [label, handler, path, runs] of [['hono', app.fetch, '/api/orders', () => honoRuns], ['fetch', guarded, '/orders', () => fetchRuns]]) {
    const server = await new Promise((resolve) => {
      const s = serve({ fetch: handler, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const url = 'http://127.0.0.1:' + server.address().port + path;
    const post = () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': label + '-1' }, body: '{"item":"tea"}' });
    const first = await post();
    const second = await post();
    assert(first.status === 201 && second.status === 201, label + ': statuses ' + first.status + ' ' + second.status);
    assert(second.headers.get('idempotent-replayed') === 'true', label + ': the second is a replay');
    assert((await first.text()) === (await second.text()), label + ': the replay has the same body');
    assert(runs() === 1, label + ': the handler ran once');
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
  console.log('closed-loop/hono and closed-loop/fetch over HTTP on @hono/node-server');
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

const esmHonoConsumer = honoScenario(`import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { idempotency } from 'closed-loop/hono';
import { withIdempotency } from 'closed-loop/fetch';`);

const cjsHonoConsumer = honoScenario(`'use strict';
const { Hono } = require('hono');
const { serve } = require('@hono/node-server');
const { idempotency } = require('closed-loop/hono');
const { withIdempotency } = require('closed-loop/fetch');`);

// Type-level use of closed-loop/fetch (a Next.js-style route handler) and closed-loop/hono.
// closed-loop/service-worker in Node, built and installed: a sync event (on a stand-in scope: Node
// has no service worker) flushes the queue and posts a closed-loop:processed message; the page's
// registerBackgroundSync does nothing without navigator.serviceWorker. Run as ESM and as CJS.
const workerScenario = (header) => `${header}
const queue = new OfflineQueue({ storage: new MemoryQueueStorage() });
const sent = [];
const posted = [];
const scope = new EventTarget();
scope.clients = { matchAll: async () => [{ postMessage: (message) => posted.push(message) }] };
handleBackgroundSync({ queue, scope, handler: (item) => void sent.push(item.idempotencyKey) });
registerBackgroundSync(queue)();
const item = await queue.add({ sku: 'A1' });
let done;
const event = Object.assign(new Event('sync'), { tag: 'closed-loop', lastChance: false, waitUntil: (p) => (done = p) });
scope.dispatchEvent(event);
await done;
await new Promise((resolve) => setTimeout(resolve, 0));
if (sent.join() !== item.idempotencyKey) throw new Error('sent ' + JSON.stringify(sent));
if (posted.length !== 1 || !isBackgroundSyncMessage(posted[0]) || posted[0].type !== 'closed-loop:processed') throw new Error('posted ' + JSON.stringify(posted));
console.log('closed-loop/service-worker: a sync event delivered the item and told the window');
`;
const esmWorkerConsumer = workerScenario(`import { MemoryQueueStorage, OfflineQueue } from 'closed-loop';
import { handleBackgroundSync, isBackgroundSyncMessage, registerBackgroundSync } from 'closed-loop/service-worker';`);
const cjsWorkerConsumer = `'use strict';
const { MemoryQueueStorage, OfflineQueue } = require('closed-loop');
const { handleBackgroundSync, isBackgroundSyncMessage, registerBackgroundSync } = require('closed-loop/service-worker');
(async () => {${workerScenario('')}})().catch((e) => { console.error(e); process.exit(1); });
`;

// A service worker as an app writes it, type-checked with the WebWorker lib and no DOM types (the
// declarations of closed-loop and closed-loop/service-worker must need none), and the page's side
// with the DOM lib.
const workerTypes = `import { createSyncClient, IndexedDBQueueStorage, OfflineQueue, type QueueItem } from 'closed-loop';
import { handleBackgroundSync, type BackgroundSyncOptions } from 'closed-loop/service-worker';

declare const self: ServiceWorkerGlobalScope;
const queue = new OfflineQueue<{ sku: string }>({ storage: new IndexedDBQueueStorage('app-queue') });
const client = createSyncClient({ baseUrl: '/api', offlineQueue: queue });
queue.registerHandler('order', (item: QueueItem<{ sku: string }>) => fetch('/api/orders', { method: 'POST', headers: { 'Idempotency-Key': item.idempotencyKey }, body: JSON.stringify(item.payload) }));
const options: BackgroundSyncOptions<{ sku: string }> = { queue, client, tag: 'orders', maxWaitMs: 30_000, scope: self };
const stop: () => void = handleBackgroundSync(options);
stop();
`;
const pageTypes = `import { IndexedDBQueueStorage, OfflineQueue } from 'closed-loop';
import { isBackgroundSyncMessage, registerBackgroundSync, type BackgroundSyncMessage } from 'closed-loop/service-worker';

const queue = new OfflineQueue({ storage: new IndexedDBQueueStorage('app-queue') });
const stop: () => void = registerBackgroundSync(queue, { tag: 'orders', periodic: false, onError: console.warn });
navigator.serviceWorker.addEventListener('message', (event) => {
  if (!isBackgroundSyncMessage(event.data)) return;
  const message: BackgroundSyncMessage = event.data;
  console.log(message.type, message.item.idempotencyKey);
});
stop();
`;

const webTypes = `import { withIdempotency, type FetchIdempotencyOptions } from 'closed-loop/fetch';
import { idempotency, type HonoIdempotencyOptions } from 'closed-loop/hono';
import { HttpIdempotency, type StoredHttpResponse } from 'closed-loop';
import { Hono } from 'hono';

class AppRequest extends Request {
  readonly user = 'u-1';
}
const options: FetchIdempotencyOptions<AppRequest> = { required: true, scope: (request) => request.user };
export const POST: (request: AppRequest, context: { params: Promise<{ id: string }> }) => Promise<Response> = withIdempotency(
  async (request: AppRequest, context: { params: Promise<{ id: string }> }) => Response.json({ id: (await context.params).id, user: request.user }, { status: 201 }),
  options,
);
const honoOptions: HonoIdempotencyOptions = { scope: (_request, c) => c.req.header('x-user'), errors: 'next' };
const app = new Hono();
app.use('/api/*', idempotency(honoOptions));
export default app;
export const rules = new HttpIdempotency<Request>({ maxResponseBytes: 1024 }, (request) => request.method);
export const stored: StoredHttpResponse = { status: 201, headers: {}, body: '' };
`;

// require() of every entry with Node's require(esm) turned off: the CommonJS build must load no ES
// module, as Jest and other CommonJS loaders without require(esm) need.
const cjsEveryEntry = `'use strict';
for (const entry of ['closed-loop', 'closed-loop/express', 'closed-loop/fetch', 'closed-loop/hono', 'closed-loop/redis', 'closed-loop/supabase', 'closed-loop/react', 'closed-loop/service-worker']) {
  const m = require(entry);
  if (!require.resolve(entry).endsWith('.cjs') || Object.keys(m).length === 0) throw new Error(entry + ': ' + require.resolve(entry));
}
const cl = require('closed-loop');
cl.retryWithBackoff(({ attempt }) => { if (attempt === 1) throw new cl.HttpError(503); return attempt; }, { initialDelayMs: 1, maxDelayMs: 2 })
  .then((n) => { if (n !== 2) throw new Error('retry returned ' + n); console.log('every entry loads as CommonJS'); })
  .catch((e) => { console.error(e); process.exit(1); });
`;

// Type-level use of closed-loop/react from a TSX app (jsx: react-jsx, @types/react installed).
const reactTsx = `import { useState } from 'react';
import { createSyncClient, type SyncResponse } from 'closed-loop';
import {
  SyncButton, SyncButtonWithConfirm, SyncButtonWithProgress, SyncProvider, useOfflineSync, useRealtime, useSyncMutation,
  type SyncProviderProps, type UseSyncMutationResult,
} from 'closed-loop/react';

type Todo = { id: number; title: string };

function Todos() {
  const [list, setList] = useState<Todo[]>([]);
  const add = useSyncMutation<Todo, { title: string }, { previous: Todo[] }>({
    endpoint: '/todos',
    retry: { maxAttempts: 3 },
    onMutate: (vars) => {
      setList((l) => [...l, { id: -1, title: vars.title }]);
      return { previous: list };
    },
    onError: (_error, _vars, context) => setList(context?.previous ?? []),
    onSuccess: (todo) => void (todo.id satisfies number),
  });
  add.mutate({ title: 'milk' });
  // @ts-expect-error the variables are a { title }
  add.mutate({ name: 'milk' });
  const sent: Promise<SyncResponse<Todo>> = add.mutateAsync({ title: 'eggs' });
  void sent;
  const result: UseSyncMutationResult<Todo, { title: string }> = add;
  const attempt: number = result.progress.attempt;
  const { isOnline, pending, sync } = useOfflineSync();
  const { latest, events, status } = useRealtime<Todo>('todos', { id: 1, filter: (event) => event.type !== 'DELETE' });
  const title: string | undefined = latest?.title;
  return (
    <section>
      <p>{add.status} {attempt} {String(isOnline)} {pending} {events.length} {status} {title}</p>
      <button onClick={() => void sync()}>sync</button>
      <SyncButton endpoint="/todos" successMessage="Saved" onError={(error) => console.error(error)}>Save</SyncButton>
      <SyncButtonWithConfirm endpoint="/todos/1" method="DELETE" confirmMessage="Delete it?">Delete</SyncButtonWithConfirm>
      <SyncButtonWithProgress endpoint="/todos">Pay</SyncButtonWithProgress>
    </section>
  );
}

const client = createSyncClient({ baseUrl: 'https://api.example.com' });
const props: SyncProviderProps = { client, children: <Todos /> };
export const app = <SyncProvider {...props} />;
// @ts-expect-error the provider needs a client
export const broken = <SyncProvider><Todos /></SyncProvider>;
`;

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function writeJson(path, value) {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function main() {
  console.log(`consumer check: ${repoRoot}`);

  if (!existsSync(join(repoRoot, 'dist', 'index.js')) || !existsSync(join(repoRoot, 'dist', 'index.cjs'))) {
    console.log('dist/ missing: running npm run build');
    const b = run(npm, ['run', 'build'], repoRoot, { timeoutMs: 300_000 });
    if (!b.ok) {
      fail('build', b.out);
      return;
    }
  }

  const tmp = mkdtempSync(join(tmpdir(), 'closed-loop-consumer-'));
  try {
    checks(tmp);
  } finally {
    if (process.env.KEEP_CONSUMER_DIR) console.log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

function checks(tmp) {
  // Pack.
  const packDir = join(tmp, 'pack');
  mkdirSync(packDir);
  const packed = run(npm, ['pack', '--json', '--pack-destination', packDir], repoRoot);
  if (!packed.ok) {
    fail('npm pack', packed.out);
    return;
  }
  let info;
  try {
    // stdout is the JSON report, possibly preceded by lifecycle-script output.
    const start = packed.stdout.search(/^\[\s*\{/m);
    info = JSON.parse(packed.stdout.slice(Math.max(start, 0)))[0];
  } catch (error) {
    fail('npm pack', `could not read npm pack --json output: ${String(error)}\n${packed.out}`);
    return;
  }
  const tarball = join(packDir, info.filename);
  const files = info.files.map((f) => f.path).sort();
  const allowed = /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/.+)$/;
  const stray = files.filter((f) => !allowed.test(f));
  const needed = ['package.json', 'LICENSE'].concat(
    ...['index', 'express', 'fetch', 'hono', 'redis', 'supabase', 'react', 'service-worker'].map((entry) => ['js', 'cjs', 'd.ts', 'd.cts'].map((ext) => `dist/${entry}.${ext}`)),
  );
  const missing = needed.filter((f) => !files.includes(f));
  if (stray.length || missing.length) {
    fail('tarball contents', [stray.length && `unexpected: ${stray.join(', ')}`, missing.length && `missing: ${missing.join(', ')}`].filter(Boolean).join('\n'));
  } else {
    pass('tarball contents', `${info.filename}, ${files.length} files, ${(info.size / 1024).toFixed(1)} kB packed, ${(info.unpackedSize / 1024).toFixed(1)} kB unpacked`);
  }

  // A fresh project with only the tarball installed.
  const app = join(tmp, 'app');
  mkdirSync(app);
  writeJson(join(app, 'package.json'), { name: 'closed-loop-consumer', version: '1.0.0', private: true });
  const installed = check('npm install <tarball>', npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], app, { timeoutMs: 300_000 });
  if (!installed.ok) return;

  // (a) ESM import, (b) CJS require.
  writeFileSync(join(app, 'esm-consumer.mjs'), esmConsumer);
  writeFileSync(join(app, 'cjs-consumer.cjs'), cjsConsumer);
  writeFileSync(join(app, 'cross-copy.mjs'), crossCopyConsumer);
  check("ESM: import 'closed-loop' (retry, breaker, guards)", process.execPath, ['esm-consumer.mjs'], app, { timeoutMs: 30_000 });
  check(`CJS: require('closed-loop') (retry, breaker, guards), Node ${process.version} without flags`, process.execPath, ['cjs-consumer.cjs'], app, { timeoutMs: 30_000 });
  // (c) guards across the two copies, loaded into one process.
  check('guards across ESM/CJS copies in one process', process.execPath, ['cross-copy.mjs'], app, { timeoutMs: 30_000 });

  // (d) TypeScript consumers, checked with the repository's TypeScript against the installed
  // package's declarations (skipLibCheck off so dist/*.d.ts is checked too).
  let tsc;
  try {
    tsc = createRequire(join(repoRoot, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    fail('TypeScript consumers', 'typescript is not installed in the repository (run npm ci)');
  }
  if (tsc) {
    const common = {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      target: 'ES2022',
    };
    // node16: a Node program, with Node's types and no DOM lib; an ES module (.mts) and a CommonJS
    // module (.cts), so both index.d.ts and index.d.cts are checked.
    mkdirSync(join(app, 'node16'));
    writeFileSync(join(app, 'node16', 'esm.mts'), typedImports('closed-loop') + typedBody);
    writeFileSync(join(app, 'node16', 'cjs.cts'), typedImports('closed-loop') + typedBody);
    writeJson(join(app, 'tsconfig.node16.json'), {
      compilerOptions: {
        ...common,
        module: 'node16',
        moduleResolution: 'node16',
        lib: ['ES2022'],
        types: ['node'],
        typeRoots: [join(repoRoot, 'node_modules', '@types')],
      },
      files: ['node16/esm.mts', 'node16/cjs.cts'],
    });
    // bundler: a browser app built by a bundler, DOM lib and no Node types.
    mkdirSync(join(app, 'bundler'));
    writeFileSync(join(app, 'bundler', 'app.ts'), typedImports('closed-loop') + typedBody);
    writeJson(join(app, 'tsconfig.bundler.json'), {
      compilerOptions: {
        ...common,
        module: 'esnext',
        moduleResolution: 'bundler',
        lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        types: [],
      },
      files: ['bundler/app.ts'],
    });
    const version = run(process.execPath, [tsc, '--version'], app).out;
    check(`TypeScript consumer, module/moduleResolution node16, strict (.mts + .cts; ${version})`, process.execPath, [tsc, '-p', 'tsconfig.node16.json'], app);
    check(`TypeScript consumer, module esnext + moduleResolution bundler, strict (${version})`, process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], app);
  }

  // (e) Installing closed-loop alone installs no framework.
  const nm = join(app, 'node_modules');
  const frameworks = ['express', 'hono', '@hono', 'react', 'react-dom', 'ioredis', 'redis', '@supabase', 'opossum', 'cockatiel'];
  const present = frameworks.filter((name) => existsSync(join(nm, name)));
  const listing = readdirSync(nm)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(nm, n)).map((s) => `${n}/${s}`) : [n]))
    .sort();
  const noFramework = `no framework installed (none of ${frameworks.join(', ')})`;
  if (present.length) fail(noFramework, `found in node_modules: ${present.join(', ')}\ninstalled: ${listing.join(', ')}`);
  else pass(noFramework, `node_modules: ${listing.join(', ')}`);

  // (e2) closed-loop/supabase without @supabase/supabase-js: nothing of it is imported at run time.
  writeFileSync(join(app, 'supabase-esm.mjs'), esmSupabaseConsumer);
  writeFileSync(join(app, 'supabase-cjs.cjs'), cjsSupabaseConsumer);
  check("ESM: import 'closed-loop/supabase' without @supabase/supabase-js installed", process.execPath, ['supabase-esm.mjs'], app, { timeoutMs: 30_000 });
  check("CJS: require('closed-loop/supabase') without @supabase/supabase-js installed", process.execPath, ['supabase-cjs.cjs'], app, { timeoutMs: 30_000 });

  // (e3) closed-loop/fetch and closed-loop/hono without hono: withIdempotency runs, the Hono entry loads.
  writeFileSync(join(app, 'web-esm.mjs'), esmWebConsumer);
  writeFileSync(join(app, 'web-cjs.cjs'), cjsWebConsumer);
  check("ESM: import 'closed-loop/fetch' (a guarded handler, a replay) and 'closed-loop/hono' without hono installed", process.execPath, ['web-esm.mjs'], app, { timeoutMs: 30_000 });
  check("CJS: require('closed-loop/fetch') (a guarded handler, a replay) and 'closed-loop/hono' without hono installed", process.execPath, ['web-cjs.cjs'], app, { timeoutMs: 30_000 });

  // (e4) closed-loop/service-worker: runs in Node as ESM and CJS; its types in a worker (WebWorker
  // lib, no DOM) and in a page (DOM), both with bundler resolution and skipLibCheck off.
  writeFileSync(join(app, 'worker-esm.mjs'), esmWorkerConsumer);
  writeFileSync(join(app, 'worker-cjs.cjs'), cjsWorkerConsumer);
  check("ESM: import 'closed-loop/service-worker' (a sync event flushes the queue and posts to the windows)", process.execPath, ['worker-esm.mjs'], app, { timeoutMs: 30_000 });
  check("CJS: require('closed-loop/service-worker') (a sync event flushes the queue and posts to the windows)", process.execPath, ['worker-cjs.cjs'], app, { timeoutMs: 30_000 });
  if (tsc) {
    const strict = { strict: true, noEmit: true, skipLibCheck: false, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, target: 'ES2022', module: 'esnext', moduleResolution: 'bundler', types: [] };
    mkdirSync(join(app, 'sw'));
    writeFileSync(join(app, 'sw', 'sw.ts'), workerTypes);
    writeFileSync(join(app, 'sw', 'page.ts'), pageTypes);
    writeJson(join(app, 'tsconfig.sw.json'), { compilerOptions: { ...strict, lib: ['ES2022', 'WebWorker'] }, files: ['sw/sw.ts'] });
    writeJson(join(app, 'tsconfig.sw-page.json'), { compilerOptions: { ...strict, lib: ['ES2022', 'DOM', 'DOM.Iterable'] }, files: ['sw/page.ts'] });
    check('TypeScript service worker using closed-loop/service-worker, lib WebWorker without DOM, strict', process.execPath, [tsc, '-p', 'tsconfig.sw.json'], app);
    check('TypeScript page using closed-loop/service-worker, lib DOM, strict', process.execPath, [tsc, '-p', 'tsconfig.sw-page.json'], app);
  }

  // (f) The adapters with their peers installed by the user, as ESM and as CJS.
  const peers = check('npm install express ioredis (the optional peers)', npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', 'express@^5', 'ioredis@^5'], app, { timeoutMs: 300_000 });
  if (!peers.ok) return;
  const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (!redisServer && process.env.CI) fail('redis-server present', 'redis-server is not installed (apt-get install redis-server)');
  writeFileSync(join(app, 'adapters-esm.mjs'), esmAdapterConsumer);
  writeFileSync(join(app, 'adapters-cjs.cjs'), cjsAdapterConsumer);
  const env = redisServer ? { REDIS_SERVER: redisServer } : {};
  const withRedis = redisServer ? ' and a real redis-server' : ' (no redis-server here)';
  check(`ESM: closed-loop/express + closed-loop/redis (idempotency, SSE, pub/sub) over HTTP${withRedis}`, process.execPath, ['adapters-esm.mjs'], app, { timeoutMs: 60_000, env });
  check(`CJS: closed-loop/express + closed-loop/redis (idempotency, SSE, pub/sub) over HTTP${withRedis}`, process.execPath, ['adapters-cjs.cjs'], app, { timeoutMs: 60_000, env });

  // (f2) closed-loop/hono and closed-loop/fetch with hono and @hono/node-server installed by the user:
  // over HTTP as ESM and CJS, and their types under node16 (.mts + .cts) and bundler resolution.
  const honoPeers = check('npm install hono @hono/node-server (the optional peer, and its Node server)', npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', 'hono@^4', '@hono/node-server@^2'], app, { timeoutMs: 300_000 });
  if (honoPeers.ok) {
    writeFileSync(join(app, 'hono-esm.mjs'), esmHonoConsumer);
    writeFileSync(join(app, 'hono-cjs.cjs'), cjsHonoConsumer);
    check('ESM: closed-loop/hono and closed-loop/fetch over HTTP on @hono/node-server (a replay each, one run each)', process.execPath, ['hono-esm.mjs'], app, { timeoutMs: 30_000 });
    check('CJS: closed-loop/hono and closed-loop/fetch over HTTP on @hono/node-server (a replay each, one run each)', process.execPath, ['hono-cjs.cjs'], app, { timeoutMs: 30_000 });
    if (tsc) {
      const web = { strict: true, noEmit: true, skipLibCheck: false, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, target: 'ES2022' };
      mkdirSync(join(app, 'web-node16'));
      writeFileSync(join(app, 'web-node16', 'routes.mts'), webTypes);
      writeFileSync(join(app, 'web-node16', 'routes.cts'), webTypes);
      writeJson(join(app, 'tsconfig.web-node16.json'), {
        compilerOptions: { ...web, module: 'node16', moduleResolution: 'node16', lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [] },
        files: ['web-node16/routes.mts', 'web-node16/routes.cts'],
      });
      mkdirSync(join(app, 'web-bundler'));
      writeFileSync(join(app, 'web-bundler', 'routes.ts'), webTypes);
      writeJson(join(app, 'tsconfig.web-bundler.json'), {
        compilerOptions: { ...web, module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [] },
        files: ['web-bundler/routes.ts'],
      });
      check('TypeScript consumer of closed-loop/fetch and closed-loop/hono, moduleResolution node16 (.mts + .cts), strict', process.execPath, [tsc, '-p', 'tsconfig.web-node16.json'], app);
      check('TypeScript consumer of closed-loop/fetch and closed-loop/hono, moduleResolution bundler, strict', process.execPath, [tsc, '-p', 'tsconfig.web-bundler.json'], app);
    }
  }

  // (g) closed-loop/react with React installed by the user: ESM and CJS (server rendering), and a
  // TSX consumer type-checked against the declarations of both builds.
  const react = check('npm install react react-dom @types/react @types/react-dom (the optional peer)', npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', 'react@^19', 'react-dom@^19', '@types/react@^19', '@types/react-dom@^19'], app, { timeoutMs: 300_000 });
  if (!react.ok) return;
  writeFileSync(join(app, 'react-esm.mjs'), esmReactConsumer);
  writeFileSync(join(app, 'react-cjs.cjs'), cjsReactConsumer);
  check("ESM: import 'closed-loop/react', renderToString of SyncProvider, the hooks and the buttons", process.execPath, ['react-esm.mjs'], app, { timeoutMs: 30_000 });
  check("CJS: require('closed-loop/react'), renderToString of SyncProvider, the hooks and the buttons", process.execPath, ['react-cjs.cjs'], app, { timeoutMs: 30_000 });
  if (tsc) {
    const tsx = {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      target: 'ES2022',
      jsx: 'react-jsx',
      lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      types: [],
    };
    // bundler: the `import` condition (react.d.ts); node16 in a CommonJS package: `require` (react.d.cts).
    mkdirSync(join(app, 'react-bundler'));
    writeFileSync(join(app, 'react-bundler', 'app.tsx'), reactTsx);
    writeJson(join(app, 'tsconfig.react-bundler.json'), {
      compilerOptions: { ...tsx, module: 'esnext', moduleResolution: 'bundler' },
      files: ['react-bundler/app.tsx'],
    });
    mkdirSync(join(app, 'react-node16'));
    writeFileSync(join(app, 'react-node16', 'app.tsx'), reactTsx);
    writeJson(join(app, 'tsconfig.react-node16.json'), {
      compilerOptions: { ...tsx, module: 'node16', moduleResolution: 'node16' },
      files: ['react-node16/app.tsx'],
    });
    check('TSX consumer of closed-loop/react, jsx react-jsx, moduleResolution bundler, strict', process.execPath, [tsc, '-p', 'tsconfig.react-bundler.json'], app);
    check('TSX consumer of closed-loop/react, jsx react-jsx, moduleResolution node16 (CommonJS), strict', process.execPath, [tsc, '-p', 'tsconfig.react-node16.json'], app);
  }

  // (h) CommonJS without require(esm): every entry with Node's require(esm) off, then a Jest suite.
  writeFileSync(join(app, 'cjs-every-entry.cjs'), cjsEveryEntry);
  if (process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module')) {
    check('CJS: require() of every entry with require(esm) off (--no-experimental-require-module)', process.execPath, ['--no-experimental-require-module', 'cjs-every-entry.cjs'], app, { timeoutMs: 30_000 });
  } else {
    console.log(`SKIP  CJS with require(esm) off: Node ${process.version} has no --no-experimental-require-module`);
  }
  // Jest 30 supports Node 18.14+, 20, 22 and 24+ (its engines field).
  const jest = check('npm install jest@^30', npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', 'jest@^30'], app, { timeoutMs: 300_000 });
  if (!jest.ok) return;
  writeFileSync(join(app, 'closed-loop.test.js'), jestSuite);
  const jestVersion = run(process.execPath, [join(app, 'node_modules', 'jest', 'bin', 'jest.js'), '--version'], app).out;
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  check(`Jest ${jestVersion} (default config, CommonJS test file): require every entry; retry, breaker, guards across copies, sync client + express, react`, npx, ['--no-install', 'jest'], app, { timeoutMs: 180_000 });
}

main();

const failed = results.filter((r) => !r.ok);
console.log(
  failed.length
    ? `\nconsumer check FAILED: ${failed.length} of ${results.length} checks failed`
    : `\nconsumer check passed: ${results.length} checks`,
);
process.exit(failed.length ? 1 : 0);
