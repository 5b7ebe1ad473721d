import * as crypto from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { STATUS_CODES } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  type Clock,
  type IdempotencyBegin,
  type IdempotencyLease,
  type IdempotencyStore,
  type IdempotencyStoreStats,
  IdempotencyError,
  IdempotencyGuard,
  MemoryIdempotencyStore,
  fingerprintRequest,
  isIdempotencyError,
  parseIdempotencyKey,
  type TimerHandle,
  realClock,
  unrefTimer,
} from 'closed-loop';
import { bodyNotParsed, bodyUnseen, warnUnparsedBody } from './unparsed-body.js';

/** Options of {@link createIdempotencyMiddleware}. */
export interface IdempotencyMiddlewareOptions {
  /**
   * Where records live. Default: a new `MemoryIdempotencyStore` for this middleware (one process
   * only; use `RedisIdempotencyStore` from `closed-loop/redis` for several servers).
   */
  store?: IdempotencyStore;
  /**
   * The request header that carries the key, matched case-insensitively. Default
   * `'Idempotency-Key'`. The legacy `X-Idempotency-Key` is accepted too; both with different keys
   * is a 400.
   */
  header?: string;
  /** The methods that are made idempotent; others pass through untouched. Default `['POST','PUT','PATCH']`. */
  methods?: readonly string[];
  /** Whether a request without a key is refused (400 `KEY_MISSING`) rather than passed through. Default false. */
  required?: boolean;
  /** How long a stored response is replayed, in ms. Default 86400000 (24 h). */
  ttlMs?: number;
  /**
   * How long a request holds its key before a retry may take it over (the first handler is taken
   * to have crashed), in ms. Default 30000. Pick it above the slowest handler's running time.
   */
  leaseMs?: number;
  /** The longest key accepted, in characters. Default 255. */
  maxKeyLength?: number;
  /**
   * The key space a request belongs to (a user, a tenant): the same key in two scopes is two
   * keys. Return `undefined` (or `''`) for the shared space. Default: one key space.
   */
  scope?: (req: Request) => string | undefined | null | PromiseLike<string | undefined | null>;
  /**
   * What identifies "the same request" under one key; a different one is a 422. Default: the
   * method, the concrete path (`req.baseUrl + req.path`, no query) and the canonical JSON of
   * `req.body`, so mount the body parser before this middleware. With the default, a keyed request
   * that has a body no parser has read (the middleware is mounted before the parser, or no parser
   * handles its `Content-Type`) is refused with a 500 problem+json, code `BODY_NOT_PARSED`, and the
   * handler does not run: the body could not be told apart from another one. A route that reads
   * its body as a stream passes a fingerprint of its own.
   */
  fingerprint?: (req: Request) => string | PromiseLike<string>;
  /**
   * What a request gets while the first one with its key is still running: `'reject'` (default)
   * a 409 with `Retry-After`; `'wait'` the first one's response once it completes.
   */
  concurrent?: 'reject' | 'wait';
  /** In `'wait'` mode, the longest wait before a 409, in ms. Default `leaseMs`. */
  waitTimeoutMs?: number;
  /**
   * The largest response body stored, in bytes. A larger one still reaches its client whole, and
   * is stored without its body (a retry gets `Idempotent-Body-Omitted: true`). Default 1 MiB.
   */
  maxResponseBytes?: number;
  /** Store 5xx responses too, instead of releasing the key so that a retry runs again. Default false. */
  cacheServerErrors?: boolean;
  /**
   * Response headers to replay besides `Content-Type`, `Location`, `Content-Location`, `ETag` and
   * `Last-Modified`. `Set-Cookie`, `Date` and request ids are never replayed, even when listed.
   */
  replayHeaders?: readonly string[];
  /**
   * How the middleware's own refusals (400, 409, 422, 503) are answered: `'respond'` (default) as
   * `application/problem+json`; `'next'` by passing the `IdempotencyError` to `next(err)`.
   */
  errors?: 'respond' | 'next';
  /**
   * Called when storing or releasing a result fails after the handler ran (the client has its
   * response; the key frees itself when its lease runs out). Default: nothing is logged.
   */
  onStoreError?: (error: unknown, req: Request) => void;
  /** The clock for leases, expiry and waits. Default the real clock. */
  clock?: Clock;
}

/**
 * A response as the middleware stores it: JSON-serialisable, so any store (Redis included) can
 * hold it.
 */
export interface StoredHttpResponse {
  /** The HTTP status. */
  status: number;
  /** Replayed headers, names in lower case: `content-type` and the allow-listed ones. */
  headers: Record<string, string | string[]>;
  /** The body: base64 bytes, or the text itself when `encoding` is `'utf8'`. Empty when `bodyOmitted`. */
  body: string;
  /**
   * How `body` is held: `'base64'` (the default when absent) or `'utf8'`, for a body the handler
   * sent as text (JSON, HTML), which is stored and replayed as it is, with no copy to bytes.
   */
  encoding?: 'base64' | 'utf8';
  /** True when the body was larger than `maxResponseBytes` and was not stored. */
  bodyOmitted?: boolean;
}

