// A breaker per server: an open server is skipped, failed attempts move on to the next server,
// 'failover' starts every call at the first healthy one and 'round-robin' rotates.
import { describe, expect, test } from 'vitest';
import {
  CircuitBreakerError,
  createSyncClient,
  HttpError,
  ManualClock,
  NetworkError,
  RetryExhaustedError,
  type SyncClientOptions,
} from 'closed-loop';
import { connectionRefused, deferred, fakeFetch, flush, json, settle } from './_fake-fetch.js';

const A = 'https://a.test';
const B = 'https://b.test';
const C = 'https://c.test';

function setup(down: Set<string>, options: Partial<SyncClientOptions> = {}) {
  const clock = new ManualClock();
  const fake = fakeFetch((request) => (down.has(request.origin) ? connectionRefused() : json({ from: request.origin })));
  const api = createSyncClient({
    baseUrl: [A, B, C],
    fetch: fake.fetch,
    clock,
    retry: { maxAttempts: 3, initialDelayMs: 0, maxDelayMs: 0, timeoutMs: 0 },
    breaker: { failureThreshold: 2, resetTimeoutMs: 10_000 },
    ...options,
  });
  const origins = () => fake.calls.map((c) => c.origin);
  return { api, clock, calls: fake.calls, origins };
}

describe('failover', () => {
  test('a failed attempt moves on to the next server; once A is open it is skipped without a request', async () => {
    const { api, origins } = setup(new Set([A]));
    expect((await api.get('/1')).data).toEqual({ from: B });
    expect((await api.post('/2', {})).data).toEqual({ from: B });
    // Two failures opened A's breaker: the next calls go straight to B.
    expect(api.getServers().map((s) => s.state)).toEqual(['OPEN', 'CLOSED', 'CLOSED']);
    await api.get('/3');
    await api.get('/4');
    expect(origins()).toEqual([A, B, A, B, B, B]);
  });

  test('every call starts at the first healthy server, not where the last call ended', async () => {
    const { api, origins } = setup(new Set());
    await api.get('/1');
    await api.get('/2');
    await api.get('/3');
    expect(origins()).toEqual([A, A, A]);
  });

  test('after resetTimeoutMs an open server gets one probe; a success closes it and calls go back to it', async () => {
    const down = new Set([A]);
    const { api, clock, origins } = setup(down);
    await api.get('/1');
    await api.get('/2');
    expect(api.getServers()[0]!.state).toBe('OPEN');
    down.delete(A);
    await clock.advance(10_000);
    expect(api.getServers()[0]!.state).toBe('HALF_OPEN');
    expect((await api.get('/3')).data).toEqual({ from: A });
    expect(api.getServers()[0]!.state).toBe('CLOSED');
    await api.get('/4');
    expect(origins().slice(-2)).toEqual([A, A]);
  });

  test('a failed probe reopens the server and the call moves on', async () => {
    const { api, clock, origins } = setup(new Set([A]));
    await api.get('/1');
    await api.get('/2');
    await clock.advance(10_000);
    expect((await api.get('/3')).data).toEqual({ from: B });
    expect(origins().slice(-2)).toEqual([A, B]);
    expect(api.getServers()[0]!.state).toBe('OPEN');
  });

  test('4xx answers do not count against a server; 5xx and network failures do', async () => {
    const clock = new ManualClock();
    const fake = fakeFetch((request) => (request.path === '/bad' ? json({}, 422) : json({}, 503)));
    const api = createSyncClient({
      baseUrl: A,
      fetch: fake.fetch,
      clock,
      retry: false,
      breaker: { failureThreshold: 2 },
    });
    for (let i = 0; i < 5; i++) await settle(api.post('/bad', {}));
    expect(api.getServers()[0]!.state).toBe('CLOSED');
    await settle(api.post('/x', {}));
    await settle(api.post('/x', {}));
    expect(api.getServers()[0]!.state).toBe('OPEN');
  });
});

