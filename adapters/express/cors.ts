import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { isList } from '../../src/internal/validate.js';

/**
 * The origins {@link cors} answers for: `'*'` (any), one origin (`'https://app.example.com'`), a
 * RegExp tested against the request's `Origin`, a list of origins and RegExps, or a function that
 * returns `true` for an allowed origin.
 */
export type CorsOrigin = string | RegExp | ReadonlyArray<string | RegExp> | ((origin: string) => boolean);

/** Options of {@link cors}. */
export interface CorsOptions {
  /** The origins allowed. Default `'*'`. Anything but `'*'` echoes the request's origin and adds `Vary: Origin`. */
  origin?: CorsOrigin;
  /**
   * Sends `Access-Control-Allow-Credentials: true`, so the page may send cookies
   * (`credentials: 'include'`). Needs an `origin` other than `'*'`. Default false.
   */
  credentials?: boolean;
  /** The methods a preflight allows. Default `GET, HEAD, POST, PUT, PATCH, DELETE`. */
  methods?: readonly string[];
  /** Request headers a preflight allows, on top of the defaults (see {@link cors}). */
  allowHeaders?: readonly string[];
  /** Response headers the page may read, on top of the defaults (see {@link cors}). */
  exposeHeaders?: readonly string[];
  /** How long a browser may cache a preflight's answer, in seconds (`Access-Control-Max-Age`). Default 600. */
  maxAge?: number;
}