const DEFAULT_METHODS = ['POST', 'PUT', 'PATCH'];
const LEGACY_HEADER = 'x-idempotency-key';
const ALWAYS_REPLAYED = ['content-type', 'location', 'content-location', 'etag', 'last-modified'];
// Never replayed, whatever `replayHeaders` says: per-response values (cookies, dates, request ids),
// framing the replay computes again, and the middleware's own markers.
const NEVER_REPLAYED = new Set([
  'set-cookie',
  'date',
  'x-request-id',
  'request-id',
  'x-correlation-id',
  'content-length',
  'transfer-encoding',
  'content-encoding',
  'connection',
  'keep-alive',
  'idempotent-replayed',
  'idempotent-body-omitted',
]);
// The longest a response waits for the store to confirm its result. The wait makes a retry sent
// after the response replay it; past this the response goes out anyway.
const STORE_ANSWER_WAIT_MS = 5000;

/** What every held request of one middleware shares. */
interface HoldConfig {
  maxResponseBytes: number;
  /** Lower-case names of the headers a replay carries. */
  replayed: readonly string[];
  cacheServerErrors: boolean;
  waits: AnswerWaits;
  reportStoreError(error: unknown, req: Request): void;
}

// Keyed by the request: storeIdempotentResult and the error handler find it from `req`, the response
// hooks from `res.req`. An entry is deleted as soon as the response has gone out, so that at a
// young-generation GC only the requests in flight are entries: the entries of short-lived
// requests, left to the GC, measured as a tenth of the middleware's throughput. (A property on
// `req` would do the same for the GC, but adding one costs more than the map.)
const held = new WeakMap<object, HeldRequest>();

function heldOf(req: object | undefined): HeldRequest | undefined {
  return req === undefined ? undefined : held.get(req);
}

// Default stores, so clearIdempotencyCache() and getIdempotencyCacheStats() without an argument
// reach them. Weakly held: a store goes away with its middleware.
const defaultStores = new Set<WeakRef<MemoryIdempotencyStore>>();

/**
 * Express middleware that makes mutations idempotent: the first request with an `Idempotency-Key`
 * runs the handler and its response is stored; a retry with the same key gets that response again
 * (`Idempotent-Replayed: true`) without running the handler. A retry while the first is running
 * gets 409 (or waits, with `concurrent: 'wait'`), one with the same key but a different request
 * 422. Works with Express 4.21+ and 5.
 *
 * Mount it after the body parser (the body is part of the fingerprint; a keyed request with a body
 * no parser has read is refused with 500 `BODY_NOT_PARSED`, see
 * {@link IdempotencyMiddlewareOptions.fingerprint}) and after any compression middleware (the
 * stored bytes are the uncompressed body).
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { createIdempotencyMiddleware } from 'closed-loop/express'
 *
 * const app = express()
 * app.use(express.json())
 * app.use(createIdempotencyMiddleware({ scope: (req) => req.get('x-user-id') }))
 * app.post('/orders', async (req, res) => {
 *   const order = await createOrder(req.body) // runs once per key
 *   res.status(201).location(`/orders/${order.id}`).json(order)
 * })
 * ```
 *
 * @param options - see {@link IdempotencyMiddlewareOptions}
 * @returns the middleware
 */
