import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { notModified } from './conditional-request.js';

/**
 * The `Cache-Control` value of each {@link cacheControl} preset:
 *
 * | preset | value |
 * |---|---|
 * | `static` | `public, max-age=31536000, immutable` (1 year; fingerprinted assets) |
 * | `api_short` | `private, max-age=300` (5 min) |
 * | `api_long` | `private, max-age=3600` (1 h) |
 * | `health` | `public, max-age=30` (30 s) |
 * | `immutable` | `public, max-age=86400, immutable` (24 h) |
 * | `no_cache` | `no-store` |
 *
 * The API presets are `private`: an API answer often depends on who asks, and `public` would let a
 * shared cache (a CDN, a proxy) store it even for a request with `Authorization`. Set your own
 * `Cache-Control` in the handler for a public API answer.
 */
export const CACHE_PRESETS = Object.freeze({
  /** One year, never revalidated: for fingerprinted assets whose URL changes with their content. */
  static: 'public, max-age=31536000, immutable',
  /** Five minutes, browser (private) caches only. */
  api_short: 'private, max-age=300',
  /** One hour, browser (private) caches only. */
  api_long: 'private, max-age=3600',
  /** Thirty seconds, any cache: health and status endpoints polled by many. */
  health: 'public, max-age=30',
  /** One day, never revalidated within it. */
  immutable: 'public, max-age=86400, immutable',
  /** Never stored by any cache. */
  no_cache: 'no-store',
} as const);

/** The name of a {@link CACHE_PRESETS} entry. */
export type CachePreset = keyof typeof CACHE_PRESETS;

// Largest body held back to compute an ETag; a longer (streamed) body is sent on without one.
const MAX_ETAG_BODY_BYTES = 1024 * 1024;
// Stands in for the ETag while `res.send` runs, so Express neither makes its own weak ETag nor
// answers 304 by itself: the middleware makes the strong ETag and evaluates `If-None-Match`.
const PENDING_ETAG = '"closed-loop-etag-pending"';
// Headers that describe a body, which a 304 does not have.
const BODY_HEADERS = ['Content-Type', 'Content-Length', 'Content-Encoding', 'Content-Range', 'Transfer-Encoding'];

type Mode = 'undecided' | 'buffer' | 'pass' | 'discard';
type Callback = (error?: Error | null) => void;
type AnyFn = (...args: unknown[]) => unknown;

/**
 * Middleware that sets a {@link CACHE_PRESETS} `Cache-Control` on GET and HEAD responses and
 * makes them conditional: a 2xx answer gets a strong `ETag` (the SHA-256 of its body bytes)
 * unless the handler set one, and a request whose `If-None-Match` matches it (weak comparison,
 * lists and `*`, RFC 9110) gets `304 Not Modified` with no body. Without `If-None-Match`, an
 * `If-Modified-Since` is compared with a `Last-Modified` the handler set. It works with `res.json`,
 * `res.send`, `res.end` and `res.write` (a body over 1 MiB is streamed on without an ETag).
 *
 * The handler can override the header with `res.set('Cache-Control', …)`. A 4xx or 5xx answer
 * gets `no-store` instead of the preset, so an error is never cached as if it were the resource.
 * Other methods (POST, PUT, …) pass through untouched.
 *
 * @example
 * ```ts
 * app.get('/health', cacheControl('health'), (req, res) => res.json({ ok: true }))
 * app.get('/products', cacheControl('api_short'), listProducts)
 * ```
 *
 * @param preset - one of the {@link CACHE_PRESETS} names
 * @returns an Express middleware
 * @throws TypeError when `preset` is not a preset name
 */
export function cacheControl(preset: CachePreset): RequestHandler {
  if (typeof preset !== 'string' || !Object.prototype.hasOwnProperty.call(CACHE_PRESETS, preset)) {
    throw new TypeError(
      `cacheControl: unknown preset ${JSON.stringify(preset)}; expected one of ${Object.keys(CACHE_PRESETS).join(', ')}`,
    );
  }
  const value: string = CACHE_PRESETS[preset];

  return function cacheControlMiddleware(req, res, next) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next();
      return;
    }
    res.setHeader('Cache-Control', value);
    makeConditional(req, res, value);
    next();
  };
}

