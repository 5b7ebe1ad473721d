import type { Request } from 'express';
import { fingerprintRequest } from 'closed-loop';

// What the idempotency middleware reads from an Express request: the key headers and the default
// fingerprint. (Whether a body was parsed at all is unparsed-body.ts.)

/**
 * A function reading the request's value of a header (lower-case name) for the core's key reader.
 * A repeated header arrives joined with ', ' in `req.headers`; only then is the (costlier: it copies
 * every header) `headersDistinct` read, so that two values are told from one with a comma in it.
 *
 * @internal
 */
export function headerReader(req: Request): (name: string) => string | readonly string[] | undefined {
  return (name) => {
    const joined = req.headers[name];
    return typeof joined === 'string' && joined.includes(',') ? (req.headersDistinct?.[name] ?? joined) : joined;
  };
}

/**
 * The default fingerprint: the method, the concrete path (`req.baseUrl + req.path`, no query) and
 * the canonical JSON of `req.body`, hashed as the core hashes it (Node's own SHA-256).
 *
 * @internal
 */
export function fingerprintExpressRequest(req: Request): string {
  return fingerprintRequest({ method: req.method, path: req.baseUrl + req.path, body: req.body as unknown });
}