export function createIdempotencyMiddleware(options: IdempotencyMiddlewareOptions = {}): RequestHandler {
  const clock = options.clock ?? realClock;
  let store = options.store;
  if (store === undefined) {
    const memory = new MemoryIdempotencyStore({ clock });
    defaultStores.add(new WeakRef(memory));
    store = memory;
  }
  const guard = new IdempotencyGuard({
    store,
    clock,
    ...(options.ttlMs !== undefined && { ttlMs: options.ttlMs }),
    ...(options.leaseMs !== undefined && { leaseMs: options.leaseMs }),
    ...(options.concurrent !== undefined && { concurrent: options.concurrent }),
    ...(options.waitTimeoutMs !== undefined && { waitTimeoutMs: options.waitTimeoutMs }),
  });
  const header = (options.header ?? 'Idempotency-Key').toLowerCase();
  if (header === '') throw new TypeError('closed-loop: `header` must be a header name');
  const headerNames = header === LEGACY_HEADER ? [header] : [header, LEGACY_HEADER];
  const methods = new Set((options.methods ?? DEFAULT_METHODS).map((m) => m.toUpperCase()));
  const required = options.required ?? false;
  const maxKeyLength = integer('maxKeyLength', options.maxKeyLength, 255, 1);
  const maxResponseBytes = integer('maxResponseBytes', options.maxResponseBytes, 1024 * 1024, 0);
  const cacheServerErrors = options.cacheServerErrors ?? false;
  const errors = options.errors ?? 'respond';
  if (errors !== 'respond' && errors !== 'next') {
    throw new TypeError(`closed-loop: \`errors\` must be 'respond' or 'next', got ${String(errors)}`);
  }
  const replayed = new Set(ALWAYS_REPLAYED);
  for (const name of options.replayHeaders ?? []) {
    const lower = name.toLowerCase();
    if (!NEVER_REPLAYED.has(lower)) replayed.add(lower);
  }
  const fingerprint =
    options.fingerprint ??
    ((req: Request) => fingerprintRequest({ method: req.method, path: concretePath(req), body: req.body }, nodeSha256));
  const config: HoldConfig = {
    maxResponseBytes,
    replayed: [...replayed],
    cacheServerErrors,
    waits: new AnswerWaits(clock, Math.min(guard.leaseMs, STORE_ANSWER_WAIT_MS)),
    reportStoreError: (error, req) => {
      try {
        options.onStoreError?.(error, req);
      } catch {
        // A failing reporter must not take the response down with it.
      }
    },
  };

  // Only the default fingerprint reads req.body; a custom one decides for itself what it covers.
  const checkBody = options.fingerprint === undefined;
  let warnedBody = false;

  const refuse = (error: Refusal, res: Response, next: NextFunction): void => {
    if (errors === 'next') {
      // Set already, so an error handler that answers keeps it.
      if (error.retryAfterMs !== undefined && !res.headersSent) res.setHeader('Retry-After', retryAfterSeconds(error));
      next(error);
    } else {
      sendProblem(res, error);
    }
  };

  // What the claim found: replay it, or hold the key while the handler runs.
  const proceed = (req: Request, res: Response, next: NextFunction, begun: IdempotencyBegin): void => {
    if (begun.kind === 'replay') {
      const stored = asStoredResponse(begun.result);
      if (stored) replay(res, stored);
      else refuse(new IdempotencyError('STORE_UNAVAILABLE', 'The stored response for this Idempotency-Key cannot be read'), res, next);
      return;
    }
    const request = new HeldRequest(req, res, begun.lease, config);
    held.set(req, request);
    installHooks(res, request);
    next();
  };

  // The general path: an async scope or fingerprint, a store that answers later, a wait.
  const admit = async (
    req: Request,
    res: Response,
    next: NextFunction,
    key: string,
    printed: string | PromiseLike<string> | undefined,
  ): Promise<void> => {
    let storeKey: string;
    let print: string;
    try {
      storeKey = scopedKey(options.scope ? await options.scope(req) : undefined, key);
      print = await (printed ?? fingerprint(req));
    } catch (error) {
      next(error);
      return;
    }
    let begun: IdempotencyBegin;
    try {
      begun = await guard.begin(storeKey, print);
    } catch (error) {
      refuse(asIdempotencyError(error), res, next);
      return;
    }
    proceed(req, res, next, begun);
  };

  return function idempotency(req: Request, res: Response, next: NextFunction): void {
    // Mounted twice on one route (app-wide and again on the route): the first one holds the key.
    if (!methods.has(req.method.toUpperCase()) || heldOf(req) !== undefined) {
      next();
      return;
    }
    let key: string | undefined;
    try {
      key = readKey(req, headerNames, maxKeyLength);
    } catch (error) {
      refuse(error as IdempotencyError, res, next);
      return;
    }
    if (key === undefined) {
      if (required) refuse(new IdempotencyError('KEY_MISSING'), res, next);
      else next();
      return;
    }
    if (checkBody && bodyUnseen(req)) {
      const error = bodyNotParsed(req);
      if (!warnedBody) {
        warnedBody = true;
        warnUnparsedBody(req, concretePath(req));
      }
      refuse(error, res, next);
      return;
    }
    let printed: string | PromiseLike<string> | undefined;
    if (options.scope === undefined) {
      // The common case (no scope, the default fingerprint, the memory store) claims in this
      // call: no promise, no microtask.
      try {
        printed = fingerprint(req);
      } catch (error) {
        next(error);
        return;
      }
    }
    if (typeof printed === 'string') {
      let begun: IdempotencyBegin | undefined;
      try {
        begun = guard.beginNow(scopedKey(undefined, key), printed);
      } catch (error) {
        refuse(asIdempotencyError(error), res, next);
        return;
      }
      if (begun !== undefined) {
        proceed(req, res, next, begun);
        return;
      }
    }
    // Every failure inside is answered or passed to next; the catch only keeps a throwing `next`
    // from becoming an unhandled rejection.
    admit(req, res, next, key, printed).catch(() => undefined);
  };
}

