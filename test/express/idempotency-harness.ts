// Helpers for the idempotency middleware tests: real servers on 127.0.0.1, raw HTTP requests, and
// store wrappers that fail, hang or go slow. Not a test file.
import http from 'node:http';
import type { IdempotencyClaimRequest, IdempotencyStore } from 'closed-loop';
import { listenOnLoopback } from '../support/listen.js';

/** What a request got back, body as raw bytes. */
export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** The body parsed as JSON (the servers under test answer objects). */
  json(): Record<string, unknown>;
}

/** A server listening on a free loopback port. */
export interface Running {
  url: string;
  close(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1 at a free port. */
export async function listen(handler: http.RequestListener): Promise<Running> {
  const server = http.createServer(handler);
  const url = await listenOnLoopback(server);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Options of {@link send}. */
export interface SendOptions {
  method?: string;
  /** Header values; an array sends the header once per value. */
  headers?: Record<string, string | string[]>;
  /** A string or bytes as they are; anything else as JSON. */
  body?: unknown;
}

/** Builds a request without sending its end yet: for the disconnect test. */
export function open(url: string, path: string, options: SendOptions = {}): { req: http.ClientRequest; response: Promise<HttpResult>; payload: Buffer | undefined } {
  const headers: Record<string, string | string[]> = { ...options.headers };
  let payload: Buffer | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === 'string') payload = Buffer.from(options.body);
    else if (options.body instanceof Uint8Array) payload = Buffer.from(options.body);
    else {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] ??= 'application/json';
    }
    headers['content-length'] = String(payload.length);
  }
  const req = http.request(`${url}${path}`, { method: options.method ?? 'POST', headers, agent: false });
  const response = new Promise<HttpResult>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: body.toString('utf8'),
          json: () => JSON.parse(body.toString('utf8')) as Record<string, unknown>,
        });
      });
    });
  });
  return { req, response, payload };
}

/** Sends one request on its own connection and reads the whole response. */
export function send(url: string, path: string, options: SendOptions = {}): Promise<HttpResult> {
  const { req, response, payload } = open(url, path, options);
  req.end(payload);
  return response;
}

/** A promise with its resolve exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A short real wait, for HTTP round trips only. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Retries `attempt` (real time, bounded) until `done` holds; returns the last result. */
export async function eventually<T>(attempt: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (done(value) || Date.now() > deadline) return value;
    await pause(10);
  }
}

/** Counts the calls a store gets. */
export function spyStore(inner: IdempotencyStore): IdempotencyStore & { calls: Record<'claim' | 'complete' | 'release' | 'get', number> } {
  const calls = { claim: 0, complete: 0, release: 0, get: 0 };
  return {
    calls,
    claim: (r) => (calls.claim++, inner.claim(r)),
    complete: (k, l, r, t) => (calls.complete++, inner.complete(k, l, r, t)),
    release: (k, l) => (calls.release++, inner.release(k, l)),
    get: (k) => (calls.get++, inner.get(k)),
  };
}

/** A store that is slow before and after every operation, claim included (to widen any race). */
export function slowStore(inner: IdempotencyStore, ms: () => number): IdempotencyStore {
  const slow =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await pause(ms());
      const result = await fn(...args);
      await pause(ms());
      return result;
    };
  return {
    claim: slow((r: IdempotencyClaimRequest) => inner.claim(r)),
    complete: slow((k: string, l: string, r: unknown, t: number) => inner.complete(k, l, r, t)),
    release: slow((k: string, l: string) => inner.release(k, l)),
    get: slow((k: string) => inner.get(k)),
  };
}

/** A store whose every operation rejects (a store that is down). */
export function downStore(): IdempotencyStore {
  const fail = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
  return { claim: fail, complete: fail, release: fail, get: fail };
}

/**
 * A store that never answers, behind a command timeout that rejects after `timeoutMs`: how a
 * shared store (Redis and its `commandTimeoutMs`) behaves when its server hangs.
 */
export function hangingStoreWithTimeout(timeoutMs: number): IdempotencyStore {
  const hang = () =>
    new Promise<never>((_, reject) => {
      setTimeout(() => reject(new Error(`command timed out after ${timeoutMs} ms`)), timeoutMs);
    });
  return { claim: hang, complete: hang, release: hang, get: hang };
}

/** Delegates to `inner`, except the operations given. */
export function overrideStore(inner: IdempotencyStore, overrides: Partial<IdempotencyStore>): IdempotencyStore {
  return {
    claim: (r) => inner.claim(r),
    complete: (k, l, r, t) => inner.complete(k, l, r, t),
    release: (k, l) => inner.release(k, l),
    get: (k) => inner.get(k),
    ...overrides,
  };
}
