import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts `server` listening on 127.0.0.1 at a free port; resolves with its base URL. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}