/**
 * Stores `result` as the response to replay for the current request's key, now, instead of the
 * response the handler sends (which still reaches this client unchanged and is not stored). Use it
 * when the side effect is done and the rest of the response should not be what a retry sees.
 *
 * @example
 * ```ts
 * app.post('/payments', async (req, res) => {
 *   const payment = await charge(req.body)
 *   await storeIdempotentResult(req, { status: 201, body: { id: payment.id } })
 *   res.status(201).json({ ...payment, receiptUrl: await renderReceipt(payment) })
 * })
 * ```
 *
 * @param req - the request, behind {@link createIdempotencyMiddleware}
 * @param result - the response to replay: `status` (default the response's current status),
 *   `headers` (`Set-Cookie`, `Date` and request ids are dropped) and `body` (a string, bytes, or a
 *   value sent as JSON)
 * @returns true when stored; false when the request holds no key (no key, not under the
 *   middleware, already stored) or the store did not take it
 */
export async function storeIdempotentResult(
  req: Request,
  result: {
    /** The status to replay. Default the response's current status. */
    status?: number;
    /** Headers to replay. */
    headers?: Record<string, string | number | readonly string[]>;
    /** The body: a string, bytes, or any other value (sent as JSON). */
    body?: unknown;
  },
): Promise<boolean> {
  const request = heldOf(req);
  if (!request || request.settled) return false;
  request.settled = true;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    const lower = name.toLowerCase();
    if (!NEVER_REPLAYED.has(lower)) headers[lower] = typeof value === 'number' ? String(value) : (value as string | string[]);
  }
  const body = result.body;
  let text: string | undefined;
  let bytes: Uint8Array | undefined;
  if (body === undefined || body === null) text = '';
  else if (typeof body === 'string') text = body;
  else if (body instanceof Uint8Array) bytes = body;
  else {
    text = JSON.stringify(body) ?? '';
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  const status = result.status ?? (req.res?.statusCode || 200);
  const size = text !== undefined ? Buffer.byteLength(text, 'utf8') : bytes!.byteLength;
  const stored: StoredHttpResponse =
    size > request.config.maxResponseBytes
      ? { status, headers: withoutContentType(headers), body: '', bodyOmitted: true }
      : text !== undefined
        ? { status, headers, body: text, encoding: 'utf8' }
        : { status, headers, body: Buffer.from(bytes!.buffer, bytes!.byteOffset, bytes!.byteLength).toString('base64') };
  return request.store(stored);
}

/**
 * Drops every stored record: of `store`, or of every store the middleware created by default.
 * For tests and admin tools.
 *
 * @param store - the store to clear; default every default store
 */
export async function clearIdempotencyCache(store?: IdempotencyStore): Promise<void> {
  if (store !== undefined) {
    if (typeof store.clear !== 'function') throw new TypeError('closed-loop: this idempotency store has no clear()');
    await store.clear();
    return;
  }
  await Promise.all(liveDefaultStores().map((s) => s.clear()));
}

/**
 * Counts records: of `store`, or summed over every store the middleware created by default.
 *
 * @param store - the store to count; default every default store
 * @returns `{ entries, inProgress, completed }`
 */
export async function getIdempotencyCacheStats(store?: IdempotencyStore): Promise<IdempotencyStoreStats> {
  if (store !== undefined) {
    if (typeof store.stats !== 'function') throw new TypeError('closed-loop: this idempotency store has no stats()');
    return store.stats();
  }
  const all = await Promise.all(liveDefaultStores().map((s) => s.stats()));
  return all.reduce(
    (sum, s) => ({ entries: sum.entries + s.entries, inProgress: sum.inProgress + s.inProgress, completed: sum.completed + s.completed }),
    { entries: 0, inProgress: 0, completed: 0 },
  );
}

/**
 * Marks the request as failed by a thrown error, so its response releases the key rather than
 * being stored whatever its status. For the adapter's error handler.
 *
 * @internal
 */
export function markIdempotentRequestFailed(req: object): void {
  const request = heldOf(req);
  if (request) request.failed = true;
}

function liveDefaultStores(): MemoryIdempotencyStore[] {
  const stores: MemoryIdempotencyStore[] = [];
  for (const ref of defaultStores) {
    const store = ref.deref();
    if (store) stores.push(store);
    else defaultStores.delete(ref);
  }
  return stores;
}

type Method = (this: Response, ...args: unknown[]) => unknown;

function missingMethod(): never {
  throw new Error('closed-loop: a held response was used before its hooks were installed');
}

const OPEN = 0;
const ENDING = 1;
const ENDED = 2;

/**
 * A request holding a key, from the claim until its result is stored or released: it captures what
 * the handler sends (up to `maxResponseBytes`), stores it when the handler ends the response, and
 * lets the end go out once the store has answered. One object per request, no closures, so the
 * hot path allocates little.
 */
