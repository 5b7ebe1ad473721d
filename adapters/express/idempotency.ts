import * as crypto from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  type Clock,
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
   * `req.body`, so mount the body parser before this middleware.
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
// hooks from `res.req`.
const held = new WeakMap<object, HeldRequest>();

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
 * Mount it after the body parser (the body is part of the fingerprint) and after any compression
 * middleware (the stored bytes are the uncompressed body).
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
    ((req: Request) => fingerprintRequest({ method: req.method, path: req.baseUrl + req.path, body: req.body }, nodeSha256));
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

  const refuse = (error: IdempotencyError, res: Response, next: NextFunction): void => {
    if (errors === 'next') {
      // Set already, so an error handler that answers keeps it.
      if (error.retryAfterMs !== undefined && !res.headersSent) res.setHeader('Retry-After', retryAfterSeconds(error));
      next(error);
    } else {
      sendProblem(res, error);
    }
  };

  const admit = async (req: Request, res: Response, next: NextFunction, key: string): Promise<void> => {
    let storeKey: string;
    let print: string;
    try {
      storeKey = scopedKey(options.scope ? await options.scope(req) : undefined, key);
      const printed = fingerprint(req);
      // The default fingerprint is synchronous: no await (and no extra microtask) for it.
      print = typeof printed === 'string' ? printed : await printed;
    } catch (error) {
      next(error);
      return;
    }
    let begun: Awaited<ReturnType<IdempotencyGuard['begin']>>;
    try {
      begun = await guard.begin(storeKey, print);
    } catch (error) {
      refuse(isIdempotencyError(error) ? error : new IdempotencyError('STORE_UNAVAILABLE', undefined, { cause: error }), res, next);
      return;
    }
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

  return function idempotency(req: Request, res: Response, next: NextFunction): void {
    // Mounted twice on one route (app-wide and again on the route): the first one holds the key.
    if (!methods.has(req.method.toUpperCase()) || held.has(req)) {
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
    // Every failure inside is answered or passed to next; the catch only keeps a throwing `next`
    // from becoming an unhandled rejection.
    admit(req, res, next, key).catch(() => undefined);
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
  const request = held.get(req);
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
  const request = held.get(req);
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
  // The methods the hooks stand in front of.
  private readonly origWriteHead: (...args: unknown[]) => unknown;
  private readonly origWrite: (...args: unknown[]) => unknown;
  private readonly origEnd: (...args: unknown[]) => unknown;
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
  ) {
    this.origWriteHead = res.writeHead as (...args: unknown[]) => unknown;
    this.origWrite = res.write as (...args: unknown[]) => unknown;
    this.origEnd = res.end as (...args: unknown[]) => unknown;
  }

  /** Stores an explicit result (storeIdempotentResult, or the captured response at the end). */
  store(result: StoredHttpResponse): Promise<boolean> {
    return this.track(this.lease.complete(result));
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
    return this.origWriteHead.apply(this.res, args as unknown[]);
  }

  write(args: ArrayLike<unknown>): unknown {
    // A write after end is a handler bug; while the end waits for the store it must not slip in.
    if (this.phase !== OPEN) return false;
    this.add(args[0], args[1], true);
    return this.origWrite.apply(this.res, args as unknown[]);
  }

  end(args: ArrayLike<unknown>): unknown {
    const res = this.res;
    if (this.phase !== OPEN) {
      // A second end: after the first went out, and only if that one did not finish the response.
      if (this.phase === ENDING) (this.laterEnds ??= []).push(args);
      else if (!res.writableEnded) this.origEnd.apply(res, args as unknown[]);
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
      if (this.config.cacheServerErrors || (!this.failed && status < 500)) void this.store(this.toStored(status));
      else void this.track(this.lease.release());
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
    const res = this.res;
    this.origEnd.apply(res, this.endArgs as unknown[]);
    const later = this.laterEnds;
    if (later !== undefined) for (const args of later) if (!res.writableEnded) this.origEnd.apply(res, args as unknown[]);
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
    return { status, headers, body: bytes.toString('base64') };
  }
}

function putHeader(headers: Record<string, string | string[]>, name: string, value: unknown): void {
  if (value === undefined || value === null) return;
  headers[name] = Array.isArray(value) ? value.map(String) : String(value);
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

function sendProblem(res: Response, error: IdempotencyError): void {
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

function retryAfterSeconds(error: IdempotencyError): string {
  return String(Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000)));
}

// One-shot crypto.hash (Node 20.12+) skips the Hash object createHash builds for every call.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** Node's SHA-256: the same hex as the core's pure-JS one, several times faster. */
function nodeSha256(text: string): string {
  return oneShotHash ? oneShotHash('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}

const HOOKED = ['writeHead', 'write', 'end'] as const;
const hookedPrototypes = new WeakMap<object, object>();

/**
 * Puts the held request's hooks in front of a response's writeHead/write/end. Rather than adding
 * three own properties to every response (costly on objects whose prototype Express has swapped),
 * the response gets a cached prototype, derived from its own, whose methods find the held request
 * through `res.req`. A response that already has its own write/end (another middleware wrapped
 * them) gets own properties instead.
 */
function installHooks(res: Response, request: HeldRequest): void {
  const target = res as unknown as Record<string, unknown>;
  if (HOOKED.some((name) => Object.prototype.hasOwnProperty.call(res, name))) {
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
  const proto = Object.getPrototypeOf(res) as object;
  let derived = hookedPrototypes.get(proto);
  if (!derived) {
    type Method = (this: Response, ...args: unknown[]) => unknown;
    const base = proto as unknown as Record<(typeof HOOKED)[number], Method>;
    // One function per method (not one made in a loop), so each call site stays monomorphic.
    const methods: PropertyDescriptorMap = {
      writeHead: {
        configurable: true,
        writable: true,
        value: function writeHead(this: Response) {
          const own = held.get(this.req);
          // eslint-disable-next-line prefer-rest-params
          return own !== undefined && own.res === this ? own.writeHead(arguments) : base.writeHead.apply(this, arguments as unknown as unknown[]);
        },
      },
      write: {
        configurable: true,
        writable: true,
        value: function write(this: Response) {
          const own = held.get(this.req);
          // eslint-disable-next-line prefer-rest-params
          return own !== undefined && own.res === this ? own.write(arguments) : base.write.apply(this, arguments as unknown as unknown[]);
        },
      },
      end: {
        configurable: true,
        writable: true,
        value: function end(this: Response) {
          const own = held.get(this.req);
          // eslint-disable-next-line prefer-rest-params
          return own !== undefined && own.res === this ? own.end(arguments) : base.end.apply(this, arguments as unknown as unknown[]);
        },
      },
    };
    derived = Object.create(proto, methods) as object;
    hookedPrototypes.set(proto, derived);
  }
  Object.setPrototypeOf(res, derived);
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