function makeConditional(req: Request, res: Response, presetValue: string): void {
  const origWrite = res.write.bind(res) as unknown as AnyFn;
  const origEnd = res.end.bind(res) as unknown as AnyFn;
  const origWriteHead = res.writeHead.bind(res) as unknown as AnyFn;
  const origSend = res.send as unknown as AnyFn;

  let mode: Mode = 'undecided';
  let finishing = false;
  let sendDepth = 0;
  let sentBody: Buffer | undefined;
  let chunks: Buffer[] = [];
  let size = 0;
  let pendingCallbacks: Callback[] = [];

  // Before the status line goes out: drop the stand-in ETag, and keep an error out of caches.
  const finalizeHeaders = (): void => {
    if (res.getHeader('ETag') === PENDING_ETAG) res.removeHeader('ETag');
    if (res.statusCode >= 400 && res.getHeader('Cache-Control') === presetValue) {
      res.setHeader('Cache-Control', 'no-store');
    }
  };

  const handlerEtag = (): string | undefined => {
    const etag = res.getHeader('ETag');
    if (etag === undefined || etag === PENDING_ETAG) return undefined;
    return String(etag);
  };

  const toNotModified = (): void => {
    res.statusCode = 304;
    for (const name of BODY_HEADERS) res.removeHeader(name);
  };

  const decide = (): Mode => {
    if (res.headersSent || !etagEligibleStatus(res.statusCode)) return 'pass';
    const etag = handlerEtag();
    if (etag === undefined) return 'buffer';
    // The handler chose the validator: no need to hold the body back.
    if (notModified(req.headers, etag, res.getHeader('Last-Modified'))) {
      toNotModified();
      return 'discard';
    }
    return 'pass';
  };

  // While nothing has gone out the answer can still be replaced: when a later writer (an error
  // handler after a failed stream) changed the status, what was held belongs to the abandoned
  // answer and is dropped.
  const reconsider = (current: Mode): Mode => {
    if (current === 'discard' && res.statusCode !== 304) return 'pass';
    if (current === 'buffer' && !etagEligibleStatus(res.statusCode)) {
      chunks = [];
      size = 0;
      return 'pass';
    }
    return current;
  };

  const runCallbacks = (callbacks: Callback[], error?: Error | null): void => {
    for (const cb of callbacks) cb(error);
  };

  const flush = (): void => {
    mode = 'pass';
    const callbacks = pendingCallbacks;
    pendingCallbacks = [];
    const body = Buffer.concat(chunks, size);
    chunks = [];
    size = 0;
    finishing = true;
    try {
      if (body.length > 0 || callbacks.length > 0) {
        origWrite.call(res, body, (error?: Error | null) => runCallbacks(callbacks, error));
      }
    } finally {
      finishing = false;
    }
  };

  const wrappedWriteHead = function (this: Response, ...args: unknown[]): unknown {
    if (finishing || mode === 'pass') {
      if (!finishing && typeof args[0] === 'number') res.statusCode = args[0];
      finalizeHeaders();
      if (finishing) return origWriteHead.call(res, res.statusCode);
      return origWriteHead.apply(res, args);
    }
    // An explicit writeHead while the body may still be held back: apply its status and headers
    // now, and let the head go out with the body.
    if (typeof args[0] === 'number') res.statusCode = args[0];
    let headers: unknown = args[1];
    if (typeof args[1] === 'string') {
      res.statusMessage = args[1];
      headers = args[2];
    }
    applyHeaders(res, headers);
    mode = mode === 'undecided' ? decide() : reconsider(mode);
    if (mode === 'pass') {
      finalizeHeaders();
      return origWriteHead.call(res, res.statusCode);
    }
    return res;
  };

  const wrappedWrite = function (this: Response, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (finishing) return origWrite.call(res, chunk, encoding, cb) as boolean;
    if (mode === 'undecided') mode = decide();
    if (mode === 'pass') return origWrite.call(res, chunk, encoding, cb) as boolean;
    if (mode === 'discard') {
      if (typeof cb === 'function') process.nextTick(cb);
      return true;
    }
    const buffer = toBuffer(chunk, encoding);
    if (buffer) {
      chunks.push(buffer);
      size += buffer.length;
    }
    if (typeof cb === 'function') pendingCallbacks.push(cb as Callback);
    if (size > MAX_ETAG_BODY_BYTES) flush();
    return true;
  };

  const wrappedEnd = function (this: Response, chunk?: unknown, encoding?: unknown, cb?: unknown): unknown {
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
      encoding = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (finishing) return origEnd.call(res, chunk, encoding, cb);
    if (mode === 'undecided') mode = decide();
    const callbacks = pendingCallbacks;
    pendingCallbacks = [];
    const done = (error?: Error | null): void => {
      runCallbacks(callbacks, error);
      if (typeof cb === 'function') (cb as Callback)(error);
    };

    mode = reconsider(mode);

    finishing = true;
    try {
      if (mode === 'pass') {
        finalizeHeaders();
        return callbacks.length > 0 || typeof cb === 'function'
          ? origEnd.call(res, chunk, encoding, done)
          : origEnd.call(res, chunk, encoding);
      }
      if (mode === 'discard') {
        finalizeHeaders();
        return origEnd.call(res, done);
      }

      // mode === 'buffer': the whole body is here.
      const last = toBuffer(chunk, encoding);
      if (last) {
        chunks.push(last);
        size += last.length;
      }
      let body = Buffer.concat(chunks, size);
      chunks = [];
      size = 0;
      let etag = handlerEtag();
      if (etag === undefined) {
        // Express sends no body for HEAD; the ETag is still that of the body a GET would get.
        const hashed = req.method === 'HEAD' && body.length === 0 ? sentBody : body;
        if (hashed !== undefined) {
          etag = `"${createHash('sha256').update(hashed).digest('base64url')}"`;
          res.setHeader('ETag', etag);
        }
      }
      if (notModified(req.headers, etag, res.getHeader('Last-Modified'))) {
        toNotModified();
        body = Buffer.alloc(0);
      } else if (req.method !== 'HEAD' && !res.hasHeader('Content-Length') && !res.hasHeader('Transfer-Encoding')) {
        res.setHeader('Content-Length', String(body.length));
      }
      finalizeHeaders();
      return origEnd.call(res, body.length > 0 ? body : undefined, undefined, done);
    } finally {
      finishing = false;
    }
  };

  const wrappedSend = function (this: Response, ...args: unknown[]): unknown {
    const body = args[0];
    if (typeof body === 'string') sentBody = Buffer.from(body, 'utf8');
    else if (ArrayBuffer.isView(body)) sentBody = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    else if (body === null) sentBody = Buffer.alloc(0);
    if (sendDepth > 0 || mode !== 'undecided' || res.headersSent) return origSend.apply(this, args);

    // Express's own ETag and freshness check would answer 304 on its weak ETag, or hide the body
    // (for `If-None-Match: *`) before the strong ETag can be computed: stand in for both.
    const placeholder = res.getHeader('ETag') === undefined;
    if (placeholder) res.setHeader('ETag', PENDING_ETAG);
    Object.defineProperty(req, 'fresh', { configurable: true, enumerable: true, get: () => false });
    sendDepth += 1;
    try {
      return origSend.apply(this, args);
    } finally {
      sendDepth -= 1;
      delete (req as { fresh?: boolean }).fresh;
      if (placeholder && !res.headersSent && res.getHeader('ETag') === PENDING_ETAG) res.removeHeader('ETag');
    }
  };

  res.writeHead = wrappedWriteHead as unknown as Response['writeHead'];
  res.write = wrappedWrite;
  res.end = wrappedEnd as unknown as Response['end'];
  res.send = wrappedSend as unknown as Response['send'];
}