class HeldRequest {
  /** Set once the lease is being completed or released; nothing touches it afterwards. */
  settled = false;
  /** A thrown error reached the app's error handling. */
  failed = false;
  /** OPEN, then ENDING while the end waits for the store, then ENDED. */
  private phase = OPEN;
  private endArgs: ArrayLike<unknown> | undefined;
  private laterEnds: Array<ArrayLike<unknown>> | undefined;
  /** A complete/release has not answered yet (and its wait has not run out). */
  private opPending = false;
  // The body so far: UTF-8 text as long as the handler sends only text, bytes from the first
  // chunk that is not. Dropped (omitted) past the limit.
  private text = '';
  private chunks: Buffer[] | undefined;
  private size = 0;
  private omitted = false;
  /** Headers the handler passed to writeHead as an argument: not always visible through getHeader(). */
  private head: Array<[string, unknown]> | undefined;
  // The methods the hooks stand in front of, set by installHooks.
  baseWriteHead: Method = missingMethod;
  baseWrite: Method = missingMethod;
  baseEnd: Method = missingMethod;
  /**
   * True while a base method runs: a dispatcher reached again from inside it (one that sits
   * behind another wrapper of the same method) passes the call through instead of looping.
   */
  passing = false;
  // Links of the AnswerWaits list.
  waiting = false;
  waitUntil = 0;
  waitPrev: HeldRequest | undefined;
  waitNext: HeldRequest | undefined;

  constructor(
    readonly req: Request,
    readonly res: Response,
    private readonly lease: IdempotencyLease,
    readonly config: HoldConfig,
  ) {}

  /** Stores an explicit result (storeIdempotentResult, or the captured response at the end). */
  store(result: StoredHttpResponse): Promise<boolean> {
    const done = this.lease.completeNow ? this.lease.completeNow(result) : this.lease.complete(result);
    return typeof done === 'boolean' ? Promise.resolve(done) : this.track(done);
  }

  writeHead(args: ArrayLike<unknown>): unknown {
    for (let i = 1; i < args.length; i++) {
      const headers = args[i];
      if (typeof headers !== 'object' || headers === null) continue;
      const head = (this.head ??= []);
      if (Array.isArray(headers)) {
        if (Array.isArray(headers[0])) for (const [name, value] of headers as unknown[][]) head.push([String(name), value]);
        else for (let j = 0; j + 1 < headers.length; j += 2) head.push([String(headers[j]), headers[j + 1]]);
      } else {
        for (const [name, value] of Object.entries(headers)) head.push([name, value]);
      }
      break;
    }
    return this.pass(this.baseWriteHead, args);
  }

  write(args: ArrayLike<unknown>): unknown {
    // A write after end is a handler bug; while the end waits for the store it must not slip in.
    if (this.phase !== OPEN) return false;
    this.add(args[0], args[1], true);
    return this.pass(this.baseWrite, args);
  }

  end(args: ArrayLike<unknown>): unknown {
    const res = this.res;
    if (this.phase !== OPEN) {
      // A second end: after the first went out, and only if that one did not finish the response.
      if (this.phase === ENDING) (this.laterEnds ??= []).push(args);
      else if (!res.writableEnded) this.pass(this.baseEnd, args);
      return res;
    }
    this.phase = ENDING;
    this.endArgs = args;
    // The last chunk is not copied: it is encoded for the store right away, inside this end().
    this.add(args[0], args[1], false);
    // The result is stored when the handler ends the response, not on 'finish': a client that
    // went away mid-request still gets its result stored for the retry.
    if (!this.settled) {
      this.settled = true;
      const status = res.statusCode;
      const lease = this.lease;
      // A store that answers synchronously (the memory store) has answered here already: the end
      // goes out at once, with no promise to wait on.
      const done =
        this.config.cacheServerErrors || (!this.failed && status < 500)
          ? lease.completeNow
            ? lease.completeNow(this.toStored(status))
            : lease.complete(this.toStored(status))
          : lease.releaseNow
            ? lease.releaseNow()
            : lease.release();
      if (typeof done !== 'boolean') void this.track(done);
    }
    // The response goes out once the store has confirmed, so a retry sent after it replays.
    if (!this.opPending) this.flush();
    return res;
  }

  /** The store answered, or the wait for it ran out: let a waiting end go out. */
  opSettled(): void {
    if (!this.opPending) return;
    this.opPending = false;
    this.config.waits.remove(this);
    if (this.phase === ENDING) this.flush();
  }

  /** Waits for a store write at most the answer wait; never rejects (the client has its response). */
  private track(op: Promise<boolean>): Promise<boolean> {
    this.opPending = true;
    this.config.waits.add(this);
    return op.then(
      (ok) => {
        this.opSettled();
        return ok;
      },
      (error: unknown) => {
        this.config.reportStoreError(error, this.req);
        this.opSettled();
        return false;
      },
    );
  }

  private flush(): void {
    this.phase = ENDED;
    // Nothing needs the request's entry any more: later calls pass straight to the response.
    held.delete(this.req);
    const res = this.res;
    this.pass(this.baseEnd, this.endArgs!);
    const later = this.laterEnds;
    if (later !== undefined) for (const args of later) if (!res.writableEnded) this.pass(this.baseEnd, args);
  }

  /** Calls a base method of the response. */
  private pass(method: Method, args: ArrayLike<unknown>): unknown {
    this.passing = true;
    try {
      return method.apply(this.res, args as unknown[]);
    } finally {
      this.passing = false;
    }
  }

