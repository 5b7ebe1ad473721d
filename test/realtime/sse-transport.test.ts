// SseTransport (streaming fetch, as in Node) against a real Express app serving realtimeSse(): resumes
// after drops with every event exactly once and in order, resync when the buffer no longer reaches
// back, reconnect delays and backoff on a ManualClock, headers, topics, publish, close.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChangeEvent,
  HttpError,
  ManualClock,
  type RealtimeStatus,
  RealtimeSyncService,
  type RealtimeTransport,
  SseTransport,
  type SseTransportOptions,
} from 'closed-loop';
import { pause, type SseApp, type SseAppSetup, startSseApp, waitUntil } from '../express/sse-harness.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function serve(options: Parameters<typeof startSseApp>[1] = {}, setup: SseAppSetup = {}): Promise<{ server: RealtimeSyncService; running: SseApp }> {
  const server = new RealtimeSyncService();
  const running = await startSseApp(server, options, setup);
  cleanups.push(() => server.destroy(), () => running.close());
  return { server, running };
}

/** A client service on an SseTransport, with the raw transport traffic recorded. */
function client(url: string, options: SseTransportOptions = {}) {
  const inner = new SseTransport(url, options);
  const raw: string[] = [];
  const statuses: RealtimeStatus[] = [];
  const transport: RealtimeTransport = {
    connect: (listener) =>
      inner.connect({
        onEvent: (event) => {
          raw.push(event.eventId);
          listener.onEvent(event);
        },
        onStatus: (status) => {
          statuses.push(status);
          listener.onStatus(status);
        },
      }),
    publish: (event) => inner.publish(event),
    watch: (topic) => inner.watch(topic),
    unwatch: (topic) => inner.unwatch(topic),
    close: () => inner.close(),
  };
  const service = new RealtimeSyncService({ transport });
  cleanups.push(() => service.destroy());
  return { service, inner, raw, statuses };
}

/** Counts requests to /events and records their headers and URLs. */
function recorder() {
  const requests: Array<{ url: string; headers: http.IncomingHttpHeaders }> = [];
  const middleware: RequestHandler = (req, _res, next) => {
    requests.push({ url: req.originalUrl, headers: req.headers });
    next();
  };
  return { requests, middleware };
}

const nOf = (event: ChangeEvent) => (event.new as { n: number }).n;

