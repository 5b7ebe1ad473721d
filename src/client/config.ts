// A sync client's options, checked and filled in once by createSyncClient: what every call reads.
// Not exported.
import { type Clock, realClock } from '../clock/clock.js';
import { checkFunction, checkNumber, hasMethods, positiveInteger } from '../internal/validate.js';
import { checkRetryOptions, DEFAULT_MAX_ATTEMPTS, type RetryOptions } from '../retry/options.js';
import { checkHoldingQueue } from './durable.js';
import { EtagCache } from './etag-cache.js';
import { checkHeaderName, mergeHeaders, parseBaseUrls } from './http.js';
import type { SyncClientOptions, SyncClientQueue, SyncHeaders, SyncHeadersOption } from './options.js';
import { SYNC_REQUEST_ITEM_TYPE } from './queue-bridge.js';
import { RetryBudget } from './retry-budget.js';
import { ServerPool } from './servers.js';

/** The client's options after checking, with its servers, ETag cache and retry budget made. */
export interface ClientConfig {
  readonly clock: Clock;
  /** The `fetch` option; `globalThis.fetch` is read at each attempt when it is absent. */
  readonly fetch: typeof globalThis.fetch | undefined;
  /** Object `headers`, lower-cased. */
  readonly staticHeaders: Record<string, string> | undefined;
  /** Function `headers`, read again before every attempt. */
  readonly headersFn: (() => SyncHeaders | undefined | PromiseLike<SyncHeaders | undefined>) | undefined;
  readonly retry: RetryOptions | false;
  /** The header carrying the idempotency key. */
  readonly keyHeader: string;
  readonly pool: ServerPool;
  readonly dedupe: boolean;
  readonly etags: EtagCache | undefined;
  readonly retryBudget: RetryBudget | undefined;
  /** The item type of the client's requests in its offline queue. */
  readonly itemType: string;
  readonly queue: SyncClientQueue | undefined;
  /** Whether mutations are durable unless a call says otherwise. */
  readonly durable: boolean;
}

const DEFAULT_ETAG_ENTRIES = 500;

/** Checks a client's options (TypeError for a wrong one) and fills in the defaults. */
export function resolveClientOptions(options: SyncClientOptions): ClientConfig {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('closed-loop: createSyncClient needs an options object with a `baseUrl`');
  }
  const urls = parseBaseUrls(options.baseUrl);
  const clock = checkClock(options.clock) ?? realClock;
  checkFunction('fetch', options.fetch);
  const headers: SyncHeadersOption | undefined = options.headers;
  let headersFn: ClientConfig['headersFn'];
  let staticHeaders: Record<string, string> | undefined;
  if (typeof headers === 'function') headersFn = headers;
  else if (headers !== undefined) staticHeaders = mergeHeaders({}, headers);
  const retryOption = options.retry;
  if (retryOption !== undefined && retryOption !== false && (typeof retryOption !== 'object' || retryOption === null)) {
    throw new TypeError('closed-loop: `retry` must be retry options or false');
  }
  const retry = retryOption === false ? false : checkRetry({ clock, ...retryOption });
  const keyHeader = checkHeaderName(options.idempotencyHeader ?? 'Idempotency-Key');
  const mode = options.loadBalancing ?? 'failover';
  if (mode !== 'failover' && mode !== 'round-robin') {
    throw new TypeError(`closed-loop: \`loadBalancing\` must be 'failover' or 'round-robin', got ${String(mode)}`);
  }
  const breaker = options.breaker;
  if (breaker !== undefined && breaker !== false && (typeof breaker !== 'object' || breaker === null)) {
    throw new TypeError('closed-loop: `breaker` must be circuit breaker options or false');
  }
  const pool = new ServerPool(urls, breaker === false ? false : (breaker ?? {}), clock, mode);
  const etag = options.etagCache ?? true;
  if (etag !== false && etag !== true && (typeof etag !== 'object' || etag === null)) {
    throw new TypeError('closed-loop: `etagCache` must be true, false or { maxEntries }');
  }
  let etags: EtagCache | undefined;
  if (etag !== false) {
    const maxEntries = etag === true ? DEFAULT_ETAG_ENTRIES : (etag.maxEntries ?? DEFAULT_ETAG_ENTRIES);
    checkNumber('etagCache.maxEntries', maxEntries, positiveInteger);
    etags = new EtagCache(maxEntries);
  }
  const budget = options.retryBudget;
  let retryBudget: RetryBudget | undefined;
  if (isRetryBudget(budget)) retryBudget = budget;
  else if (budget === true) retryBudget = new RetryBudget({ clock });
  else if (budget !== undefined && budget !== false) {
    if (typeof budget !== 'object' || budget === null) {
      throw new TypeError('closed-loop: `retryBudget` must be budget options, a RetryBudget, true or false');
    }
    retryBudget = new RetryBudget({ clock, ...budget });
  }
  const itemType = options.queueItemType ?? SYNC_REQUEST_ITEM_TYPE;
  if (typeof itemType !== 'string' || itemType === '') {
    throw new TypeError('closed-loop: `queueItemType` must be a non-empty string');
  }
  let queue: SyncClientQueue | undefined;
  if (options.offlineQueue !== undefined && options.offlineQueue !== false) {
    checkQueue(options.offlineQueue);
    queue = options.offlineQueue;
  }
  if (options.durable !== undefined && typeof options.durable !== 'boolean') {
    throw new TypeError('closed-loop: `durable` must be true or false');
  }
  const durable = options.durable === true;
  if (durable) checkHoldingQueue(queue);
  return {
    clock,
    fetch: options.fetch,
    staticHeaders,
    headersFn,
    retry,
    keyHeader,
    pool,
    dedupe: options.dedupe !== false,
    etags,
    retryBudget,
    itemType,
    queue,
    durable,
  };
}

/** The retry options of one call: the client's, or the call's merged over them. */
export function retryFor(config: ClientConfig, override: RetryOptions | false | undefined): RetryOptions | false {
  if (override === undefined) return config.retry;
  if (override === false) return false;
  if (typeof override !== 'object' || override === null) throw new TypeError('closed-loop: `retry` must be retry options or false');
  return checkRetry(config.retry === false ? { clock: config.clock, ...override } : { ...config.retry, ...override });
}

/** The most attempts a call with these retry options makes. */
export function maxAttemptsOf(retry: RetryOptions | false): number {
  return retry === false ? 1 : (retry.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
}

/** A RetryBudget, also one from another copy of the package (ESM and CJS side by side). */
function isRetryBudget(value: unknown): value is RetryBudget {
  return value instanceof RetryBudget || hasMethods(value, ['deposit', 'tryWithdraw', 'getStats']);
}

function checkRetry(options: RetryOptions): RetryOptions {
  checkRetryOptions(options);
  return options;
}

function checkClock(clock: Clock | undefined): Clock | undefined {
  if (clock !== undefined && !hasMethods(clock, ['now', 'setTimeout', 'clearTimeout'])) {
    throw new TypeError('closed-loop: `clock` must have now(), setTimeout() and clearTimeout()');
  }
  return clock;
}

function checkQueue(queue: unknown): void {
  if (!hasMethods(queue, ['add', 'registerHandler', 'process', 'on'])) {
    throw new TypeError('closed-loop: `offlineQueue` must be an OfflineQueue (add, registerHandler, process, on) or false');
  }
}