  private add(chunk: unknown, encoding: unknown, copy: boolean): void {
    if (this.omitted || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const limit = this.config.maxResponseBytes;
    if (typeof chunk === 'string') {
      const enc = (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding;
      const size = this.size + Buffer.byteLength(chunk, enc);
      if (size > limit) return this.omit();
      this.size = size;
      // Text stays text: no copy to bytes, and it is stored as it is.
      if (this.chunks === undefined && (enc === 'utf8' || enc === 'utf-8')) this.text += chunk;
      else this.bytes().push(Buffer.from(chunk, enc));
    } else if (chunk instanceof Uint8Array) {
      const size = this.size + chunk.byteLength;
      if (size > limit) return this.omit();
      this.size = size;
      // A written chunk is copied: the caller may reuse its buffer once write returns.
      this.bytes().push(copy ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  }

  private bytes(): Buffer[] {
    if (this.chunks === undefined) {
      this.chunks = this.text === '' ? [] : [Buffer.from(this.text, 'utf8')];
      this.text = '';
    }
    return this.chunks;
  }

  private omit(): void {
    this.omitted = true;
    this.chunks = undefined;
    this.text = '';
  }

  private toStored(status: number): StoredHttpResponse {
    const headers: Record<string, string | string[]> = {};
    const replayed = this.config.replayed;
    for (const name of replayed) putHeader(headers, name, this.res.getHeader(name));
    if (this.head !== undefined) {
      for (const [name, value] of this.head) {
        const lower = name.toLowerCase();
        if (replayed.includes(lower)) putHeader(headers, lower, value);
      }
    }
    // Node sends no body with these statuses whatever the handler wrote.
    if (status === 204 || status === 304 || status < 200) return { status, headers, body: '' };
    if (this.omitted) return { status, headers: withoutContentType(headers), body: '', bodyOmitted: true };
    const chunks = this.chunks;
    if (chunks === undefined) return this.text === '' ? { status, headers, body: '' } : { status, headers, body: this.text, encoding: 'utf8' };
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    // Express hands text to end() as bytes (res.send encodes it for the ETag). UTF-8 bytes are
    // kept as text: it decodes back to the very same bytes, is a third smaller than base64, and
    // replays without a decode.
    return isUtf8(bytes) ? { status, headers, body: bytes.toString('utf8'), encoding: 'utf8' } : { status, headers, body: bytes.toString('base64') };
  }
}

// The Content-Type most recently stored. A route sends the same one every time, as a new string
// per response: a record keeps this one instead, so each response's own copy dies young rather
// than living as long as the record.
let lastContentType = '';

function putHeader(headers: Record<string, string | string[]>, name: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'string') {
    if (name === 'content-type' && value !== lastContentType) lastContentType = value;
    headers[name] = name === 'content-type' ? lastContentType : value;
  } else {
    headers[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
}

/**
 * Bounds how long held responses wait for the store, with one timer per middleware instead of one
 * per request: every wait is as long as the others, so they run out in the order they began and a
 * list in that order is enough. The timer is unref'd: the waiting response's socket keeps the
 * process alive anyway.
 */
class AnswerWaits {
  private first: HeldRequest | undefined;
  private last: HeldRequest | undefined;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
  ) {}

  add(request: HeldRequest): void {
    request.waiting = true;
    request.waitUntil = this.clock.now() + this.ms;
    request.waitPrev = this.last;
    request.waitNext = undefined;
    if (this.last === undefined) this.first = request;
    else this.last.waitNext = request;
    this.last = request;
    if (this.timer === undefined) this.arm();
  }

  remove(request: HeldRequest): void {
    if (!request.waiting) return;
    request.waiting = false;
    const { waitPrev: prev, waitNext: next } = request;
    if (prev === undefined) this.first = next;
    else prev.waitNext = next;
    if (next === undefined) this.last = prev;
    else next.waitPrev = prev;
    request.waitPrev = request.waitNext = undefined;
  }

  private arm(): void {
    const first = this.first;
    if (first === undefined) return;
    this.timer = unrefTimer(this.clock.setTimeout(this.expire, Math.max(0, first.waitUntil - this.clock.now())));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    while (this.first !== undefined && this.first.waitUntil <= now) {
      const request = this.first;
      this.remove(request);
      request.opSettled();
    }
    this.arm();
  };
}

// An omitted body is replayed empty: a Content-Type would announce content that is not there.
function withoutContentType(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const { 'content-type': _dropped, ...rest } = headers;
  return rest;
}

function replay(res: Response, stored: StoredHttpResponse): void {
  res.statusCode = stored.status;
  for (const [name, value] of Object.entries(stored.headers)) {
    if (!NEVER_REPLAYED.has(name.toLowerCase())) res.setHeader(name, value);
  }
  res.setHeader('Idempotent-Replayed', 'true');
  if (stored.bodyOmitted) {
    res.setHeader('Idempotent-Body-Omitted', 'true');
    res.end();
  } else if (stored.encoding === 'utf8') {
    res.end(stored.body, 'utf8');
  } else {
    res.end(Buffer.from(stored.body, 'base64'));
  }
}

function asIdempotencyError(error: unknown): IdempotencyError {
  return isIdempotencyError(error) ? error : new IdempotencyError('STORE_UNAVAILABLE', undefined, { cause: error });
}

function asStoredResponse(value: unknown): StoredHttpResponse | undefined {
  const v = value as Partial<StoredHttpResponse> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.status !== 'number' ||
    typeof v.body !== 'string' ||
    typeof v.headers !== 'object' ||
    v.headers === null ||
    (v.encoding !== undefined && v.encoding !== 'utf8' && v.encoding !== 'base64')
  ) {
    return undefined;
  }
  return v as StoredHttpResponse;
}

/** What the middleware refuses a request with: an `IdempotencyError`, or the unread-body error. */
interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly retryAfterMs?: number | undefined;
}

function sendProblem(res: Response, error: Refusal): void {
  if (res.headersSent) return;
  const status = error.status;
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/problem+json');
  res.setHeader('Cache-Control', 'no-store');
  if (error.retryAfterMs !== undefined) res.setHeader('Retry-After', retryAfterSeconds(error));
  res.end(
    JSON.stringify({
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail: error.message,
      code: error.code,
    }),
  );
}

function retryAfterSeconds(error: Refusal): string {
  return String(Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000)));
}