describe('SseTransport: resuming after drops', () => {
  it('delivers what the server publishes, reporting connected', async () => {
    const { server, running } = await serve();
    const { service, statuses } = client(`${running.url}/events`, { clock: new ManualClock() });
    const got: number[] = [];
    service.subscribe('orders', (e) => got.push(nOf(e)));
    await waitUntil(() => service.status === 'connected');
    await waitUntil(() => running.handler.connectionCount === 1);
    for (let n = 1; n <= 3; n++) server.publish('orders', { id: n, n });
    await waitUntil(() => got.length === 3);
    expect(got).toEqual([1, 2, 3]);
    expect(service.getLatest('orders', 2)).toEqual({ id: 2, n: 2 });
    expect(statuses).toEqual(['connected']);
  });

  it('connection cut again and again while events are published: every event exactly once, in order', async () => {
    const { server, running } = await serve();
    const clock = new ManualClock();
    const { service, inner, raw, statuses } = client(`${running.url}/events`, { clock, reconnectDelayMs: 250 });
    const got: number[] = [];
    service.subscribe('orders', (e) => got.push(nOf(e)));
    await waitUntil(() => service.status === 'connected' && inner.lastEventId !== undefined);

    const total = 600;
    let publishing = true;
    const publisher = (async () => {
      for (let n = 1; n <= total; n++) {
        server.publish('orders', { id: n % 17, n, version: n });
        if (n % 3 === 0) await pause(1);
      }
      publishing = false;
    })();
    let drops = 0;
    while (publishing) {
      await pause(15);
      if (running.handler.connectionCount === 0) continue;
      running.dropAll(); // cut the connection mid-stream, from the server side
      drops++;
      await waitUntil(() => statuses.at(-1) === 'reconnecting', 3000, 'the drop to be noticed');
      await pause(5); // a few more events land in the buffer only
      await clock.advance(250);
      await waitUntil(() => statuses.at(-1) === 'connected', 3000, 'the reconnect');
    }
    await publisher;
    await waitUntil(() => got.length >= total, 5000, 'all events');
    await pause(30);

    expect(drops).toBeGreaterThanOrEqual(3);
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Exactly once on the wire too, not only after the service's dedupe.
    expect(new Set(raw).size).toBe(raw.length);
    expect(raw.length).toBe(total);
    expect(statuses.filter((s) => s === 'reconnecting').length).toBe(drops);
    expect(statuses).not.toContain('resynced');
    expect(service.getLatest('orders', total % 17)).toMatchObject({ n: total });
  });

  it('reports resynced (and calls the resync hook) when the buffer no longer reaches back', async () => {
    const { server, running } = await serve({ bufferSize: 5 });
    const clock = new ManualClock();
    const { service, inner, statuses } = client(`${running.url}/events`, { clock, reconnectDelayMs: 100 });
    const got: number[] = [];
    const serviceStatuses: RealtimeStatus[] = [];
    service.on('status', (s) => serviceStatuses.push(s));
    service.subscribe('t', (e) => got.push(nOf(e)));
    await waitUntil(() => service.status === 'connected' && inner.lastEventId !== undefined);
    server.publish('t', { id: 1, n: 1 });
    await waitUntil(() => got.length === 1);
    running.dropAll();
    await waitUntil(() => service.status === 'reconnecting');
    for (let n = 2; n <= 20; n++) server.publish('t', { id: n, n });
    await clock.advance(100);
    await waitUntil(() => service.status === 'resynced');
    expect(statuses).toEqual(['connected', 'reconnecting', 'connected', 'resynced']);
    expect(serviceStatuses.at(-1)).toBe('resynced');
    expect(got).toEqual([1]);
    // Live again, and the next drop resumes exactly (the resync frame carried the position).
    server.publish('t', { id: 21, n: 21 });
    await waitUntil(() => got.length === 2);
    running.dropAll();
    await waitUntil(() => service.status === 'reconnecting');
    server.publish('t', { id: 22, n: 22 });
    await clock.advance(100);
    await waitUntil(() => got.length === 3);
    expect(got).toEqual([1, 21, 22]);
    expect(statuses.filter((s) => s === 'resynced')).toHaveLength(1);
  });

  it('reports resynced after reconnecting when it had no event id to resume from', async () => {
    // A bare SSE server that sends no ids and drops the first connection after one event.
    let connections = 0;
    const bare = http.createServer((req, res) => {
      connections++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const event = { topic: 't', type: 'BROADCAST', timestamp: 1, eventId: `bare-${connections}` };
      res.write(`data: ${JSON.stringify(event)}\n\n`);
      if (connections === 1) setTimeout(() => res.destroy(), 20);
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => (bare.closeAllConnections(), bare.close(() => resolve()))));
    const clock = new ManualClock();
    const { raw, statuses } = client(`http://127.0.0.1:${(bare.address() as AddressInfo).port}/`, { clock, reconnectDelayMs: 10 });
    await waitUntil(() => statuses.at(-1) === 'reconnecting');
    await clock.advance(10);
    await waitUntil(() => statuses.length === 4);
    expect(statuses).toEqual(['connected', 'reconnecting', 'connected', 'resynced']);
    expect(raw).toEqual(['bare-1', 'bare-2']);
  });

  it('ignores frames that are not change events', async () => {
    const bare = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: not json\n\ndata: {"foo":1}\n\ndata: [1,2]\n\nevent: other\ndata: {}\n\n');
      res.write(`id: ok\ndata: ${JSON.stringify({ topic: 't', type: 'INSERT', id: 1, new: { id: 1 }, timestamp: 1, eventId: 'ok' })}\n\n`);
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => (bare.closeAllConnections(), bare.close(() => resolve()))));
    const { service, raw } = client(`http://127.0.0.1:${(bare.address() as AddressInfo).port}/`, { clock: new ManualClock() });
    const errors: unknown[] = [];
    service.on('error', (e) => errors.push(e));
    await waitUntil(() => raw.length === 1);
    await pause(20);
    expect(raw).toEqual(['ok']);
    expect(errors).toEqual([]);
  });
});

