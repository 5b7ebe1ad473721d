// The body of a Response as the handler made it, where the server's Response keeps it at hand:
// reading it through the web API would cost that server more than the rest of the request.

/**
 * The body `response` was made from, text or bytes, when the Response keeps it as it was given:
 * `null` for none, `undefined` when it does not show it (a native Response, a stream, a Blob), and
 * the body is then read through `response.body`.
 *
 * `@hono/node-server`'s Response is lightweight: it keeps `[status, body, headers]` under a symbol
 * of its own (described `cache`) and sends a text or bytes body from there as it is, building the
 * web Response (and a stream for its body) only when something reads one of its web properties.
 * Reading `response.body` there costs about as much as the rest of the guard; a body found here is
 * stored and the handler's own Response goes out untouched. Anything of another shape is left to
 * the web API, so a change in that package costs speed, never correctness.
 *
 * @param response - the handler's response
 * @internal
 */
export function heldBody(response: Response): string | Uint8Array | null | undefined {
  for (const symbol of Object.getOwnPropertySymbols(response)) {
    if (symbol.description !== 'cache') continue;
    const cache: unknown = (response as unknown as Record<symbol, unknown>)[symbol];
    if (!Array.isArray(cache) || cache.length !== 3 || cache[0] !== response.status) return undefined;
    const body: unknown = cache[1];
    return body === null || typeof body === 'string' || body instanceof Uint8Array ? body : undefined;
  }
  return undefined;
}
