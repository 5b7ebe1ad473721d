import { hasBrand } from './brand.js';
import { ClosedLoopError, type ClosedLoopErrorOptions } from './closed-loop-error.js';
import { parseRetryAfter } from './retry-after.js';

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
 * Whether `value` is an {@link HttpError} (works across ESM/CJS copies).
 * @param value - anything caught
 * @category Errors
 */
export function isHttpError(value: unknown): value is HttpError {
  return hasBrand(value, 'HttpError');
}
