// Shared by the request-id, error-handler and cache-control tests: both Express majors, and an app
// served over real HTTP on a loopback port.
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import express5 from 'express';
import { listenOnLoopback } from '../support/listen.js';

type ExpressFactory = typeof express5;

// Express 4 is installed under the alias `express4` and has no types of its own; its API used
// here is the same as Express 5's.
const express4 = createRequire(import.meta.url)('express4') as ExpressFactory;

/** The Express majors every extras test runs against. */
export const EXPRESS_VERSIONS: ReadonlyArray<readonly [string, ExpressFactory]> = [
  ['Express 5', express5],
  ['Express 4', express4],
];

/** A running app: its base URL and a way to stop it. */
export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Serves `app` on 127.0.0.1 on a free port. */
export async function serve(app: (req: never, res: never) => void): Promise<Served> {
  const server: Server = createServer(app as unknown as Parameters<typeof createServer>[0]);
  const url = await listenOnLoopback(server);
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
