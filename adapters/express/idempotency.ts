import { createHash } from 'node:crypto';
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
  realClock,
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
  /** The body bytes, base64. Empty when `bodyOmitted`. */
  body: string;
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

/** A request holding a key, from the claim until its result is stored or released. */
interface HeldRequest {
  lease: IdempotencyLease;
  /** Set once the lease is being completed or released; nothing touches it afterwards. */
  settled: boolean;
  /** Resolves when the store answered the complete/release (or the wait bound passed). */
  settling?: Promise<void>;
  /** A thrown error reached the app's error handling. */
  failed: boolean;
  /** Stores an explicit result (storeIdempotentResult). */
  store(result: StoredHttpResponse): Promise<boolean>;
  maxResponseBytes: number;
}

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
  const answerWaitMs = Math.min(guard.leaseMs, STORE_ANSWER_WAIT_MS);

  const refuse = (error: IdempotencyError, res: Response, next: NextFunction): void => {
    if (errors === 'next') {
      // Set already, so an error handler that answers keeps it.
      if (error.retryAfterMs !== undefined && !res.headersSent) res.setHeader('Retry-After', retryAfterSeconds(error));
      next(error);
    } else {
      sendProblem(res, error);
    }
  };

  const reportStoreError = (error: unknown, req: Request): void => {
    try {
      options.onStoreError?.(error, req);
    } catch {
      // A failing reporter must not take the response down with it.
    }
  };

  /** Waits for a store write at most answerWaitMs; never rejects (the client has its response). */
  const settleWithin = (op: Promise<boolean>, req: Request): { done: Promise<void>; ok: Promise<boolean> } => {
    const ok = op.catch((error: unknown) => {
      reportStoreError(error, req);
      return false;
    });
    const done = new Promise<void>((resolve) => {
      const timer = clock.setTimeout(resolve, answerWaitMs);
      void ok.then(() => {
        clock.clearTimeout(timer);
        resolve();
      });
    });
    return { done, ok };
  };

  const hold = (req: Request, res: Response, lease: IdempotencyLease): void => {
    const request: HeldRequest = {
      lease,
      settled: false,
      failed: false,
      maxResponseBytes,
      store: (result) => {
        const { done, ok } = settleWithin(lease.complete(result), req);
        request.settling = done;
        return ok;
      },
    };
    held.set(req, request);
    const capture = new ResponseCapture(maxResponseBytes);
    const write = res.write;
    const end = res.end;
    const writeHead = res.writeHead;
    let ending: Promise<void> | undefined;

    installHooks(res, {
      writeHead(this: Response, ...args: unknown[]) {
        capture.headHeaders(args);
        return (writeHead as (...a: unknown[]) => Response).apply(this, args);
      },

      write(this: Response, ...args: unknown[]) {
        // A write after end is a handler bug; while the end waits for the store it must not slip in.
        if (ending) return false;
        capture.add(args[0], args[1]);
        return (write as (...a: unknown[]) => boolean).apply(this, args);
      },

      end(this: Response, ...args: unknown[]) {
        if (ending) {
          // A second end: after the first went out, and only if that one did not finish the response.
          void ending.then(() => {
            if (!res.writableEnded) (end as (...a: unknown[]) => Response).apply(res, args);
          });
          return this;
        }
        capture.add(args[0], args[1]);
        // The result is stored when the handler ends the response, not on 'finish': a client that
        // went away mid-request still gets its result stored for the retry.
        if (!request.settled) {
          request.settled = true;
          const status = res.statusCode;
          const keep = cacheServerErrors || (!request.failed && status < 500);
          if (keep) {
            request.store(capture.toStored(status, res.getHeaders(), replayed));
          } else {
            request.settling = settleWithin(lease.release(), req).done;
          }
        }
        // The response goes out once the store has confirmed, so a retry sent after it replays.
        ending = (request.settling ?? Promise.resolve()).then(() => {
          (end as (...a: unknown[]) => Response).apply(res, args);
        });
        return this;
      },
    });
  };

  const admit = async (req: Request, res: Response, next: NextFunction, key: string): Promise<void> => {
    let storeKey: string;
    let print: string;
    try {
      storeKey = scopedKey(options.scope ? await options.scope(req) : undefined, key);
      print = await fingerprint(req);
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
    hold(req, res, begun.lease);
    next();
  };

  return function idempotency(req: Request, res: Response, next: NextFunction): void {
    if (!methods.has(req.method.toUpperCase())) {
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
  let bytes: Buffer;
  const body = result.body;
  if (body === undefined || body === null) bytes = Buffer.alloc(0);
  else if (typeof body === 'string') bytes = Buffer.from(body, 'utf8');
  else if (body instanceof Uint8Array) bytes = Buffer.from(body);
  else {
    bytes = Buffer.from(JSON.stringify(body) ?? '', 'utf8');
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  const status = result.status ?? (req.res?.statusCode || 200);
  const stored: StoredHttpResponse =
    bytes.length > request.maxResponseBytes
      ? { status, headers: withoutContentType(headers), body: '', bodyOmitted: true }
      : { status, headers, body: bytes.toString('base64') };
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

/** Collects what the handler sends, up to a byte limit. */
class ResponseCapture {
  private chunks: Buffer[] | undefined = [];
  private size = 0;
  private head: Array<[string, unknown]> = [];

  constructor(private readonly limit: number) {}

  add(chunk: unknown, encoding: unknown): void {
    if (this.chunks === undefined || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    let bytes: Buffer;
    if (typeof chunk === 'string') {
      const enc = (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding;
      if (this.size + Buffer.byteLength(chunk, enc) > this.limit) return this.omit();
      bytes = Buffer.from(chunk, enc);
    } else if (chunk instanceof Uint8Array) {
      if (this.size + chunk.byteLength > this.limit) return this.omit();
      // Copied: the caller may reuse its buffer after write returns.
      bytes = Buffer.from(chunk);
    } else {
      return;
    }
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  /** Headers passed to writeHead as an argument are not always visible through getHeaders(). */
  headHeaders(args: unknown[]): void {
    const headers = args.find((a, i) => i > 0 && typeof a === 'object' && a !== null);
    if (Array.isArray(headers)) {
      if (Array.isArray(headers[0])) for (const [name, value] of headers as unknown[][]) this.head.push([String(name), value]);
      else for (let i = 0; i + 1 < headers.length; i += 2) this.head.push([String(headers[i]), headers[i + 1]]);
    } else if (headers) {
      for (const [name, value] of Object.entries(headers)) this.head.push([name, value]);
    }
  }

  toStored(status: number, current: Record<string, unknown>, replayed: ReadonlySet<string>): StoredHttpResponse {
    const headers: Record<string, string | string[]> = {};
    const put = (name: string, value: unknown): void => {
      const lower = name.toLowerCase();
      if (!replayed.has(lower) || value === undefined || value === null) return;
      headers[lower] = Array.isArray(value) ? value.map(String) : String(value);
    };
    for (const [name, value] of Object.entries(current)) put(name, value);
    for (const [name, value] of this.head) put(name, value);
    // Node sends no body with these statuses whatever the handler wrote.
    const bodiless = status === 204 || status === 304 || status < 200;
    if (this.chunks === undefined && !bodiless) {
      return { status, headers: withoutContentType(headers), body: '', bodyOmitted: true };
    }
    const body = bodiless || !this.chunks ? '' : Buffer.concat(this.chunks).toString('base64');
    return { status, headers, body };
  }

  private omit(): void {
    this.chunks = undefined;
    this.size = 0;
  }
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
    v.headers === null
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

/** Node's SHA-256: the same hex as the core's pure-JS one, about four times faster. */
function nodeSha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The response methods the middleware wraps to capture what the handler sends. */
interface ResponseHooks {
  writeHead(this: Response, ...args: unknown[]): unknown;
  write(this: Response, ...args: unknown[]): unknown;
  end(this: Response, ...args: unknown[]): unknown;
}

const hooksByResponse = new WeakMap<object, ResponseHooks>();
const hookedPrototypes = new WeakMap<object, object>();
const HOOKED = ['writeHead', 'write', 'end'] as const;

/**
 * Puts `hooks` in front of a response's writeHead/write/end. Rather than adding three own
 * properties to every response (costly on objects whose prototype Express has swapped), the
 * response gets a cached prototype, derived from its own, whose methods look the hooks up per
 * response. A response that already has its own write/end (another middleware wrapped them) gets
 * own properties, as before.
 */
function installHooks(res: Response, hooks: ResponseHooks): void {
  if (HOOKED.some((name) => Object.prototype.hasOwnProperty.call(res, name))) {
    for (const name of HOOKED) (res as unknown as Record<string, unknown>)[name] = hooks[name];
    return;
  }
  const proto = Object.getPrototypeOf(res) as Record<string, (...args: unknown[]) => unknown>;
  let derived = hookedPrototypes.get(proto);
  if (!derived) {
    const methods: PropertyDescriptorMap = {};
    for (const name of HOOKED) {
      methods[name] = {
        configurable: true,
        writable: true,
        value: function (this: Response, ...args: unknown[]) {
          const own = hooksByResponse.get(this);
          return own ? own[name].apply(this, args) : proto[name]!.apply(this, args);
        },
      };
    }
    derived = Object.create(proto, methods) as object;
    hookedPrototypes.set(proto, derived);
  }
  hooksByResponse.set(res, hooks);
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
