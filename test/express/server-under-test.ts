// What the idempotency behaviour suite (idempotency-behaviours.ts) needs from a server: routes
// written once, server-neutrally, and each server's translation of them (express-server.ts,
// test/fetch/fetch-server.ts, test/hono/hono-server.ts). Not a test file.
import type { Clock, IdempotencyStore } from 'closed-loop';

/** A request as a route sees it, whatever the server. */
export interface RouteRequest {
  /** The JSON body, parsed (the tests send objects); `undefined` without one. */
  body: Record<string, unknown> | undefined;
  /** The concrete path, without the query. */
  path: string;
  /** A request header, or `undefined`. */
  header(name: string): string | undefined;
  /** Resolves once the client has gone away. */
  disconnected(): Promise<void>;
}

/** What a route answers, whatever the server. */
export interface RouteReply {
  status: number;
  headers?: Record<string, string>;
  /** Each becomes a `Set-Cookie: name=value; Path=/`. */
  cookies?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as text (give it a Content-Type in `headers`). */
  text?: string;
  /** Sent as bytes. */
  bytes?: Uint8Array;
  /** Sent one chunk at a time, with a short pause before each: a streamed body. */
  chunks?: Array<string | Uint8Array>;
}

/** A route handler: it may throw, or reject, to fail. */
export type RouteHandler = (req: RouteRequest) => RouteReply | Promise<RouteReply>;

/** A route, server-neutral (`handle`) or in the server's own terms (`native`). */
export interface Route {
  method: string;
  path: string;
  handle?: RouteHandler;
  /** A handler in the server's own form (an Express handler, a fetch handler, a Hono handler). */
  native?: unknown;
}

/** The guard's options, server-neutral. */
export interface GuardOptions {
  store?: IdempotencyStore;
  clock?: Clock;
  ttlMs?: number;
  leaseMs?: number;
  required?: boolean;
  concurrent?: 'reject' | 'wait';
  maxResponseBytes?: number;
  cacheServerErrors?: boolean;
  replayHeaders?: readonly string[];
  errors?: 'respond' | 'next';
  onStoreError?: (error: unknown) => void;
  /** `scope` reads this request header. */
  scopeHeader?: string;
}

/** What `serve` can add to an app. */
export interface ServeExtras {
  /**
   * An app-level error handler that answers any error with `{ handled: code }` (the code of an
   * `IdempotencyError`, else `'other'`) and the error's status (else 500).
   */
  errorHandler?: boolean;
}

/** A server the behaviour suite runs against. */
export interface ServerUnderTest {
  /** E.g. 'Express 5', 'Hono on @hono/node-server'. */
  name: string;
  /** Serves `routes` behind the guard (no guard when `guard` is undefined) on a loopback port; returns the base URL. */
  serve(guard: GuardOptions | undefined, routes: Route[], extras?: ServeExtras): Promise<{ url: string; close(): Promise<void> }>;
  /**
   * Serves `handle` as POST `/v1/orders` and POST `/v2/orders`, with the guard mounted inside one
   * router (or sub-app) mounted at both prefixes.
   */
  serveMounted(guard: GuardOptions, handle: RouteHandler): Promise<{ url: string; close(): Promise<void> }>;
  /** Behaviour 5: every way this server sends a response, each a native POST handler. */
  sendPaths: Array<[string, unknown]>;
  /** Whether, with `errors: 'next'`, a KEY_IN_USE reaches the app's error handler with `Retry-After` already set. */
  retryAfterOnNext: boolean;
}