// One-shot crypto.hash (Node 20.12+) skips the Hash object createHash builds for every call.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** Node's SHA-256: the same hex as the core's pure-JS one, several times faster. */
function nodeSha256(text: string): string {
  return oneShotHash ? oneShotHash('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}

type HookedMethods = Record<'writeHead' | 'write' | 'end', Method>;

/** The dispatchers installed on one prototype, and where the methods they stand in front of are. */
interface Hooks extends HookedMethods {
  /** Looked up at every call: methods inherited from here (http.ServerResponse's, usually). */
  lookup: HookedMethods;
  /** Captured when the dispatchers were installed: methods the patched object had of its own. */
  fixed: Partial<HookedMethods>;
}
// Prototypes given dispatchers: Express's own response prototype, patched in place.
const patchedPrototypes = new WeakMap<object, Hooks>();
// Prototypes derived from another one (plain Node responses), cached per original.
const derivedPrototypes = new WeakMap<object, object>();
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Puts the held request's hooks in front of a response's writeHead/write/end.
 *
 * Under Express every response's prototype is its app's `app.response`, which inherits from
 * Express's own response prototype: the hooks are dispatchers defined on that object once. Each
 * finds its held request through `res.req` and passes any other response straight on. Nothing is
 * allocated per request, and the response keeps its shape: giving each response a new prototype
 * (or own methods) costs V8 a new hidden class per response, which is both garbage and a slower
 * Node HTTP stack for every response after it. A method the dispatchers stand in front of is
 * looked up on the prototype at every call, so a later patch of `http.ServerResponse.prototype`
 * (an APM agent's) still runs. A response whose prototype is not an app's (plain Node) gets a
 * cached prototype derived from its own; one that already has its own writeHead/write/end
 * (another middleware wrapped them) gets own properties instead.
 */
function installHooks(res: Response, request: HeldRequest): void {
  if (hasOwn.call(res, 'writeHead') || hasOwn.call(res, 'write') || hasOwn.call(res, 'end')) {
    const target = res as unknown as HookedMethods;
    request.baseWriteHead = target.writeHead;
    request.baseWrite = target.write;
    request.baseEnd = target.end;
    target.writeHead = function writeHead() {
      // eslint-disable-next-line prefer-rest-params
      return request.writeHead(arguments);
    };
    target.write = function write() {
      // eslint-disable-next-line prefer-rest-params
      return request.write(arguments);
    };
    target.end = function end() {
      // eslint-disable-next-line prefer-rest-params
      return request.end(arguments);
    };
    return;
  }
  const proto = Object.getPrototypeOf(res) as HookedMethods;
  // Express's own response prototype, which every app's `app.response` (and a mounted sub-app's,
  // which a request switches to inside the sub-app) inherits from.
  const shared = (res as { app?: { response?: unknown } }).app?.response === proto ? (Object.getPrototypeOf(proto) as HookedMethods | null) : null;
  if (shared !== null) {
    let hooks = patchedPrototypes.get(shared);
    // Patched once, and again if something replaced a dispatcher since (which then sits behind
    // the new one).
    if (hooks === undefined || shared.end !== hooks.end || shared.write !== hooks.write || shared.writeHead !== hooks.writeHead) {
      const fixed: Partial<HookedMethods> = {};
      for (const name of HOOKED) if (hasOwn.call(shared, name)) fixed[name] = shared[name];
      hooks = dispatchers(Object.getPrototypeOf(shared) as HookedMethods, fixed);
      for (const name of HOOKED) {
        Object.defineProperty(shared, name, { configurable: true, writable: true, enumerable: false, value: hooks[name] });
      }
      patchedPrototypes.set(shared, hooks);
    }
    // Unless the app's prototype has its own methods in front of them.
    if (proto.end === hooks.end && proto.write === hooks.write && proto.writeHead === hooks.writeHead) {
      request.baseWriteHead = hooks.fixed.writeHead ?? hooks.lookup.writeHead;
      request.baseWrite = hooks.fixed.write ?? hooks.lookup.write;
      request.baseEnd = hooks.fixed.end ?? hooks.lookup.end;
      return;
    }
  }
  let derived = derivedPrototypes.get(proto);
  if (derived === undefined) {
    const hooks = dispatchers(proto, {});
    derived = Object.create(proto, {
      writeHead: { configurable: true, writable: true, value: hooks.writeHead },
      write: { configurable: true, writable: true, value: hooks.write },
      end: { configurable: true, writable: true, value: hooks.end },
    }) as object;
    derivedPrototypes.set(proto, derived);
  }
  request.baseWriteHead = proto.writeHead;
  request.baseWrite = proto.write;
  request.baseEnd = proto.end;
  Object.setPrototypeOf(res, derived);
}

const HOOKED = ['writeHead', 'write', 'end'] as const;

/**
 * Dispatchers to the held request, or else to the method they stand in front of: the one in
 * `fixed`, or the one `lookup` has at the time of the call.
 */
function dispatchers(lookup: HookedMethods, fixed: Partial<HookedMethods>): Hooks {
  const { writeHead: fixedWriteHead, write: fixedWrite, end: fixedEnd } = fixed;
  // One function per method (not one made in a loop), so each call site stays monomorphic.
  return {
    lookup,
    fixed,
    writeHead: function writeHead(this: Response) {
      const own = heldOf(this.req);
      return own !== undefined && own.res === this && !own.passing
        ? // eslint-disable-next-line prefer-rest-params
          own.writeHead(arguments)
        : // eslint-disable-next-line prefer-rest-params
          (fixedWriteHead ?? lookup.writeHead).apply(this, arguments as unknown as unknown[]);
    },
    write: function write(this: Response) {
      const own = heldOf(this.req);
      return own !== undefined && own.res === this && !own.passing
        ? // eslint-disable-next-line prefer-rest-params
          own.write(arguments)
        : // eslint-disable-next-line prefer-rest-params
          (fixedWrite ?? lookup.write).apply(this, arguments as unknown as unknown[]);
    },
    end: function end(this: Response) {
      const own = heldOf(this.req);
      return own !== undefined && own.res === this && !own.passing
        ? // eslint-disable-next-line prefer-rest-params
          own.end(arguments)
        : // eslint-disable-next-line prefer-rest-params
          (fixedEnd ?? lookup.end).apply(this, arguments as unknown as unknown[]);
    },
  };
}

/**
 * `req.baseUrl + req.path`. Express's `req.path` parses the URL on every read; for the common
 * target (origin form, nothing that makes Express's parser fall back to a full URL parse) the path
 * is the URL up to its query, read here without the parse.
 */
function concretePath(req: Request): string {
  const url = req.url;
  if (url.charCodeAt(0) !== 0x2f) return req.baseUrl + req.path;
  let end = url.length;
  for (let i = 1; i < url.length; i++) {
    const code = url.charCodeAt(i);
    // What Express's parser hands to the full URL parse: whitespace, '#', NBSP, BOM.
    if (code === 0x20 || code === 0x23 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0xfeff) return req.baseUrl + req.path;
    if (code === 0x3f && end === url.length) end = i;
  }
  return req.baseUrl + (end === url.length ? url : url.slice(0, end));
}


/** The key from the configured header or the legacy one; two different keys are KEY_INVALID. */
function readKey(req: Request, names: readonly string[], maxLength: number): string | undefined {
  let found: string | undefined;
  for (const name of names) {
    // A repeated header arrives joined with ', ' in req.headers; only then is the (costlier, it
    // copies every header) headersDistinct read to tell a list from one value with a comma.
    const joined = req.headers[name];
    const raw = typeof joined === 'string' && joined.includes(',') ? (req.headersDistinct?.[name] ?? joined) : joined;
    const key = parseIdempotencyKey(raw, { maxLength });
    if (key === undefined) continue;
    if (found !== undefined && found !== key) {
      throw new IdempotencyError('KEY_INVALID', 'Idempotency-Key and X-Idempotency-Key carry different keys');
    }
    found = key;
  }
  return found;
}

/**
 * The store key. Everything before the first ':' is the percent-encoded scope (empty for none),
 * so no (scope, key) pair can collide with another, scoped or not.
 */
function scopedKey(scope: string | null | undefined, key: string): string {
  return `${scope ? encodeURIComponent(scope) : ''}:${key}`;
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(`closed-loop: \`${name}\` must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}
