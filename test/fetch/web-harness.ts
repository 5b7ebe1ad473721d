// The behaviour suite's server-neutral routes as web handlers ((Request) => Response), served with
// @hono/node-server's serve({ fetch }) on a loopback port. Shared by test/fetch and test/hono. Not a
// test file.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { isIdempotencyError } from 'closed-loop';
import { pause } from '../express/idempotency-harness.js';
import type { GuardOptions, RouteReply, RouteRequest } from '../express/server-under-test.js';

/** Serves `fetch` through @hono/node-server on 127.0.0.1 at a free port. */
export function serveFetch(fetch: (request: Request) => Response | Promise<Response>): Promise<{ url: string; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A web request as a server-neutral route sees it; `text` is the body, already read. */
export function routeRequest(request: Request, text: string): RouteRequest {
  let body: Record<string, unknown> | undefined;
  if ((request.headers.get('content-type') ?? '').includes('json') && text !== '') {
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
  }
  return {
    body,
    path: new URL(request.url).pathname,
    header: (name) => request.headers.get(name) ?? undefined,
    disconnected: () =>
      new Promise((resolve) => {
        if (request.signal.aborted) resolve();
        else request.signal.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
}

const encoder = new TextEncoder();

/** A server-neutral reply as a web Response. */
export function replyResponse(reply: RouteReply): Response {
  const headers = new Headers(reply.headers);
  for (const [name, value] of Object.entries(reply.cookies ?? {})) headers.append('set-cookie', `${name}=${value}; Path=/`);
  let body: BodyInit | null = null;
  if (reply.json !== undefined) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    body = JSON.stringify(reply.json);
  } else if (reply.text !== undefined) {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8');
    body = reply.text;
  } else if (reply.bytes !== undefined) {
    body = reply.bytes as Uint8Array<ArrayBuffer>;
  } else if (reply.chunks !== undefined) {
    const chunks = [...reply.chunks];
    body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await pause(1);
        const chunk = chunks.shift();
        if (chunk === undefined) controller.close();
        else controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      },
    });
  }
  return new Response(body, { status: reply.status, headers });
}

/** The suite's app error handler: `{ handled: code }` with the error's status. */
export function errorResponse(error: unknown): Response {
  return Response.json({ handled: isIdempotencyError(error) ? error.code : 'other' }, { status: isIdempotencyError(error) ? error.status : 500 });
}

/** The server-neutral guard options that every web adapter takes as they are. */
export function commonOptions(guard: GuardOptions): Omit<GuardOptions, 'scopeHeader' | 'onStoreError'> {
  const { scopeHeader: _scope, onStoreError: _report, ...rest } = guard;
  return rest;
}