describe('every server open', () => {
  test('before any attempt: the call rejects at once with CircuitBreakerError and sends nothing', async () => {
    const { api, calls } = setup(new Set([A, B, C]));
    // Three calls of three failed attempts each open all three breakers (threshold 2).
    for (let i = 0; i < 3; i++) await settle(api.get(`/${i}`));
    expect(api.getServers().map((s) => s.state)).toEqual(['OPEN', 'OPEN', 'OPEN']);
    const sent = calls.length;
    const error = ((await settle(api.post('/x', {}))) as { error: CircuitBreakerError }).error;
    expect(error).toBeInstanceOf(CircuitBreakerError);
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(calls).toHaveLength(sent);
  });

  test('mid-call: RetryExhaustedError whose cause is the last error a server gave', async () => {
    const clock = new ManualClock();
    const fake = fakeFetch(() => json({ busy: true }, 503));
    const api = createSyncClient({
      baseUrl: [A, B],
      fetch: fake.fetch,
      clock,
      retry: { maxAttempts: 10, initialDelayMs: 0, maxDelayMs: 0, timeoutMs: 0 },
      breaker: { failureThreshold: 1 },
    });
    const error = ((await settle(api.get('/x'))) as { error: RetryExhaustedError }).error;
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error.attempts).toBe(2);
    expect(error.cause).toBeInstanceOf(HttpError);
    expect((error.cause as HttpError).status).toBe(503);
    expect(fake.calls.map((c) => c.origin)).toEqual([A, B]);
  });

  test('with breaker: false nothing is ever skipped', async () => {
    const { api, clock, origins } = setup(new Set([A]), { breaker: false });
    for (let i = 0; i < 4; i++) {
      const done = api.get(`/${i}`);
      await clock.runAll();
      await done;
    }
    expect(origins()).toEqual([A, B, A, B, A, B, A, B]);
    expect(api.getServers().map((s) => s.state)).toEqual(['CLOSED', 'CLOSED', 'CLOSED']);
  });
});

describe('round-robin', () => {
  test('calls rotate over the servers', async () => {
    const { api, origins } = setup(new Set(), { loadBalancing: 'round-robin' });
    for (let i = 0; i < 6; i++) await api.get(`/${i}`);
    expect(origins()).toEqual([A, B, C, A, B, C]);
  });

  test('an open server drops out of the rotation; a failed attempt moves to the next', async () => {
    const { api, origins } = setup(new Set([B]), { loadBalancing: 'round-robin' });
    for (let i = 0; i < 8; i++) await api.get(`/${i}`);
    // Calls 1 and 4 start at B: B fails and they move on to C. B's second failure opens it, so
    // call 7, whose turn starts at B, skips it without a request.
    expect(origins()).toEqual([A, B, C, C, A, B, C, C, A, C]);
    expect(api.getServers()[1]!.state).toBe('OPEN');
  });
});

describe('getServers', () => {
  test('lists url, breaker state and the requests in flight to each', async () => {
    const clock = new ManualClock();
    const gates: Array<ReturnType<typeof deferred<Response>>> = [];
    const fake = fakeFetch(() => {
      const gate = deferred<Response>();
      gates.push(gate);
      return gate.promise;
    });
    const api = createSyncClient({ baseUrl: [A, `${B}/v1/`], fetch: fake.fetch, clock, loadBalancing: 'round-robin' });
    expect(api.getServers()).toEqual([
      { url: A, state: 'CLOSED', inFlight: 0 },
      { url: `${B}/v1`, state: 'CLOSED', inFlight: 0 },
    ]);
    const calls = [api.get('/1'), api.get('/2'), api.get('/3')];
    await flush();
    expect(api.getServers().map((s) => s.inFlight)).toEqual([2, 1]);
    expect(fake.calls.map((c) => c.url)).toEqual([`${A}/1`, `${B}/v1/2`, `${A}/3`]);
    for (const gate of gates) gate.resolve(json({}));
    await Promise.all(calls);
    expect(api.getServers().map((s) => s.inFlight)).toEqual([0, 0]);
  });

  test('in-flight counts drop on failures too', async () => {
    const { api, clock } = setup(new Set([A, B, C]));
    const call = settle(api.get('/x'));
    await clock.runAll();
    expect(((await call) as { error: RetryExhaustedError }).error.cause).toBeInstanceOf(NetworkError);
    expect(api.getServers().map((s) => s.inFlight)).toEqual([0, 0, 0]);
  });
});
