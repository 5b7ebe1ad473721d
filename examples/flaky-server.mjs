// A flaky local server and a client that rides it out with retryWithBackoff and a CircuitBreaker.
// Run: npm run example   (builds the package, then runs this file; no setup, nothing leaves 127.0.0.1)
import { createServer } from 'node:http';
import {
  CircuitBreaker,
  HttpError,
  NetworkError,
  isCircuitBreakerError,
  retryWithBackoff,
} from '../dist/index.js';

// --- the server: healthy, then flaky, then down for a while, then healthy again -----------------
let phase = 'flaky';
let served = 0;
const server = createServer((req, res) => {
  served++;
  if (phase === 'down') {
    res.writeHead(503).end('down for maintenance');
    return;
  }
  if (phase === 'flaky' && served % 2 === 1) {
    // Every other request fails, as an overloaded server would.
    res.writeHead(503).end('try again');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ price: 42, served }));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/price`;

// --- the client ---------------------------------------------------------------------------------
const breaker = new CircuitBreaker({ name: 'price-api', failureThreshold: 3, resetTimeoutMs: 300 });
breaker.on('stateChange', (from, to) => log(`breaker ${from} -> ${to}`));

async function getPrice() {
  return retryWithBackoff(
    ({ signal }) =>
      breaker.execute(async () => {
        let res;
        try {
          res = await fetch(url, { signal });
        } catch (cause) {
          throw new NetworkError('price-api unreachable', { cause });
        }
        if (!res.ok) throw new HttpError(res.status, { headers: res.headers, body: await res.text() });
        return res.json();
      }),
    {
      maxAttempts: 4,
      initialDelayMs: 50,
      maxDelayMs: 400,
      timeoutMs: 2000,
      onRetry: (attempt, error, delay) =>
        log(`  attempt ${attempt} failed (${error.message}); next in ${Math.round(delay)} ms`),
    },
  );
}

const started = Date.now();
function log(line) {
  console.log(`[${String(Date.now() - started).padStart(5)} ms] ${line}`);
}

log('phase 1: the server fails every other request; retries hide it');
for (let i = 1; i <= 3; i++) log(`call ${i}: ${JSON.stringify(await getPrice())}`);

log('phase 2: the server goes down; the breaker opens and stops the hammering');
phase = 'down';
const before = served;
const callsBefore = breaker.getMetrics().totalCalls;
for (let i = 1; i <= 3; i++) {
  try {
    await getPrice();
  } catch (error) {
    const last = error.cause ?? error;
    log(`call ${i} failed: ${error.name}${isCircuitBreakerError(last) ? ' (circuit open, server spared)' : ''}`);
  }
}
log(`while down: ${breaker.getMetrics().totalCalls - callsBefore} guarded calls, ${served - before} reached the server`);

log('phase 3: the server recovers; after resetTimeoutMs a probe closes the breaker');
phase = 'healthy';
await new Promise((resolve) => setTimeout(resolve, 350));
log(`call: ${JSON.stringify(await getPrice())}`);
log(`breaker metrics: ${JSON.stringify(breaker.getMetrics())}`);

server.close();
