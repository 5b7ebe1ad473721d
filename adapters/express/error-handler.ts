import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Request, Response } from 'express';
import {
  isCircuitBreakerError,
  isClosedLoopError,
  isHttpError,
  isIdempotencyError,
  isNetworkError,
  isRetryExhaustedError,
  isTimeoutError,
  problemAnswer,
} from 'closed-loop';
import { getRequestId } from './request-id.js';
import { abandonIdempotentRequest, markIdempotentRequestFailed } from './idempotency.js';

/** Options of {@link errorHandler}. */
export interface ErrorHandlerOptions {
  /**
   * Whether answers carry the error's own message for a 5xx and its `stack`. Default: read at each
   * request, `true` unless `NODE_ENV` is `'production'`. When `false`, a 5xx answer has a generic
   * `detail` and no stack, code or other internals of a foreign error; a 4xx keeps its message
   * (unless the error says `expose: false`) but never its stack.
   */
  exposeDetails?: boolean;
  /**
   * Called with every error the handler answers, before the answer is sent; `status` is the status
   * it answers with. Default: 5xx errors are logged with `console.error` (unless `NODE_ENV` is
   * `'test'`). Pass `() => {}` to log nothing, or your logger.
   */
  onError?: (error: unknown, req: Request, status: number) => void;
}

interface Classified {
  status: number;
  /** A closed-loop code, which is public and always sent. */
  publicCode?: string;
  /** Whether `detail` may be the error's message in production (a client error meant to be seen). */
  exposableMessage: boolean;
  retryAfterMs?: number;
  /** Headers the error asks for (http-errors style), for errors whose status came from the error. */
  headers?: Record<string, unknown>;
}

const GENERIC_DETAIL: Record<number, string> = {
  500: 'The server could not complete the request.',
  502: 'An upstream service did not answer correctly.',
  503: 'The service is temporarily unavailable; try again later.',
  504: 'An upstream service did not answer in time.',
};

// Headers set for a success that must not describe an error body.
const STALE_HEADERS = [
  'Content-Encoding',
  'Content-Language',
  'Content-Range',
  'Content-Disposition',
  'Content-Location',
  'Content-Length',
  'Content-Type',
  'ETag',
  'Last-Modified',
  'Expires',
];

// Headers an error may ask for (http-errors' `err.headers`) but that this handler owns.
const OWNED_HEADERS = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'content-range',
  'transfer-encoding',
  'cache-control',
  'etag',
  'last-modified',
  'set-cookie',
]);

/**
 * Express error middleware that answers any error as `application/problem+json` (RFC 9457):
 * `type` (`'about:blank'` unless the error carries an absolute-URI `type`), `title` (the status
 * phrase), `status`, `detail`, `instance` (`req.originalUrl`), plus `code` when the error has a
 * string code and `requestId` when {@link requestId} ran.
 *
 * The status is the error's `status` or `statusCode` when that is a 4xx or 5xx, else 500.
 * closed-loop errors map to their meaning: an `IdempotencyError` to its own status (400, 409, 422,
 * 503; `Retry-After` for `KEY_IN_USE`), an `HttpError` or `NetworkError` from an upstream call to
 * 502, a `TimeoutError` to 504, a `CircuitBreakerError` to 503 with `Retry-After`, and a
 * `RetryExhaustedError` to what its last error maps to.
 *
 * In production (`NODE_ENV === 'production'`, read at each request, or `exposeDetails: false`) a
 * 5xx answer has a generic `detail` and never a stack or a foreign error's code; outside
 * production `detail` is the error's message and `stack` its stack. Error answers are sent with
 * `Cache-Control: no-store`, replacing any cache headers set for a success. When the response has
 * already started, the error goes to `next(err)` (Express then closes the connection), and an
 * idempotency key the request holds is released, since a response that did not complete is never
 * stored. The answer is written by the core's `problemAnswer`, as the idempotency middleware's
 * refusals are.
 *
 * @example
 * ```ts
 * app.use(requestId())
 * app.use(routes)
 * app.use(errorHandler()) // last
 * ```
 *
 * @param options - `exposeDetails` and `onError`
 * @returns an Express error middleware (four arguments)
 */