const DEFAULT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const DEFAULT_ALLOW = ['Content-Type', 'Authorization', 'Idempotency-Key', 'X-Idempotency-Key', 'X-Request-ID', 'If-None-Match', 'Last-Event-ID'];
const DEFAULT_EXPOSE = ['Idempotent-Replayed', 'Idempotent-Body-Omitted', 'Retry-After', 'ETag', 'X-Request-ID', 'Location'];
const OPTION_NAMES = new Set(['origin', 'credentials', 'methods', 'allowHeaders', 'exposeHeaders', 'maxAge']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Express middleware for an API called from a page on another origin. It answers preflights
 * (`OPTIONS` with `Access-Control-Request-Method`) itself with 204, and gives every response from
 * an allowed origin `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers`. Without the
 * exposed headers a cross-origin page cannot read `Idempotent-Replayed` (the client's `replayed`
 * stays false), `Retry-After` (its retries ignore the server's wait) or `ETag` (no revalidation).
 *
 * - Preflights allow `Content-Type`, `Authorization`, `Idempotency-Key`, `X-Idempotency-Key`,
 *   `X-Request-ID`, `If-None-Match` and `Last-Event-ID`, plus `allowHeaders`.
 * - Responses expose `Idempotent-Replayed`, `Idempotent-Body-Omitted`, `Retry-After`, `ETag`,
 *   `X-Request-ID` and `Location`, plus `exposeHeaders`.
 * - A request from an origin that is not allowed gets no CORS headers (the browser keeps the answer
 *   from the page) and still reaches the routes; so does a preflight from such an origin.
 *
 * Mount it first, before the idempotency middleware and the routes, so that every answer
 * (replays and problem+json refusals included) carries its headers.
 *
 * @example
 * ```ts
 * app.use(cors({ origin: 'https://shop.example.com' }))
 * app.use(express.json())
 * app.use(createIdempotencyMiddleware())
 * ```
 *
 * @param options - see {@link CorsOptions}
 * @returns the middleware
 * @throws TypeError for an unknown option or a bad value, and for `credentials: true` with origin `'*'`
 */
export function cors(options: CorsOptions = {}): RequestHandler {
  if (typeof options !== 'object' || options === null) throw new TypeError('cors: options must be an object');
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) throw new TypeError(`cors: unknown option \`${name}\`; known: ${[...OPTION_NAMES].join(', ')}`);
  }
  const credentials = options.credentials ?? false;
  if (typeof credentials !== 'boolean') throw new TypeError('cors: `credentials` must be a boolean');
  const anyOrigin = (options.origin ?? '*') === '*';
  if (anyOrigin && credentials) {
    throw new TypeError("cors: `credentials: true` needs the allowed origins; browsers refuse credentials with origin '*'");
  }
  const allowed = anyOrigin ? () => true : originMatcher(options.origin!);
  const methods = names('methods', DEFAULT_METHODS, options.methods, true).join(', ');
  const allowHeaders = names('allowHeaders', DEFAULT_ALLOW, options.allowHeaders).join(', ');
  const exposeHeaders = names('exposeHeaders', DEFAULT_EXPOSE, options.exposeHeaders).join(', ');
  const maxAge = options.maxAge ?? 600;
  if (!Number.isInteger(maxAge) || maxAge < 0) throw new TypeError(`cors: \`maxAge\` must be an integer >= 0 (seconds), got ${String(maxAge)}`);

  return function corsMiddleware(req: Request, res: Response, next: NextFunction): void {
    const origin = req.headers.origin;
    // The answer depends on Origin: a cache must not give one origin's answer to another.
    if (!anyOrigin) res.vary('Origin');
    if (!anyOrigin && (origin === undefined || !allowed(origin))) {
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', anyOrigin ? '*' : origin!);
    if (credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined) {
      res.statusCode = 204;
      res.setHeader('Access-Control-Allow-Methods', methods);
      res.setHeader('Access-Control-Allow-Headers', allowHeaders);
      res.setHeader('Access-Control-Max-Age', String(maxAge));
      res.setHeader('Content-Length', '0');
      res.end();
      return;
    }
    res.setHeader('Access-Control-Expose-Headers', exposeHeaders);
    next();
  };
}

/** A test of the `Origin` header for every form of `origin` but `'*'`. */
function originMatcher(option: CorsOrigin): (origin: string) => boolean {
  if (typeof option === 'function') return (origin) => option(origin) === true;
  const list = typeof option === 'string' || option instanceof RegExp ? [option] : option;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError("cors: `origin` must be '*', an origin, a RegExp, a non-empty list of them, or a function");
  }
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const entry of list as ReadonlyArray<unknown>) {
    if (entry instanceof RegExp) patterns.push(new RegExp(entry.source, entry.flags.replace(/[gy]/g, ''))); // no lastIndex state
    else if (typeof entry === 'string') exact.add(serializedOrigin(entry));
    else throw new TypeError(`cors: an \`origin\` entry must be a string or a RegExp, got ${typeof entry}`);
  }
  return (origin) => exact.has(origin) || patterns.some((pattern) => pattern.test(origin));
}

/** `'https://App.example.com:443/'` → `'https://app.example.com'`, as browsers send it. */
function serializedOrigin(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // refused below
  }
  if (url === undefined || url.origin === 'null' || url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new TypeError(`cors: ${JSON.stringify(text)} is not an origin (scheme://host[:port], no path)`);
  }
  return url.origin;
}

/** The defaults plus `extra`, each a token, without case-insensitive repeats. */
function names(option: string, defaults: readonly string[], extra: readonly string[] | undefined, replace = false): string[] {
  if (extra !== undefined && !isList(extra)) throw new TypeError(`cors: \`${option}\` must be a list of names`);
  const out = new Map<string, string>();
  for (const name of replace && extra !== undefined ? extra : [...defaults, ...(extra ?? [])]) {
    if (typeof name !== 'string' || !TOKEN.test(name)) throw new TypeError(`cors: ${JSON.stringify(name)} in \`${option}\` is not a valid name`);
    const value = replace ? name.toUpperCase() : name;
    if (!out.has(value.toLowerCase())) out.set(value.toLowerCase(), value);
  }
  if (out.size === 0) throw new TypeError(`cors: \`${option}\` must not be empty`);
  return [...out.values()];
}
