// A Response as the handler made it, where the server's Response keeps that at hand: reading it
// through the web API would cost that server more than the rest of the request (docs/decisions.md 24).

/** What a Response was made from: its body, and its headers when given as a plain record. */
export interface MadeResponse {
  /** The body as given: text, bytes, or `null` for none. */
  readonly body: string | Uint8Array | null;
  /** The headers by lower-case name, when they were given as a record of strings. */
  readonly headers: Record<string, string> | undefined;
}

/**
 * What `response` was made from, when the Response keeps it as it was given and the body is text,
 * bytes or none; `undefined` when it does not show it (a native Response, a stream, a Blob): the
 * response is then read through the web API.
 *
 * `@hono/node-server`'s Response is lightweight: it keeps `[status, body, headers]` under a symbol
 * of its own (described `cache`) and sends a text or bytes body and a record of headers from there
 * as they are, building the web Response (a `Headers`, and a stream for its body) only when
 * something reads one of its web properties. Reading `response.body` there costs about as much as
 * the rest of the guard. What is found here is stored, and the handler's own Response goes out
 * untouched. Anything of another shape is left to the web API, so a change in that package costs
 * speed, never correctness.
 *
 * @param response - the handler's response
 * @internal
 */
export function madeFrom(response: Response): MadeResponse | undefined {
  for (const symbol of Object.getOwnPropertySymbols(response)) {
    if (symbol.description !== 'cache') continue;
    const cache: unknown = (response as unknown as Record<symbol, unknown>)[symbol];
    if (!Array.isArray(cache) || cache.length !== 3 || cache[0] !== response.status) return undefined;
    const body: unknown = cache[1];
    if (!(body === null || typeof body === 'string' || body instanceof Uint8Array)) return undefined;
    return { body, headers: headerRecord(cache[2]) };
  }
  return undefined;
}

/** A plain record of string headers by lower-case name; `undefined` for anything else. */
function headerRecord(given: unknown): Record<string, string> | undefined {
  if (typeof given !== 'object' || given === null) return undefined;
  const prototype: unknown = Object.getPrototypeOf(given);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  const record = Object.create(null) as Record<string, string>;
  for (const name in given) {
    const value: unknown = (given as Record<string, unknown>)[name];
    const lower = name.toLowerCase();
    // A value that is not text, or one name twice in two cases: left to Headers' own rules.
    if (typeof value !== 'string' || lower in record) return undefined;
    record[lower] = value;
  }
  return record;
}
