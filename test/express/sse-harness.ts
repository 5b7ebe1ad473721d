// Helpers for the SSE tests: a real Express app serving realtimeSse() on a free loopback port (with
// the server-side sockets at hand, to cut connections), and a raw HTTP SSE reader. Not a test file.
import http from 'node:http';
import type { Socket } from 'node:net';
import express from 'express';
import type { RequestHandler } from 'express';
import { type RealtimeSseHandler, type RealtimeSseOptions, type RealtimeSseSource, realtimeSse } from 'closed-loop/express';
import { type SseMessage, SseParser } from '../../src/realtime/sse-parser.js';
import { listenOnLoopback } from '../support/listen.js';

/** An Express app with `realtimeSse()` at `/events`. */
export interface SseApp {
  url: string;
  handler: RealtimeSseHandler;
  server: http.Server;
  /** Server-side sockets currently open. */
  sockets: Set<Socket>;
  /** Destroys every server-side socket: every client sees its connection drop. */
  dropAll(): void;
  close(): Promise<void>;
}

/** Things to mount before the handler, and the express factory (Express 4 or 5). */
export interface SseAppSetup {
  express?: () => express.Express;
  /** Middleware run before the SSE handler on `/events`. */
  before?: RequestHandler[];
  /** Extra routes. */
  routes?: (app: express.Express) => void;
}

/** Starts an app serving `realtimeSse(service, options)` at `/events`. */
export async function startSseApp(service: RealtimeSseSource, options: RealtimeSseOptions = {}, setup: SseAppSetup = {}): Promise<SseApp> {
  const handler = realtimeSse(service, options);
  const app = (setup.express ?? express)();
  app.get('/events', ...(setup.before ?? []), handler);
  setup.routes?.(app);
  const server = http.createServer(app);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    handler,
    server,
    sockets,
    dropAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        handler.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A raw SSE stream read over node:http. */
export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Everything received, as text. */
  readonly raw: string;
  /** Every dispatched frame (change events have type 'message'). */
  readonly messages: SseMessage[];
  /** The data of the 'message' frames, parsed. */
  events(): Array<{ eventId: string; topic: string; [key: string]: unknown }>;
  readonly lastEventId: string;
  readonly ended: boolean;
  /** The underlying response, to pause it. */
  res: http.IncomingMessage;
  close(): void;
  /** Polls (real time, bounded) until `done` holds; throws with the raw text if it never does. */
  until(done: (stream: SseStream) => boolean, timeoutMs?: number): Promise<void>;
}

/** Opens `url + path` as an event stream, resolves once the response headers are in. */
export function openStream(url: string, path = '/events', headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}${path}`, { headers: { accept: 'text/event-stream', ...headers }, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      let raw = '';
      let ended = false;
      const messages: SseMessage[] = [];
      const parser = new SseParser((m) => messages.push(m));
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        raw += text;
        parser.push(text);
      });
      const end = () => {
        ended = true;
      };
      res.on('end', end);
      res.on('close', end);
      res.on('error', end);
      const stream: SseStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        get raw() {
          return raw;
        },
        messages,
        events: () => messages.filter((m) => m.type === 'message').map((m) => JSON.parse(m.data)),
        get lastEventId() {
          return parser.lastEventId;
        },
        get ended() {
          return ended;
        },
        res,
        close: () => req.destroy(),
        until: async (done, timeoutMs = 3000) => {
          const deadline = Date.now() + timeoutMs;
          while (!done(stream)) {
            if (Date.now() > deadline) throw new Error(`condition not met; stream so far:\n${raw}`);
            await pause(5);
          }
        },
      };
      resolve(stream);
    });
  });
}

/** Sends one request and reads the whole (non-streaming) response. */
export function request(url: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method, headers, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.end();
  });
}

/** A short real wait, for I/O only. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls (real time, bounded) until `done` holds. */
export async function waitUntil(done: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(5);
  }
}
