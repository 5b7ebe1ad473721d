import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  type HttpIdempotencyOptions,
  type IdempotencyBegin,
  type ProblemSource,
  type StoredHttpResponse,
  HttpIdempotency,
  IdempotencyError,
  isIdempotencyError,
  refusalAnswer,
  replayHeaders,
  retryAfterSeconds,
  storableHeaders,
  storedBody,
  toStoredResponse,
} from 'closed-loop';
import { registerDefaultStore } from './idempotency-cache.js';
import { getRequestId } from './request-id.js';
import { fingerprintExpressRequest, headerReader } from './request.js';
import { HeldResponse, heldOf } from './response-capture.js';
import { bodyNotParsed, bodyUnseen, warnUnparsedBody } from './unparsed-body.js';

// The Express adapter of the core's HTTP idempotency rules (HttpIdempotency): it reads the key and
// the fingerprint from `req`, answers refusals and replays on `res`, and hands the response the
// handler sends to a HeldResponse (response-capture.ts). Every rule lives in the core.

export type { StoredHttpResponse };

/** Options of {@link createIdempotencyMiddleware}: those of every server adapter, with Express's `req`. */
export interface IdempotencyMiddlewareOptions extends HttpIdempotencyOptions<Request> {
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
}

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
  const rules = new HttpIdempotency<Request>(options, fingerprintExpressRequest);
  if (rules.defaultStore) registerDefaultStore(rules.defaultStore);
  // Only the default fingerprint reads req.body; a custom one decides for itself what it covers.
  const checkBody = options.fingerprint === undefined;
  let warnedBody = false;

  const refuse = (error: ProblemSource, req: Request, res: Response, next: NextFunction): void => {
    if (rules.errors === 'next') {
      // Set already, so an error handler that answers keeps it.
      if (error.retryAfterMs !== undefined && !res.headersSent) res.setHeader('Retry-After', retryAfterSeconds(error.retryAfterMs));
      next(error);
    } else if (!res.headersSent) {
      send(res, refusalAnswer(error, { instance: req.originalUrl, requestId: getRequestId(req) }));
    }
  };

  // A refusal of the rules, or an error of the app's own scope or fingerprint.
  const fail = (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (isIdempotencyError(error)) refuse(error, req, res, next);
    else next(error);
  };

  // What the claim found: replay it, or hold the key while the handler runs.
  const proceed = (req: Request, res: Response, next: NextFunction, begun: IdempotencyBegin): void => {
    if (begun.kind === 'replay') {
      let stored: StoredHttpResponse;
      try {
        stored = rules.replayed(begun.result);
      } catch (error) {
        refuse(error as IdempotencyError, req, res, next);
        return;
      }
      replay(res, stored);
      return;
    }
    new HeldResponse(rules, req, begun.lease, res);
    next();
  };

  return function idempotency(req: Request, res: Response, next: NextFunction): void {
    // Mounted twice on one route (app-wide and again on the route): the first one holds the key.
    if (!rules.handles(req.method) || heldOf(req) !== undefined) {
      next();
      return;
    }
    let key: string | undefined;
    try {
      key = rules.readKey(headerReader(req));
    } catch (error) {
      refuse(error as IdempotencyError, req, res, next);
      return;
    }
    if (key === undefined) {
      if (rules.required) refuse(new IdempotencyError('KEY_MISSING'), req, res, next);
      else next();
      return;
    }
    if (checkBody && bodyUnseen(req)) {
      if (!warnedBody) {
        warnedBody = true;
        warnUnparsedBody(req, req.baseUrl + req.path);
      }
      refuse(bodyNotParsed(req), req, res, next);
      return;
    }
    let begun: IdempotencyBegin | Promise<IdempotencyBegin>;
    try {
      begun = rules.begin(req, key);
    } catch (error) {
      fail(error, req, res, next);
      return;
    }
    if (!(begun instanceof Promise)) {
      proceed(req, res, next, begun);
      return;
    }
    // Every failure is answered or passed to next; the last catch only keeps a throwing `next`
    // from becoming an unhandled rejection.
    begun.then(
      (b) => proceed(req, res, next, b),
      (error: unknown) => fail(error, req, res, next),
    ).catch(() => undefined);
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
  const held = heldOf(req);
  if (held === undefined || held.settled) return false;
  const headers = storableHeaders(result.headers);
  const given = result.body;
  let body: string | Uint8Array | undefined;
  if (given === undefined || given === null || typeof given === 'string' || given instanceof Uint8Array) {
    body = given ?? undefined;
  } else {
    body = JSON.stringify(given) ?? '';
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  const status = result.status ?? (req.res?.statusCode || 200);
  return held.store(toStoredResponse(status, headers, body, held.maxBytes));
}

/**
 * Marks the request as failed by a thrown error, so its response releases the key rather than
 * being stored whatever its status. For the adapter's error handler.
 *
 * @internal
 */
export function markIdempotentRequestFailed(req: Request): void {
  const held = heldOf(req);
  if (held) held.failed = true;
}

/**
 * Releases the request's key because its response will not complete (the handler failed after it
 * had started sending). For the adapter's error handler.
 *
 * @internal
 */
export function abandonIdempotentRequest(req: Request): void {
  heldOf(req)?.abandon();
}

function replay(res: Response, stored: StoredHttpResponse): void {
  res.statusCode = stored.status;
  const headers = replayHeaders(stored);
  for (const name in headers) res.setHeader(name, headers[name]!);
  res.end(storedBody(stored));
}

function send(res: Response, answer: { status: number; headers: Record<string, string>; body: string }): void {
  res.statusCode = answer.status;
  for (const name in answer.headers) res.setHeader(name, answer.headers[name]!);
  res.end(answer.body);
}