// A 2xx with a whole body of its own: not 204 (no body) nor 206 (a part).
function etagEligibleStatus(status: number): boolean {
  return status >= 200 && status <= 299 && status !== 204 && status !== 206;
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer | undefined {
  if (chunk === undefined || chunk === null) return undefined;
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8');
  }
  if (Buffer.isBuffer(chunk)) return chunk;
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk), 'utf8');
}

// Applies the headers argument of `writeHead` (an object, a flat [name, value, …] list or a list
// of pairs) as Node would merge it with the headers already set.
function applyHeaders(res: Response, headers: unknown): void {
  if (headers === undefined || headers === null) return;
  if (Array.isArray(headers)) {
    const grouped = new Map<string, { name: string; values: string[] }>();
    const add = (name: unknown, value: unknown): void => {
      if (typeof name !== 'string') return;
      const key = name.toLowerCase();
      const entry = grouped.get(key) ?? { name, values: [] };
      entry.values.push(String(value));
      grouped.set(key, entry);
    };
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown[][]) add(pair[0], pair[1]);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1]);
    }
    for (const { name, values } of grouped.values()) {
      res.setHeader(name, values.length === 1 ? values[0]! : values);
    }
    return;
  }
  if (typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
      if (value !== undefined) res.setHeader(name, value);
    }
  }
}
