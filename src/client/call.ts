// One call of a sync client, checked and worked out once before its first attempt. Not exported.
import { createIdempotencyKey } from '../idempotency/key.js';
import type { RetryOptions } from '../retry/options.js';
import { type ClientConfig, maxAttemptsOf, retryFor } from './config.js';
import { checkHoldingQueue } from './durable.js';
import type { EtagEntry } from './etag-cache.js';
import { checkMethod, checkPath, type EncodedBody, encodeBody, headersKey, isSafeMethod, mergeHeaders } from './http.js';
import type { SyncMethod, SyncRequestOptions } from './options.js';

/** Everything one call needs, computed once before its first attempt. */
export interface Call {
  method: SyncMethod;
  path: string;
  body: EncodedBody;
  bodyValue: unknown;
  /** The call's own headers, lower-cased. */
  headers: Record<string, string> | undefined;
  key: string | undefined;
  signal: AbortSignal | undefined;
  retry: RetryOptions | false;
  maxAttempts: number;
  onAttempt: ((attempt: number, maxAttempts: number) => void) | undefined;
  queueable: boolean;
  /** Written to the queue before the first send (see `SyncRequestOptions.durable`). */
  durable: boolean;
  /** The id of the queue item a durable call holds while it sends. */
  held: string | undefined;
  /** Path plus call headers: the dedupe and ETag key of a GET. */
  cacheKey: string;
  /** Where the next attempt starts looking for a server. */
  cursor: number;
  /** The ETag entry whose tag the current attempt sent. */
  etagEntry: EtagEntry | undefined;
}

/** Checks a call's arguments (TypeError for a wrong one) and works out its {@link Call}. */
export function prepareCall(config: ClientConfig, method: string, rawPath: string, options: SyncRequestOptions): Call {
  if (typeof options !== 'object' || options === null) throw new TypeError('closed-loop: request options must be an object');
  const m = checkMethod(method);
  const path = checkPath(rawPath);
  const safe = isSafeMethod(m);
  if ((m === 'GET' || m === 'HEAD') && options.body !== undefined) {
    throw new TypeError(`closed-loop: a ${m} request cannot have a body`);
  }
  const body = encodeBody(options.body);
  const headers = options.headers === undefined ? undefined : mergeHeaders({}, options.headers);
  let key = options.idempotencyKey;
  if (key !== undefined) checkKey(key);
  else if (!safe) key = createIdempotencyKey();
  const retry = retryFor(config, options.retry);
  const durable = isDurable(config, options.durable, m, body);
  const signal = options.signal;
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.aborted !== 'boolean')) {
    throw new TypeError('closed-loop: `signal` must be an AbortSignal');
  }
  return {
    method: m,
    path,
    body,
    bodyValue: options.body,
    headers,
    key,
    signal,
    retry,
    maxAttempts: maxAttemptsOf(retry),
    onAttempt: options.onAttempt,
    queueable: options.queueWhenOffline === true && !safe && config.queue !== undefined && body.storable,
    durable,
    held: undefined,
    cacheKey: headers === undefined ? path : `${path}\n${headersKey(headers)}`,
    cursor: 0,
    etagEntry: undefined,
  };
}

/** Whether a call is durable: asked for explicitly (and then possible), or the client's default. */
function isDurable(config: ClientConfig, option: unknown, method: SyncMethod, body: EncodedBody): boolean {
  if (option !== undefined && typeof option !== 'boolean') throw new TypeError('closed-loop: `durable` must be true or false');
  if (option === false) return false;
  const mutation = !isSafeMethod(method);
  if (option === undefined) return config.durable && mutation && body.storable;
  if (!mutation) throw new TypeError(`closed-loop: only a POST, PUT, PATCH or DELETE can be durable, not a ${method}`);
  checkHoldingQueue(config.queue);
  if (!body.storable) throw new TypeError('closed-loop: a durable call needs a body the offline queue can store (JSON or a string)');
  return true;
}

const KEY = /^[\x21-\x7e]{1,255}$/;

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new TypeError('closed-loop: `idempotencyKey` must be 1-255 visible ASCII characters');
  }
}
