/**
 * Error classes of closed-loop. Every class has a guard (`isHttpError(e)` …) that recognises
 * instances by a `Symbol.for` brand rather than `instanceof`, so it also works when an app ends up
 * with two copies of the package (one loaded by `import`, one by `require`).
 */

import { messageOf } from '../internal/message-of.js';

const BRAND = Symbol.for('closed-loop.error');

type Branded = { [BRAND]?: readonly string[] };

// Each class names its kind in a static field; the base class's brand getter collects the kinds up
// the prototype chain. Static literal fields, unlike top-level calls, let bundlers drop the error
// classes an app does not use.
function kindsOf(instance: object): string[] {
  const kinds: string[] = [];
  for (let proto = Object.getPrototypeOf(instance); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const kind = Object.hasOwn(proto.constructor, 'errorKind')
      ? (proto.constructor as { errorKind?: unknown }).errorKind
      : undefined;
    if (typeof kind === 'string') kinds.push(kind);
  }
  return kinds;
}

function hasBrand(value: unknown, kind: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const kinds = (value as Branded)[BRAND];
  return Array.isArray(kinds) && kinds.includes(kind);
}

/** Options shared by every closed-loop error constructor. @category Errors */
export interface ClosedLoopErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /**
   * Whether retrying could help. `false` makes the default `shouldRetry` give up at once;
   * `undefined` leaves the decision to the error's kind.
   */
  retryable?: boolean;
}

/**
 * The base class of every error closed-loop throws.
 *
 * @example
 * ```ts
 * try { await client.post('/orders', order) } catch (e) {
 *   if (isClosedLoopError(e)) console.log(e.code)
 * }
 * ```
 * @category Errors
 */
export class ClosedLoopError extends Error {
  /** @internal The kind the guards recognise. */
  static readonly errorKind: string = 'ClosedLoopError';
  /** A stable, machine-readable code, e.g. `HTTP_ERROR` or `KEY_IN_USE`. */
  readonly code: string;
  /** Whether retrying could help; `undefined` when the error's kind decides. */
  readonly retryable?: boolean;

  /** @internal The kinds of this error and its ancestors, read by the guards across copies. */
  get [BRAND](): readonly string[] {
    return kindsOf(this);
  }

  /**
   * @param message - human-readable description
   * @param code - machine-readable code
   * @param options - `cause` and `retryable`
   */
  constructor(message: string, code: string, options: ClosedLoopErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClosedLoopError';
    this.code = code;
    if (options.retryable !== undefined) this.retryable = options.retryable;
  }
}

/** Options of {@link HttpError}. @category Errors */
export interface HttpErrorOptions extends ClosedLoopErrorOptions {
  /** Response headers; names are stored lower-cased. */
  headers?: Headers | Record<string, string | readonly string[] | undefined>;
  /** The parsed response body (JSON when it was JSON, else text), if read. */
  body?: unknown;
  /** Overrides the default message `HTTP <status>`. */
  message?: string;
  /**
   * The server's wait hint. When omitted it is parsed from the `Retry-After` header (seconds or
   * an HTTP-date, relative to `now`).
   */
  retryAfterMs?: number;
  /** The time (epoch ms) an HTTP-date `Retry-After` is measured from; defaults to `Date.now()`. */
  now?: number;
}

/** A response that arrived with a non-success status. @category Errors */
export class HttpError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'HttpError';
  /** The HTTP status code. */
  readonly status: number;
  /** Response headers, lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The response body, if it was read. */
  readonly body: unknown;
  /** How long the server asked the client to wait (from `Retry-After`), in ms. */
  readonly retryAfterMs?: number;

  /**
   * @param status - the HTTP status code
   * @param options - headers, body and `Retry-After` handling
   */
  constructor(status: number, options: HttpErrorOptions = {}) {
    super(options.message ?? `HTTP ${status}`, 'HTTP_ERROR', options);
    this.name = 'HttpError';
    this.status = status;
    this.headers = normalizeHeaders(options.headers);
    this.body = options.body;
    const retryAfter =
      options.retryAfterMs ?? parseRetryAfter(this.headers['retry-after'], options.now ?? Date.now());
    if (retryAfter !== undefined) this.retryAfterMs = retryAfter;
  }
}

