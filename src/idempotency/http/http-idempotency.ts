import { realClock } from '../../clock/clock.js';
import { IdempotencyError } from '../../errors/errors.js';
import { type IdempotencyBegin, IdempotencyGuard, type IdempotencyLease } from '../guard.js';
import { MemoryIdempotencyStore } from '../memory-store.js';
import type { IdempotencyStore } from '../store.js';
import { AnswerWaits } from './answer-waits.js';
import { replayedHeaderNames } from './headers.js';
import { DEFAULT_METHODS, type HttpIdempotencyOptions, STORE_ANSWER_WAIT_MS, choiceOption, integerOption } from './options.js';
import { keyHeaderNames, readIdempotencyKey, scopedIdempotencyKey } from './request-key.js';
import { type StoredHttpResponse, readStoredResponse } from './stored-response.js';

/**
 * The HTTP rules of idempotency, configured once from {@link HttpIdempotencyOptions}: which
 * requests are guarded, how the key is read and scoped, the claim, what a replay is, which outcome
 * is stored and which releases the key. Framework-free: a server adapter translates its own
 * request and response to these calls (the Express, fetch and Hono adapters do), and
 * {@link HeldHttpResponse} carries one request through them.
 *
 * Options are validated here, once, when the guard is made: a bad one throws a TypeError.
 *
 * @example
 * ```ts
 * // A sketch of an adapter, for a server with web Request objects:
 * const rules = new HttpIdempotency<Request>(options, defaultFingerprint)
 * if (!rules.handles(request.method)) return handler(request)
 * const key = rules.readKey((name) => request.headers.get(name))  // throws KEY_INVALID
 * if (key === undefined) return rules.required ? refuse(new IdempotencyError('KEY_MISSING')) : handler(request)
 * const begun = await rules.begin(request, key)                    // throws KEY_IN_USE, KEY_MISMATCH, ...
 * if (begun.kind === 'replay') return replay(rules.replayed(begun.result))
 * // run the handler, capture its response in a HeldHttpResponse, and finish() it
 * ```
 * @category Idempotency
 */
export class HttpIdempotency<Req> {
  /** Where records live: the `store` option, or a memory store made for this guard. */
  readonly store: IdempotencyStore;
  /** The store made because no `store` was given (for `clearIdempotencyCache()` and friends), else undefined. */
  readonly defaultStore: MemoryIdempotencyStore | undefined;
  /** The claim, lease and replay logic over the store. */
  readonly guard: IdempotencyGuard;
  /** Whether a request without a key is refused. */
  readonly required: boolean;
  /** How refusals are answered: `'respond'` or `'next'`. */
  readonly errors: 'respond' | 'next';
  /** The largest body stored, in bytes. */
  readonly maxResponseBytes: number;
  /** Whether 5xx answers and failures are stored rather than released. */
  readonly cacheServerErrors: boolean;
  /** The lower-case names of the headers a replay carries. */
  readonly replayedHeaders: readonly string[];
  /**
   * The bound on how long a response waits for the store to confirm its result.
   *
   * @internal
   */
  readonly waits: AnswerWaits;
  private readonly keyHeaders: readonly string[];
  private readonly maxKeyLength: number;
  private readonly methods: ReadonlySet<string>;
  private readonly scope: HttpIdempotencyOptions<Req>['scope'];
  private readonly fingerprint: (req: Req) => string | PromiseLike<string>;
  private readonly onStoreError: HttpIdempotencyOptions<Req>['onStoreError'];

  /**
   * @param options - see {@link HttpIdempotencyOptions}
   * @param defaultFingerprint - the adapter's fingerprint of a request, used when the options give none
   * @throws TypeError for an option out of range
   */
  constructor(options: HttpIdempotencyOptions<Req>, defaultFingerprint: (req: Req) => string | PromiseLike<string>) {
    const clock = options.clock ?? realClock;
    this.defaultStore = options.store === undefined ? new MemoryIdempotencyStore({ clock }) : undefined;
    this.store = options.store ?? this.defaultStore!;
    this.guard = new IdempotencyGuard({
      store: this.store,
      clock,
      ...(options.ttlMs !== undefined && { ttlMs: options.ttlMs }),
      ...(options.leaseMs !== undefined && { leaseMs: options.leaseMs }),
      ...(options.concurrent !== undefined && { concurrent: options.concurrent }),
      ...(options.waitTimeoutMs !== undefined && { waitTimeoutMs: options.waitTimeoutMs }),
    });
    this.keyHeaders = keyHeaderNames(options.header);
    this.methods = new Set((options.methods ?? DEFAULT_METHODS).map((m) => m.toUpperCase()));
    this.required = options.required ?? false;
    this.maxKeyLength = integerOption('maxKeyLength', options.maxKeyLength, 255, 1);
    this.maxResponseBytes = integerOption('maxResponseBytes', options.maxResponseBytes, 1024 * 1024, 0);
    this.cacheServerErrors = options.cacheServerErrors ?? false;
    this.errors = choiceOption('errors', options.errors, ['respond', 'next'] as const);
    this.replayedHeaders = replayedHeaderNames(options.replayHeaders);
    this.scope = options.scope;
    this.fingerprint = options.fingerprint ?? defaultFingerprint;
    this.onStoreError = options.onStoreError;
    this.waits = new AnswerWaits(clock, Math.min(this.guard.leaseMs, STORE_ANSWER_WAIT_MS));
  }

