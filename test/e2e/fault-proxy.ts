// Node only. A fault-injecting HTTP proxy on loopback, put between the sync clients and one app
// instance by test/e2e/exactly-once.test.ts. Not a test file.
//
// Every request is read whole, then meets one of these fates (rates are options):
//   reset-before   the client's connection is reset (TCP RST) before anything is forwarded
//   error-before   a 5xx is answered at once; the app never sees the request
//   error-after    the request is forwarded, the handler runs, and its answer is replaced by a 5xx
//   drop-after     the request is forwarded, the handler runs, and the client's connection is
//                  destroyed without an answer
//   pass           forwarded and answered unchanged
// with a few ms of random latency before forwarding and before answering. When the app is down the
// proxy answers 502, as a real gateway would ("upstream-error").
//
// The dice are seeded per request from (seed, proxy name, request id, n-th time this proxy saw that
// id), so a seed replays the same faults for the same mutations whatever order the requests arrive
// in: a failure is reproducible from the printed seed.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import { listenOnLoopback } from '../support/listen.js';

/** What the proxy did to a request. */
export type FaultKind = 'reset-before' | 'error-before' | 'error-after' | 'drop-after';

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The upstream origin, `http://127.0.0.1:<port>`. */
  target: string;
  /** Seeds every decision. */
  seed: number;
  /** Part of every request's seed, so two proxies with one seed do not roll the same dice. */
  name: string;
  /** Probability of each fault, 0..1; the rest pass. Defaults: reset 0.05, 5xx before 0.08, 5xx after 0.12, drop after 0.10. */
  rates?: Partial<Record<FaultKind, number>>;
  /** Random latency added before forwarding and again before answering: 0..maxLatencyMs ms each. Default 3. */
  maxLatencyMs?: number;
  /**
   * What identifies a request for its dice (and in {@link FaultProxy.inFlight}): e.g. a mutation id
   * read from the body. Default: the order of arrival (reproducible only without concurrency).
   */
  requestId?: (body: Buffer, req: http.IncomingMessage) => string | undefined;
}

/** What a proxy counted. */
export interface FaultProxyStats {
  /** Requests received: the attempts the clients sent to this proxy. */
  requests: number;
  /** Requests sent on to the app (passes, `error-after` and `drop-after`, and ones the app never got). */
  forwarded: number;
  /** Requests answered unchanged. */
  passed: number;
  /** Injected faults by kind. */
  faults: Record<FaultKind, number>;
  /** Forwarded requests that got no answer from the app (it was down): answered 502. */
  upstreamErrors: number;
}

/** A running proxy. */
export interface FaultProxy extends EventEmitter<{ forward: [id: string] }> {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Live counters. */
  readonly stats: FaultProxyStats;
  /** The ids of the requests forwarded to the app whose answer has not come back (yet). */
  inFlight(): string[];
  /** Closes the listener, every connection and the upstream sockets. */
  close(): Promise<void>;
}

const DEFAULT_RATES: Record<FaultKind, number> = {
  'reset-before': 0.05,
  'error-before': 0.08,
  'error-after': 0.12,
  'drop-after': 0.1,
};
const KINDS = Object.keys(DEFAULT_RATES) as FaultKind[];
const ERROR_STATUSES = [500, 502, 503, 504];
// Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own business, not forwarded either way.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length']);

/** mulberry32: a tiny PRNG, good enough for dice. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string: the 32-bit seed of one request's dice. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const sleep = (ms: number) => (ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, ms)));

function forwardHeaders(headers: http.IncomingHttpHeaders | http.OutgoingHttpHeaders, length: number): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  out['content-length'] = String(length);
  return out;
}

/** Starts a proxy in front of `options.target` on a free loopback port. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const rates = { ...DEFAULT_RATES, ...options.rates };
  const maxLatencyMs = options.maxLatencyMs ?? 3;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const seen = new Map<string, number>();
  const inFlight = new Map<number, string>();
  const sockets = new Set<Socket>();
  const stats: FaultProxyStats = {
    requests: 0,
    forwarded: 0,
    passed: 0,
    faults: { 'reset-before': 0, 'error-before': 0, 'error-after': 0, 'drop-after': 0 },
    upstreamErrors: 0,
  };
  const events = new EventEmitter<{ forward: [id: string] }>();
  let arrivals = 0;

  /** Sends the request on; resolves with the app's whole answer, or undefined when it got none. */
  const forward = (seq: number, id: string, req: http.IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer } | undefined>((resolve) => {
      stats.forwarded++;
      inFlight.set(seq, id);
      events.emit('forward', id);
      let settled = false;
      const done = (answer: { status: number; headers: http.IncomingHttpHeaders; body: Buffer } | undefined) => {
        if (settled) return;
        settled = true;
        inFlight.delete(seq);
        resolve(answer);
      };
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: forwardHeaders(req.headers, body.length),
          agent,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => done({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
          // Cut off mid-answer (the app died): no answer. After 'end' these change nothing.
          response.on('error', () => done(undefined));
          response.on('close', () => done(undefined));
        },
      );
      upstream.on('error', () => done(undefined));
      upstream.end(body);
    });

  const answerError = (res: http.ServerResponse, status: number, detail: string) => {
    const payload = Buffer.from(JSON.stringify({ error: 'injected by fault-proxy', detail }));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(payload.length) });
    res.end(payload);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    stats.requests++;
    const seq = ++arrivals;
    const id = options.requestId?.(body, req) ?? `#${seq}`;
    const nth = (seen.get(id) ?? 0) + 1;
    seen.set(id, nth);
    const random = mulberry32(hashSeed(`${options.seed}:${options.name}:${id}:${nth}`));
    const roll = random();
    let fate: FaultKind | 'pass' = 'pass';
    let edge = 0;
    for (const kind of KINDS) {
      edge += rates[kind];
      if (roll < edge) {
        fate = kind;
        break;
      }
    }
    const status = ERROR_STATUSES[Math.floor(random() * ERROR_STATUSES.length)]!;
    const latencyIn = Math.floor(random() * (maxLatencyMs + 1));
    const latencyOut = Math.floor(random() * (maxLatencyMs + 1));

    await sleep(latencyIn);
    if (fate === 'reset-before') {
      stats.faults[fate]++;
      req.socket.resetAndDestroy();
      return;
    }
    if (fate === 'error-before') {
      stats.faults[fate]++;
      answerError(res, status, fate);
      return;
    }
    const answer = await forward(seq, id, req, body);
    await sleep(latencyOut);
    if (answer === undefined) {
      stats.upstreamErrors++;
      answerError(res, 502, 'upstream-error');
      return;
    }
    if (fate === 'error-after') {
      stats.faults[fate]++;
      answerError(res, status, fate);
      return;
    }
    if (fate === 'drop-after') {
      stats.faults[fate]++;
      req.socket.destroy();
      return;
    }
    stats.passed++;
    res.writeHead(answer.status, forwardHeaders(answer.headers, answer.body.length));
    res.end(answer.body);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((error: unknown) => {
        // A bug in the proxy must not look like an injected fault: make it loud.
        console.error('fault-proxy: unexpected error', error);
        req.socket.destroy();
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const url = await listenOnLoopback(server);

  return Object.assign(events, {
    url,
    stats,
    inFlight: () => [...inFlight.values()],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  });
}