function normalizeHeaders(headers: HttpErrorOptions['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function') {
    (headers as Headers).forEach((value, name) => {
      out[name.toLowerCase()] = value;
    });
    return out;
  }
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/**
 * Parses a `Retry-After` value: delay-seconds (`"120"`) or an HTTP-date. Returns milliseconds from
 * `now`, never negative, or `undefined` when the value is missing or unreadable.
 *
 * @param value - the header value
 * @param now - the current time in epoch ms, for HTTP-dates
 * @category Retry
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) ? ms : undefined;
  }
  // Only the HTTP-date forms: `Date.parse` alone reads "-5" or "2030" as dates, and reads an
  // asctime date (which has no zone but is GMT) in the local time zone.
  let at = Number.NaN;
  if (IMF_OR_RFC850_DATE.test(text)) at = Date.parse(text);
  else if (ASCTIME_DATE.test(text)) at = Date.parse(`${text} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

// `Sun, 06 Nov 1994 08:49:37 GMT` and the obsolete `Sunday, 06-Nov-94 08:49:37 GMT`.
const IMF_OR_RFC850_DATE = /^[a-z]{3,9},? +\d{1,2}[ -][a-z]{3}[ -]\d{2,4} +\d{1,2}:\d{2}:\d{2} +(?:GMT|UTC)$/i;
// The obsolete asctime form `Sun Nov  6 08:49:37 1994`.
const ASCTIME_DATE = /^[a-z]{3} +[a-z]{3} +\d{1,2} +\d{1,2}:\d{2}:\d{2} +\d{4}$/i;

/** The request never got a response: DNS, refused connection, reset, CORS, offline. @category Errors */
export class NetworkError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'NetworkError';
  /**
   * @param message - what failed
   * @param options - `cause`: the fetch failure
   */
  constructor(message = 'Network request failed', options: ClosedLoopErrorOptions = {}) {
    super(message, 'NETWORK_ERROR', options);
    this.name = 'NetworkError';
  }
}

/** An attempt or a wait ran past its deadline. @category Errors */
export class TimeoutError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'TimeoutError';
  /** The deadline that passed, in ms. */
  readonly timeoutMs: number;

  /**
   * @param timeoutMs - the deadline that passed
   * @param message - overrides the default message
   * @param options - `cause` and `retryable`
   */
  constructor(timeoutMs: number, message?: string, options: ClosedLoopErrorOptions = {}) {
    super(message ?? `Timed out after ${timeoutMs} ms`, 'TIMEOUT', options);
    this.name = 'TimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** Every allowed attempt failed (or the time budget ran out); `cause` is the last error. @category Errors */
export class RetryExhaustedError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'RetryExhaustedError';
  /** How many attempts ran. */
  readonly attempts: number;
  /** The last attempt's error. */
  declare readonly cause: unknown;

  /**
   * @param attempts - how many attempts ran
   * @param cause - the last attempt's error
   * @param message - overrides the default message
   */
  constructor(attempts: number, cause: unknown, message?: string) {
    super(
      message ?? `Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${messageOf(cause)}`,
      'RETRY_EXHAUSTED',
      { cause, retryable: false },
    );
    this.name = 'RetryExhaustedError';
    this.attempts = attempts;
  }
}

/** The states of a {@link CircuitBreaker}. @category Circuit breaker */
export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** A circuit breaker refused a call without running it. @category Errors */
export class CircuitBreakerError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'CircuitBreakerError';
  /** The breaker's state when it refused. */
  readonly state: CircuitState;
  /** How long until the breaker may admit a call again, in ms. */
  readonly retryAfterMs: number;
  /** The breaker's `name`, if it has one. */
  readonly breakerName?: string;

  /**
   * @param state - the breaker's state
   * @param retryAfterMs - time until a call may be admitted
   * @param breakerName - the breaker's name
   */
  constructor(state: CircuitState, retryAfterMs: number, breakerName?: string) {
    super(
      `Circuit${breakerName ? ` "${breakerName}"` : ''} is ${state}; retry in ${Math.ceil(retryAfterMs)} ms`,
      'CIRCUIT_OPEN',
    );
    this.name = 'CircuitBreakerError';
    this.state = state;
    this.retryAfterMs = retryAfterMs;
    if (breakerName !== undefined) this.breakerName = breakerName;
  }
}

/** The codes of {@link IdempotencyError}. @category Errors */
export type IdempotencyErrorCode =
  | 'KEY_MISSING'
  | 'KEY_INVALID'
  | 'KEY_IN_USE'
  | 'KEY_MISMATCH'
  | 'STORE_UNAVAILABLE';

// Pure: a bundle that never reads it leaves it out.
/** The HTTP status that answers each {@link IdempotencyErrorCode}. @category Errors */
export const IDEMPOTENCY_ERROR_STATUS: Readonly<Record<IdempotencyErrorCode, number>> = /* @__PURE__ */ Object.freeze({
  KEY_MISSING: 400,
  KEY_INVALID: 400,
  KEY_IN_USE: 409,
  KEY_MISMATCH: 422,
  STORE_UNAVAILABLE: 503,
});

