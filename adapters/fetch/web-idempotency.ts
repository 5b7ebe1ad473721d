import {
  type HttpIdempotency,
  type IdempotencyBegin,
  type ProblemSource,
  type StoredHttpResponse,
  IdempotencyError,
  fingerprintRequest,
  isIdempotencyError,
  refusalAnswer,
  replayHeaders,
  statusHasNoBody,
  storedBody,
} from 'closed-loop';
import { WebHeldResponse } from './web-response.js';

// One request through the core's HTTP idempotency rules, for servers whose requests and responses
// are the web's Request and Response: closed-loop/fetch, and closed-loop/hono on top of it.

/**
 * What an adapter for web-standard servers tells the shared request flow.
 *
 * @internal
 */
export interface WebAdapter<Req> {
  /** The rules, configured from the adapter's options. */
  readonly rules: HttpIdempotency<Req>;
  /** A response the adapter's server sends: a refusal or a replay. */
  respond(req: Req, body: Uint8Array | string | null, status: number, headers: Record<string, string | string[]>): Response;
  /** The request id, for problem answers, when the server has one. */
  requestId?(req: Req): string | undefined;
  /** Whether the handler failed even though `run` gave a response (Hono's `c.error`). */
  failed?(req: Req): boolean;
  /** With `errors: 'next'`, called before the refusal is thrown: to set `Retry-After` where the server can. */
  passing?(req: Req, error: ProblemSource): void;
}

const encoder = /* @__PURE__ */ new TextEncoder();

/**
 * Runs one request: passes it through (a method not guarded, no key), refuses it, replays its
 * stored response, or runs the handler with its key held and returns the handler's response with
 * its body captured on the way out (see WebHeldResponse).
 *
 * @param adapter - the adapter
 * @param req - what `scope` and `fingerprint` get
 * @param request - the web request
 * @param run - runs the handler
 * @returns the response to send
 * @internal
 */
export async function guardWebRequest<Req>(adapter: WebAdapter<Req>, req: Req, request: Request, run: () => Promise<Response>): Promise<Response> {
  const rules = adapter.rules;
  if (!rules.handles(request.method)) return run();
  let key: string | undefined;
  try {
    key = rules.readKey((name) => request.headers.get(name));
  } catch (error) {
    return refuse(adapter, req, request, error as IdempotencyError);
  }
  if (key === undefined) return rules.required ? refuse(adapter, req, request, new IdempotencyError('KEY_MISSING')) : run();
  let begun: IdempotencyBegin;
  try {
    begun = await rules.begin(req, key);
  } catch (error) {
    // A refusal of the rules; anything else was thrown by the app's own scope or fingerprint.
    if (isIdempotencyError(error)) return refuse(adapter, req, request, error);
    throw error;
  }
  if (begun.kind === 'replay') {
    let stored: StoredHttpResponse;
    try {
      stored = rules.replayed(begun.result);
    } catch (error) {
      return refuse(adapter, req, request, error as IdempotencyError);
    }
    // An empty body is no body: a server adds no Content-Type of its own to that.
    const body = storedBody(stored);
    const bytes = statusHasNoBody(stored.status) || body.length === 0 ? null : typeof body === 'string' ? encoder.encode(body) : body;
    return adapter.respond(req, bytes, stored.status, replayHeaders(stored));
  }
  const held = new WebHeldResponse(rules, req, begun.lease);
  let response: Response;
  try {
    response = await run();
  } catch (error) {
    // No response at all: nothing to store, and a retry runs the handler again.
    held.abandon();
    throw error;
  }
  if (adapter.failed?.(req)) held.failed = true;
  return held.respond(response);
}

/**
 * The default fingerprint of a web request: the method, the path (no query) and the canonical
 * JSON (or text, or bytes) of `body`.
 *
 * @internal
 */
export function fingerprintWebRequest(request: Request, body: ArrayBuffer | string | undefined): string {
  return fingerprintRequest({ method: request.method, path: new URL(request.url).pathname, body });
}

/** A refusal as a problem answer, or, with `errors: 'next'`, thrown for the app's own handling. */
function refuse<Req>(adapter: WebAdapter<Req>, req: Req, request: Request, error: IdempotencyError): Response {
  if (adapter.rules.errors === 'next') {
    adapter.passing?.(req, error);
    throw error;
  }
  const url = new URL(request.url);
  const answer = refusalAnswer(error, { instance: url.pathname + url.search, requestId: adapter.requestId?.(req) });
  return adapter.respond(req, answer.body, answer.status, answer.headers);
}