export function errorHandler(options: ErrorHandlerOptions = {}): ErrorRequestHandler {
  const onError = options.onError ?? defaultOnError;

  return function problemErrorHandler(err: unknown, req: Request, res: Response, next: (err?: unknown) => void) {
    if (res.headersSent) {
      // The response cannot complete: an idempotency key it holds is released at once (a retry
      // runs the handler again rather than waiting out the lease), and Express closes the connection.
      abandonIdempotentRequest(req);
      next(err);
      return;
    }
    // A thrown error is a failure whatever status it maps to: the idempotency key is released, not
    // stored, so a retry runs the handler again.
    markIdempotentRequestFailed(req);
    const expose = options.exposeDetails ?? process.env.NODE_ENV !== 'production';
    const info = classify(err);
    const { status } = info;

    try {
      onError(err, req, status);
    } catch {
      // A failing logger must not keep the client from its answer.
    }

    const message = messageOf(err);
    let detail: string;
    if (expose || (status < 500 && info.exposableMessage && message !== '')) {
      detail = message !== '' ? message : statusTitle(status);
    } else {
      detail = GENERIC_DETAIL[status] ?? (status < 500 ? statusTitle(status) : GENERIC_DETAIL[500]!);
    }

    const ownType = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
    const ownTitle = typeof err === 'object' && err !== null ? (err as { title?: unknown }).title : undefined;
    const hasOwnType = typeof ownType === 'string' && ABSOLUTE_URI.test(ownType);
    const code = info.publicCode ?? foreignCode(err);
    const answer = problemAnswer({
      status,
      detail,
      type: hasOwnType ? ownType : undefined,
      title: hasOwnType && typeof ownTitle === 'string' && ownTitle !== '' ? ownTitle : statusTitle(status),
      instance: req.originalUrl ?? req.url ?? '',
      code: code !== undefined && (info.publicCode !== undefined || status < 500 || expose) ? code : undefined,
      requestId: getRequestId(req),
      stack: expose && err instanceof Error && typeof err.stack === 'string' ? err.stack : undefined,
      retryAfterMs: info.retryAfterMs,
    });

    for (const name of STALE_HEADERS) res.removeHeader(name);
    if (info.headers) {
      for (const [name, value] of Object.entries(info.headers)) {
        if (OWNED_HEADERS.has(name.toLowerCase())) continue;
        if (typeof value === 'string' || typeof value === 'number') res.setHeader(name, String(value));
        else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) res.setHeader(name, value);
      }
    }
    const body = Buffer.from(answer.body, 'utf8');
    res.statusCode = status;
    for (const name in answer.headers) res.setHeader(name, answer.headers[name]!);
    res.setHeader('Content-Length', String(body.length));
    if (req.method === 'HEAD') res.end();
    else res.end(body);
  };
}


const ABSOLUTE_URI = /^[a-z][a-z0-9+.-]*:\S+$/i;

function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

function defaultOnError(error: unknown, _req: Request, status: number): void {
  if (status >= 500 && process.env.NODE_ENV !== 'test') {
    console.error(error);
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const message = (error as { message?: unknown }).message;
    if (typeof message === 'string') return message;
    return '';
  }
  if (error === undefined || error === null) return '';
  return String(error);
}

function foreignCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

function errorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  for (const value of [(error as { status?: unknown }).status, (error as { statusCode?: unknown }).statusCode]) {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599) return value;
  }
  return undefined;
}

// The status and public code of closed-loop errors; `undefined` for anything else.
function classifyClosedLoop(error: unknown, depth = 0): { status: number; code: string; retryAfterMs?: number } | undefined {
  // Each guard is tried on the unnarrowed value: the classes are structurally alike, so narrowing
  // by one guard's false branch would hide the next.
  if (isIdempotencyError(error)) {
    return error.retryAfterMs !== undefined
      ? { status: error.status, code: error.code, retryAfterMs: error.retryAfterMs }
      : { status: error.status, code: error.code };
  }
  // An upstream answered with an error (or not at all): this server is a gateway that failed.
  const e: unknown = error;
  if (isHttpError(e)) return { status: 502, code: e.code };
  if (isNetworkError(e)) return { status: 502, code: e.code };
  if (isTimeoutError(e)) return { status: 504, code: e.code };
  if (isCircuitBreakerError(e)) return { status: 503, code: e.code, retryAfterMs: e.retryAfterMs };
  if (isRetryExhaustedError(e)) {
    const inner = depth < 8 ? classifyClosedLoop(e.cause, depth + 1) : undefined;
    return { status: inner?.status ?? errorStatus(e.cause) ?? 500, code: e.code };
  }
  if (isClosedLoopError(e)) return { status: errorStatus(e) ?? 500, code: e.code };
  return undefined;
}

function classify(error: unknown): Classified {
  const own = classifyClosedLoop(error);
  if (own) {
    const info: Classified = { status: own.status, publicCode: own.code, exposableMessage: own.status < 500 };
    if (own.retryAfterMs !== undefined) info.retryAfterMs = own.retryAfterMs;
    return info;
  }
  const status = errorStatus(error);
  if (status === undefined) return { status: 500, exposableMessage: false };
  const info: Classified = {
    status,
    exposableMessage: (error as { expose?: unknown }).expose !== false,
  };
  const headers = (error as { headers?: unknown }).headers;
  if (typeof headers === 'object' && headers !== null && !Array.isArray(headers)) {
    info.headers = headers as Record<string, unknown>;
  }
  return info;
}
