// Global setup of the browser project: browser tests cannot start a Node server themselves, so this
// starts an Express app with realtimeSse() on a free loopback port (with CORS, the page being on
// another origin) and provides its URL to the tests as `inject('sseBrowserUrl')`. Control routes let
// a test publish and cut connections:
//   GET /control/publish?topic=t&from=1&to=5  publishes records { id: n, n } for n = from..to
//   GET /control/drop                         destroys the server side of every open event stream
//   GET /control/stats                        { connections } (both endpoints)
// Endpoints: /events (bufferSize 1000) and /events-small (bufferSize 3), one service behind both.
import http from 'node:http';
import type { Socket } from 'node:net';
import express, { type RequestHandler } from 'express';
import type { TestProject } from 'vitest/node';
import { RealtimeSyncService } from 'closed-loop';
import { realtimeSse } from 'closed-loop/express';
import { listenOnLoopback } from '../support/listen.js';

declare module 'vitest' {
  export interface ProvidedContext {
    sseBrowserUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const service = new RealtimeSyncService();
  const events = realtimeSse(service);
  const small = realtimeSse(service, { bufferSize: 3 });
  const streamSockets = new Set<Socket>();
  const track: RequestHandler = (req, res, next) => {
    const socket = req.socket;
    streamSockets.add(socket);
    res.on('close', () => streamSockets.delete(socket));
    next();
  };

  const app = express();
  app.use((req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Last-Event-ID, Authorization, Content-Type');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  });
  app.get('/events', track, events);
  app.get('/events-small', track, small);
  app.get('/control/publish', (req, res) => {
    const topic = String(req.query.topic ?? 't');
    const from = Number(req.query.from);
    const to = Number(req.query.to);
    const ids: string[] = [];
    for (let n = from; n <= to; n++) ids.push(service.publish(topic, { id: n, n }).eventId);
    res.json(ids);
  });
  app.get('/control/drop', (_req, res) => {
    const count = streamSockets.size;
    for (const socket of streamSockets) socket.destroy();
    streamSockets.clear();
    res.json({ dropped: count });
  });
  app.get('/control/stats', (_req, res) => {
    res.json({ connections: events.connectionCount + small.connectionCount });
  });

  const server = http.createServer(app);
  project.provide('sseBrowserUrl', await listenOnLoopback(server));

  return async () => {
    events.close();
    small.close();
    await service.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
