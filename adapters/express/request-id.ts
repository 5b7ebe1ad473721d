import type { RequestHandler } from 'express';
import { createIdempotencyKey } from 'closed-loop';

/** Options of {@link requestId}. */
export interface RequestIdOptions {
  /** The request and response header that carries the id. Default `'X-Request-ID'`. */
  header?: string;
  /**
   * Whether an id the client (or a proxy in front of the app) sent is kept. Default `true`; an
   * incoming id is kept only when it is 1 to 200 visible ASCII characters, otherwise a new one is
   * made. `false` always makes a new id.
   */
  trustIncoming?: boolean;
  /** Makes a new id. Default `createIdempotencyKey` (a UUID v7: time-ordered, so ids sort by arrival). */
  generate?: () => string;
}

// Symbol.for, so an app that loads both the ESM and the CJS build reads the id either copy stored.
const REQUEST_ID = Symbol.for('closed-loop.request-id');

// 1 to 200 visible ASCII characters (0x21-0x7E): no spaces, control characters, non-ASCII, and no
// repeated header (Node joins repeats with ", ").
const SANE_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * Middleware that gives every request an id: the incoming `X-Request-ID` when it is a sane value
 * (1 to 200 visible ASCII characters), else a new UUID v7. The id is set on the response header
 * before the handler runs, stored on the request for `getRequestId(req)`, and also assigned to
 * `req.id` (the property loggers such as pino-http reuse). `errorHandler()` adds it to its
 * problem+json answers as `requestId`.
 *
 * @example
 * ```ts
 * app.use(requestId())
 * app.get('/orders', (req, res) => {
 *   log.info({ requestId: getRequestId(req) }, 'listing orders')
 *   res.json(orders)
 * })
 * ```
 *
 * @param options - the header name, whether to keep incoming ids, and the id generator
 * @returns an Express middleware
 */
export function requestId(options: RequestIdOptions = {}): RequestHandler {
  const header = options.header ?? 'X-Request-ID';
  if (typeof header !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(header)) {
    throw new TypeError(`requestId: invalid header name ${JSON.stringify(header)}`);
  }
  const lowerHeader = header.toLowerCase();
  const trustIncoming = options.trustIncoming ?? true;
  const generate = options.generate ?? createIdempotencyKey;

  return function requestIdMiddleware(req, res, next) {
    let id: string | undefined;
    if (trustIncoming) {
      const incoming = req.headers[lowerHeader];
      if (typeof incoming === 'string' && SANE_ID.test(incoming)) id = incoming;
    }
    if (id === undefined) id = String(generate());
    (req as unknown as Record<PropertyKey, unknown>)[REQUEST_ID] = id;
    (req as unknown as { id?: unknown }).id = id;
    res.setHeader(header, id);
    next();
  };
}

/**
 * The id {@link requestId} gave this request, or `undefined` when that middleware did not run for
 * it.
 *
 * @param req - the Express (or plain Node) request
 * @returns the request id
 */
export function getRequestId(req: object): string | undefined {
  const id = (req as Record<PropertyKey, unknown>)[REQUEST_ID];
  return typeof id === 'string' ? id : undefined;
}