describe('SseTransport: reconnect timing', () => {
  it('waits reconnectDelayMs on the clock before reconnecting, then resumes with Last-Event-ID', async () => {
    const rec = recorder();
    const { server, running } = await serve({}, { before: [rec.middleware] });
    const clock = new ManualClock();
    const { service, inner } = client(`${running.url}/events`, { clock, reconnectDelayMs: 1000 });
    await waitUntil(() => service.status === 'connected' && inner.lastEventId !== undefined);
    expect(rec.requests[0]!.headers['last-event-id']).toBeUndefined();
    expect(rec.requests[0]!.headers.accept).toBe('text/event-stream');
    const last = server.publish('t', { id: 1 });
    await waitUntil(() => inner.lastEventId === last.eventId);
    running.dropAll();
    await waitUntil(() => service.status === 'reconnecting');
    await clock.advance(999);
    await pause(30);
    expect(rec.requests).toHaveLength(1);
    await clock.advance(1);
    await waitUntil(() => service.status === 'connected');
    expect(rec.requests).toHaveLength(2);
    expect(rec.requests[1]!.headers['last-event-id']).toBe(last.eventId);
  });

  it('backs off while attempts fail (honouring Retry-After), and starts again from reconnectDelayMs once through', async () => {
    let down = false;
    let retryAfter: string | undefined;
    const rec = recorder();
    const gate: RequestHandler = (_req, res, next) => {
      if (!down) {
        next();
        return;
      }
      if (retryAfter !== undefined) res.setHeader('Retry-After', retryAfter);
      res.status(503).end();
    };
    const { running } = await serve({}, { before: [rec.middleware, gate] });
    const clock = new ManualClock();
    const { service, inner } = client(`${running.url}/events`, { clock, reconnectDelayMs: 100, maxReconnectDelayMs: 1000 });
    await waitUntil(() => service.status === 'connected' && inner.lastEventId !== undefined);
    down = true;
    running.dropAll();
    await waitUntil(() => service.status === 'reconnecting');

    const attempts = () => rec.requests.length;
    /** Advances until the next attempt has been made; returns how long that took on the clock. */
    const nextAttempt = async (): Promise<number> => {
      const before = attempts();
      const start = clock.now();
      const due = clock.nextTimerAt()!;
      await clock.advance(due - start - 1);
      await pause(15);
      expect(attempts()).toBe(before);
      await clock.advance(1);
      await waitUntil(() => attempts() === before + 1 && clock.pendingTimers === 1);
      return clock.now() - start;
    };
    expect(await nextAttempt()).toBe(100); // the first reconnect: exactly reconnectDelayMs
    const second = await nextAttempt();
    expect(second).toBeGreaterThanOrEqual(100);
    expect(second).toBeLessThanOrEqual(200);
    const third = await nextAttempt();
    expect(third).toBeGreaterThanOrEqual(200);
    expect(third).toBeLessThanOrEqual(400);
    for (let i = 0; i < 4; i++) expect(await nextAttempt()).toBeLessThanOrEqual(1000);
    retryAfter = '3';
    await nextAttempt();
    expect(await nextAttempt()).toBe(1000); // Retry-After 3 s, capped at maxReconnectDelayMs
    expect(service.status).toBe('reconnecting');

    down = false;
    retryAfter = undefined;
    await clock.advance(clock.nextTimerAt()! - clock.now());
    await waitUntil(() => service.status === 'connected');
    await waitUntil(() => running.handler.connectionCount === 1);
    await pause(20);
    running.dropAll();
    await waitUntil(() => service.status === 'reconnecting');
    expect(clock.nextTimerAt()! - clock.now()).toBe(100);
  });

  it("takes the server's retry: hint as its reconnect delay", async () => {
    const { running } = await serve({ retryMs: 300 });
    const clock = new ManualClock();
    const { service, inner } = client(`${running.url}/events`, { clock, reconnectDelayMs: 1000 });
    await waitUntil(() => service.status === 'connected' && inner.lastEventId !== undefined);
    running.dropAll();
    await waitUntil(() => service.status === 'reconnecting');
    expect(clock.nextTimerAt()! - clock.now()).toBe(300);
  });

  it('stays connecting while the first attempts fail', async () => {
    let down = true;
    const gate: RequestHandler = (_req, res, next) => (down ? void res.status(502).end() : next());
    const { running } = await serve({}, { before: [gate] });
    const clock = new ManualClock();
    const { service, statuses } = client(`${running.url}/events`, { clock, reconnectDelayMs: 50 });
    await waitUntil(() => clock.pendingTimers === 1);
    await clock.advance(clock.nextTimerAt()! - clock.now());
    await waitUntil(() => clock.pendingTimers === 1);
    expect(service.status).toBe('connecting');
    down = false;
    await clock.advance(clock.nextTimerAt()! - clock.now());
    await waitUntil(() => service.status === 'connected');
    expect(statuses).toEqual(['connected']);
  });

  it('treats a stream that stays silent past idleTimeoutMs as dropped', async () => {
    const { running } = await serve({ heartbeatMs: 0 });
    const clock = new ManualClock();
    const { service } = client(`${running.url}/events`, { clock, idleTimeoutMs: 5000, reconnectDelayMs: 10 });
    await waitUntil(() => service.status === 'connected' && running.handler.connectionCount === 1);
    await clock.advance(4999);
    await pause(20);
    expect(service.status).toBe('connected');
    await clock.advance(1);
    await waitUntil(() => service.status === 'reconnecting');
    await waitUntil(() => running.handler.connectionCount === 0);
    await clock.advance(10);
    await waitUntil(() => service.status === 'connected');
  });

  it('close() aborts the stream and stops reconnecting', async () => {
    const rec = recorder();
    const { running } = await serve({}, { before: [rec.middleware] });
    const clock = new ManualClock();
    const { service, inner } = client(`${running.url}/events`, { clock, reconnectDelayMs: 10 });
    await waitUntil(() => running.handler.connectionCount === 1);
    running.dropAll();
    await waitUntil(() => service.status === 'reconnecting');
    await clock.advance(10);
    await waitUntil(() => running.handler.connectionCount === 1);
    await service.destroy();
    await waitUntil(() => running.handler.connectionCount === 0);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(60_000);
    await pause(20);
    expect(rec.requests).toHaveLength(2);
    inner.close(); // idempotent
  });
});

