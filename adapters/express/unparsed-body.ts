import type { Request } from 'express';
import { ClosedLoopError } from 'closed-loop';

// The idempotency middleware's default fingerprint covers `req.body`. A keyed request whose body no
// parser has read would be fingerprinted without it, and a retry with the same key and another body
// replayed instead of refused: such a request is refused instead (a server misconfiguration).

/**
 * Whether the request has a body the default fingerprint cannot see: one no parser has read (its
 * stream is unread: the middleware runs before the parser, or no parser took its Content-Type;
 * Express 4's json parser then still sets `req.body = {}`), or one read without a `req.body`.
 *
 * @internal
 */
export function bodyUnseen(req: Request): boolean {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0' && Number(length) > 0);
  return hasBody && (req.body === undefined || !req.readableEnded);
}

/**
 * The refusal of a request with an unseen body: a 500 problem+json, code `BODY_NOT_PARSED`.
 *
 * @internal
 */
export function bodyNotParsed(req: Request): ClosedLoopError & { readonly status: number } {
  const type = req.headers['content-type'];
  const error = new ClosedLoopError(
    `This request's body (Content-Type: ${type ?? 'none'}) was not read by a body parser before the idempotency middleware, ` +
      'so a retry with the same Idempotency-Key could not be told apart from a different request. The handler did not run.',
    'BODY_NOT_PARSED',
    { retryable: false },
  );
  return Object.assign(error, { status: 500 });
}

/**
 * Says once, on the console, what is wrong and how to fix it.
 *
 * @internal
 */
export function warnUnparsedBody(req: Request, path: string): void {
  console.warn(
    `closed-loop: createIdempotencyMiddleware() refused ${req.method} ${path} with 500 BODY_NOT_PARSED: ` +
      'it has a body that no body parser has read, so a retry with the same key and a different body could not be told apart. ' +
      'Mount the middleware after express.json() (or the parser for its Content-Type), or pass a `fingerprint` of your own. (Logged once.)',
  );
}