const IDEMPOTENCY_MESSAGES: Record<IdempotencyErrorCode, string> = {
  KEY_MISSING: 'An Idempotency-Key header is required',
  KEY_INVALID: 'The Idempotency-Key is empty, too long or malformed',
  KEY_IN_USE: 'A request with this Idempotency-Key is still being processed',
  KEY_MISMATCH: 'This Idempotency-Key was used with a different request',
  STORE_UNAVAILABLE: 'The idempotency store is unavailable',
};

/** Options of {@link IdempotencyError}. @category Errors */
export interface IdempotencyErrorOptions extends ClosedLoopErrorOptions {
  /** For `KEY_IN_USE`: when the key may be free, in ms (sent as `Retry-After`). */
  retryAfterMs?: number;
}

/** An idempotency check refused a request; `status` is the HTTP status that answers it. @category Errors */
export class IdempotencyError extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'IdempotencyError';
  declare readonly code: IdempotencyErrorCode;
  /** The HTTP status for this code: 400, 400, 409, 422 or 503. */
  readonly status: number;
  /** For `KEY_IN_USE`: when to try again, in ms. */
  readonly retryAfterMs?: number;

  /**
   * @param code - what went wrong
   * @param message - overrides the default message
   * @param options - `cause`, `retryable` and `retryAfterMs`
   */
  constructor(code: IdempotencyErrorCode, message?: string, options: IdempotencyErrorOptions = {}) {
    super(message ?? IDEMPOTENCY_MESSAGES[code], code, options);
    this.name = 'IdempotencyError';
    this.status = IDEMPOTENCY_ERROR_STATUS[code];
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * A mutation could not reach the server and was put in the offline queue. Not a failure: the
 * queue will deliver it with the same idempotency key, and `delivery` settles when it does.
 * @category Errors
 */
export class OfflineQueuedError<T = unknown> extends ClosedLoopError {
  /** @internal The kind the guards recognise. */
  static override readonly errorKind: string = 'OfflineQueuedError';
  /** The queue item's id. */
  readonly itemId: string;
  /** The idempotency key the item will be delivered with. */
  readonly idempotencyKey: string;
  /** Resolves with the response once the queue delivers the item. */
  readonly delivery: Promise<T>;

  /**
   * @param itemId - the queue item's id
   * @param idempotencyKey - the key it carries
   * @param delivery - settles when the queue delivers it
   * @param options - `cause`: why it could not be sent now
   */
  constructor(itemId: string, idempotencyKey: string, delivery: Promise<T>, options: ClosedLoopErrorOptions = {}) {
    super('Offline: the request was queued and will be sent when the server can be reached', 'OFFLINE_QUEUED', {
      retryable: false,
      ...options,
    });
    this.name = 'OfflineQueuedError';
    this.itemId = itemId;
    this.idempotencyKey = idempotencyKey;
    this.delivery = delivery;
  }
}

/**
 * Whether `value` is any closed-loop error (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isClosedLoopError(value: unknown): value is ClosedLoopError {
  return hasBrand(value, 'ClosedLoopError');
}
/**
 * Whether `value` is an {@link HttpError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isHttpError(value: unknown): value is HttpError {
  return hasBrand(value, 'HttpError');
}
/**
 * Whether `value` is a {@link NetworkError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isNetworkError(value: unknown): value is NetworkError {
  return hasBrand(value, 'NetworkError');
}
/**
 * Whether `value` is a {@link TimeoutError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isTimeoutError(value: unknown): value is TimeoutError {
  return hasBrand(value, 'TimeoutError');
}
/**
 * Whether `value` is a {@link RetryExhaustedError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isRetryExhaustedError(value: unknown): value is RetryExhaustedError {
  return hasBrand(value, 'RetryExhaustedError');
}
/**
 * Whether `value` is a {@link CircuitBreakerError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isCircuitBreakerError(value: unknown): value is CircuitBreakerError {
  return hasBrand(value, 'CircuitBreakerError');
}
/**
 * Whether `value` is an {@link IdempotencyError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isIdempotencyError(value: unknown): value is IdempotencyError {
  return hasBrand(value, 'IdempotencyError');
}
/**
 * Whether `value` is an {@link OfflineQueuedError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isOfflineQueuedError(value: unknown): value is OfflineQueuedError {
  return hasBrand(value, 'OfflineQueuedError');
}