describe('SseTransport: options', () => {
  it('sends custom headers, calling a header function before every attempt', async () => {
    const rec = recorder();
    let token = 'one';
    const auth: RequestHandler = (req, res, next) => (req.headers.authorization === `Bearer ${token}` ? next() : void res.status(401).end());
    const { running } = await serve({}, { before: [rec.middleware, auth] });
    const clock = new ManualClock();
    let calls = 0;
    const { service } = client(`${running.url}/events`, {
      clock,
      reconnectDelayMs: 10,
      headers: async () => (calls++, { Authorization: `Bearer ${token}` }),
    });
    await waitUntil(() => service.status === 'connected');
    token = 'two';
    running.dropAll();
    await waitUntil(() => service.status === 'reconnecting');
    await clock.advance(10);
    await waitUntil(() => service.status === 'connected');
    expect(calls).toBe(2);
    expect(rec.requests.map((r) => r.headers.authorization)).toEqual(['Bearer one', 'Bearer two']);
  });

  it('asks for the topics option only', async () => {
    const rec = recorder();
    const { server, running } = await serve({}, { before: [rec.middleware] });
    const { service, raw } = client(`${running.url}/events?x=1`, { clock: new ManualClock(), topics: ['a', 'b'] });
    await waitUntil(() => running.handler.connectionCount === 1 && service.status === 'connected');
    expect(new URL(rec.requests[0]!.url, 'http://h').searchParams.get('topics')).toBe('a,b');
    expect(new URL(rec.requests[0]!.url, 'http://h').searchParams.get('x')).toBe('1');
    for (const topic of ['a', 'c', 'b']) server.publish(topic, { id: topic });
    await waitUntil(() => raw.length === 2);
    await pause(20);
    expect(raw).toHaveLength(2);
  });

  it("with topics: 'watched', streams what the service subscribes to and reopens without losing events", async () => {
    const rec = recorder();
    const { server, running } = await serve({}, { before: [rec.middleware] });
    const { service, inner } = client(`${running.url}/events`, { clock: new ManualClock(), topics: 'watched' });
    await pause(30);
    expect(rec.requests).toHaveLength(0); // nothing watched: no stream
    const topicsOf = (i: number) => new URL(rec.requests[i]!.url, 'http://h').searchParams.get('topics');
    const a: number[] = [];
    const b: number[] = [];
    service.subscribe('a', (e) => a.push(nOf(e)));
    await waitUntil(() => service.status === 'connected' && inner.lastEventId !== undefined);
    expect(topicsOf(0)).toBe('a');
    server.publish('a', { id: 1, n: 1 });
    server.publish('b', { id: 1, n: 1 });
    await waitUntil(() => a.length === 1);
    const stopB = service.subscribe('b', (e) => b.push(nOf(e)));
    server.publish('a', { id: 2, n: 2 }); // published while the stream is being reopened
    await waitUntil(() => rec.requests.length === 2 && running.handler.connectionCount === 1);
    expect(topicsOf(1)).toBe('a,b');
    server.publish('a', { id: 3, n: 3 });
    server.publish('b', { id: 2, n: 2 });
    await waitUntil(() => a.length === 3 && b.length === 2);
    await pause(20);
    expect(a).toEqual([1, 2, 3]);
    // The reopened stream resumed from the last position the client had (no heartbeat moved it on),
    // so the newly watched topic also got b1, published since then: documented.
    expect(b).toEqual([1, 2]);
    stopB();
    await waitUntil(() => rec.requests.length === 3);
    expect(topicsOf(2)).toBe('a');
    service.subscribe('*', () => {});
    await waitUntil(() => rec.requests.length === 4);
    expect(topicsOf(3)).toBeNull();
    expect(service.status).toBe('connected');
  });

  it('publish() is a no-op without publishUrl, and POSTs the event with one', async () => {
    const received: unknown[] = [];
    const { server, running } = await serve(
      {},
      {
        routes: (app) => {
          app.post('/publish', express.json(), (req, res) => {
            received.push(req.body);
            server.publish(req.body.topic, req.body);
            res.status(204).end();
          });
          app.post('/forbidden', (_req, res) => void res.status(403).end());
        },
      },
    );
    const plain = client(`${running.url}/events`, { clock: new ManualClock() });
    plain.service.publish('t', { id: 1 });
    await pause(20);
    expect(received).toEqual([]);

    const { service, raw } = client(`${running.url}/events`, { clock: new ManualClock(), publishUrl: `${running.url}/publish` });
    const seen: string[] = [];
    service.subscribe('t', (e) => seen.push(e.eventId));
    await waitUntil(() => service.status === 'connected' && running.handler.connectionCount === 2);
    const event = service.publish('t', { id: 2 });
    await waitUntil(() => received.length === 1 && raw.length === 1);
    expect(received[0]).toMatchObject({ eventId: event.eventId, topic: 't' });
    await pause(20);
    // The echo over the stream is dropped: the subscriber saw it once.
    expect(seen).toEqual([event.eventId]);

    const failing = client(`${running.url}/events`, { clock: new ManualClock(), publishUrl: `${running.url}/forbidden` });
    const errors: unknown[] = [];
    failing.service.on('error', (e) => errors.push(e));
    failing.service.publish('t', { id: 3 });
    await waitUntil(() => errors.length === 1);
    expect(errors[0]).toBeInstanceOf(HttpError);
    expect((errors[0] as HttpError).status).toBe(403);
  });

  it('resumes from a lastEventId given at construction', async () => {
    const { server, running } = await serve();
    const ids = [1, 2, 3].map((n) => server.publish('t', { id: n, n }).eventId);
    const { raw } = client(`${running.url}/events`, { clock: new ManualClock(), lastEventId: ids[0] });
    await waitUntil(() => raw.length === 2);
    expect(raw).toEqual(ids.slice(1));
  });

  it('rejects bad arguments with a TypeError that names the option', () => {
    const error = (make: () => unknown): string => {
      try {
        make();
      } catch (e) {
        expect(e).toBeInstanceOf(TypeError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(error(() => new SseTransport('http://['))).toBe('closed-loop: SseTransport: `url` must be a valid URL, got "http://["');
    expect(error(() => new SseTransport('ftp://example.com/events'))).toBe(
      'closed-loop: SseTransport: `url` must be an http(s) URL, got "ftp://example.com/events"',
    );
    expect(error(() => new SseTransport('http://h/', { reconnectDelayMs: -1 }))).toBe(
      'closed-loop: SseTransport: `reconnectDelayMs` must be a finite number >= 0, got -1',
    );
    expect(error(() => new SseTransport('http://h/', { reconnectDelayMs: 500, maxReconnectDelayMs: 100 }))).toBe(
      'closed-loop: SseTransport: `maxReconnectDelayMs` must be at least `reconnectDelayMs` (500), got 100',
    );
    expect(error(() => new SseTransport('http://h/', { idleTimeoutMs: Number.POSITIVE_INFINITY }))).toMatch(/^closed-loop: SseTransport: `idleTimeoutMs`/);
    expect(error(() => new SseTransport('http://h/', { topics: [] }))).toMatch(/^closed-loop: SseTransport: `topics` must be 'watched' or/);
    expect(error(() => new SseTransport('http://h/', { topics: ['a,b'] }))).toMatch(/`topics`/);
    expect(error(() => new SseTransport('http://h/', { lastEventId: 7 as never }))).toBe(
      'closed-loop: SseTransport: `lastEventId` must be a string, got number 7',
    );
    expect(error(() => new SseTransport('http://h/', { mode: 'websocket' as never }))).toBe(
      'closed-loop: SseTransport: `mode` must be \'auto\', \'fetch\' or \'eventsource\', got "websocket"',
    );
    expect(error(() => new SseTransport('http://h/', { mode: 'eventsource' }))).toMatch(/^closed-loop: SseTransport: mode 'eventsource' needs an EventSource/);
    expect(error(() => new SseTransport('http://h/', { mode: 'eventsource', EventSource: class { close(): void {} } as never, headers: {} }))).toMatch(
      /^closed-loop: SseTransport: EventSource cannot send `headers`/,
    );
    expect(error(() => new SseTransport('http://h/', { headers: 'x' as never }))).toBe(
      'closed-loop: SseTransport: `headers` must be an object or a function returning one',
    );
    expect(error(() => new SseTransport('http://h/', { fetch: 1 as never }))).toBe('closed-loop: SseTransport: `fetch` must be a function');
    expect(error(() => new SseTransport('http://h/', { EventSource: 1 as never }))).toBe('closed-loop: SseTransport: `EventSource` must be a class');
    expect(error(() => new SseTransport('http://h/', { publishUrl: 'http://[' }))).toBe(
      'closed-loop: SseTransport: `publishUrl` must be a valid URL, got "http://["',
    );
    const transport = new SseTransport('http://h/', { clock: new ManualClock() });
    const listener = { onEvent: () => {}, onStatus: () => {} };
    transport.connect(listener);
    expect(() => transport.connect(listener)).toThrow(new Error('closed-loop: SseTransport: connect() was already called'));
    transport.close();
    expect(() => transport.connect(listener)).toThrow(/^closed-loop: SseTransport: /);
  });
});