  /**
   * Whether requests with this method are guarded; others pass through untouched.
   *
   * @param method - the request method, any case
   */
  handles(method: string): boolean {
    return this.methods.has(method) || this.methods.has(method.toUpperCase());
  }

  /**
   * The request's key, from the configured header or the legacy one (see {@link readIdempotencyKey}).
   *
   * @param read - the request's value of a header, by lower-case name
   * @returns the key, or `undefined` when the request has none
   * @throws IdempotencyError `KEY_INVALID`
   */
  readKey(read: (name: string) => string | readonly string[] | null | undefined): string | undefined {
    return readIdempotencyKey(read, this.keyHeaders, this.maxKeyLength);
  }

  /**
   * Claims the request's scoped key under its fingerprint. The answer is synchronous when it can
   * be (no `scope`, a synchronous fingerprint, the memory store): no promise, no microtask.
   *
   * @param req - the request, as the adapter hands it to `scope` and `fingerprint`
   * @param key - the key from {@link readKey}
   * @returns `execute` with a lease, or `replay` with the stored result
   * @throws IdempotencyError (synchronously or as a rejection) `KEY_IN_USE`, `KEY_MISMATCH` or
   *   `STORE_UNAVAILABLE`; an error thrown by `scope` or `fingerprint` comes through as it is
   */
  begin(req: Req, key: string): IdempotencyBegin | Promise<IdempotencyBegin> {
    if (this.scope !== undefined) return this.beginLater(req, key, undefined);
    const printed = this.fingerprint(req);
    if (typeof printed !== 'string') return this.beginLater(req, key, printed);
    const storeKey = scopedIdempotencyKey(undefined, key);
    return this.guard.beginNow(storeKey, printed) ?? this.guard.begin(storeKey, printed);
  }

  /**
   * The stored response a `replay` carries.
   *
   * @param result - `begin`'s `result`
   * @throws IdempotencyError `STORE_UNAVAILABLE` when the record is not a {@link StoredHttpResponse}
   */
  replayed(result: unknown): StoredHttpResponse {
    const stored = readStoredResponse(result);
    if (stored === undefined) throw new IdempotencyError('STORE_UNAVAILABLE', 'The stored response for this Idempotency-Key cannot be read');
    return stored;
  }

  /**
   * The release rule: whether an answer the handler completed gives its key back (so a retry runs
   * the handler again) rather than being stored. A 5xx answer, or an answer to a thrown error
   * (`failed`, whatever status the app's error handling gave it), releases the key, unless
   * `cacheServerErrors`. A response that did not complete at all is always released
   * ({@link HeldHttpResponse.abandon}).
   *
   * @param status - the answer's status
   * @param failed - whether a thrown error led to the answer
   */
  releases(status: number, failed: boolean): boolean {
    return !this.cacheServerErrors && (failed || status >= 500);
  }

  /**
   * Stores `stored` under the lease. Synchronous with the memory store; never throws (a failure is
   * a rejected promise).
   *
   * @param lease - the lease from `begin`
   * @param stored - the response to replay
   * @returns whether it was stored (false: the lease was lost)
   */
  complete(lease: IdempotencyLease, stored: StoredHttpResponse): boolean | Promise<boolean> {
    return lease.completeNow ? lease.completeNow(stored) : lease.complete(stored);
  }

  /**
   * Gives the key back unstored. Synchronous with the memory store; never throws (a failure is a
   * rejected promise).
   *
   * @param lease - the lease from `begin`
   * @returns whether it was released (false: the lease was lost)
   */
  release(lease: IdempotencyLease): boolean | Promise<boolean> {
    return lease.releaseNow ? lease.releaseNow() : lease.release();
  }

  /**
   * Passes a failure to store or release (after the handler ran) to `onStoreError`; a throwing
   * reporter is ignored.
   *
   * @param error - what the store failed with
   * @param req - the request
   */
  reportStoreError(error: unknown, req: Req): void {
    try {
      this.onStoreError?.(error, req);
    } catch {
      // A failing reporter must not take the response down with it.
    }
  }

  private async beginLater(req: Req, key: string, printed: PromiseLike<string> | undefined): Promise<IdempotencyBegin> {
    const storeKey = scopedIdempotencyKey(this.scope ? await this.scope(req) : undefined, key);
    const print = await (printed ?? this.fingerprint(req));
    return this.guard.beginNow(storeKey, print) ?? this.guard.begin(storeKey, print);
  }
}

