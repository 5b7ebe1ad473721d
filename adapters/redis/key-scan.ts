// Visiting every key under a prefix, a batch at a time, on a Redis client or on every master of a
// Cluster: what RedisIdempotencyStore's `clear` and `stats` walk.
import type { Cluster, Redis } from 'ioredis';

/** The per-node commands `clear` and `stats` use (a `Redis` client, or one node of a `Cluster`). */
export interface ScanNode {
  scan(cursor: string, ...args: Array<string | number>): Promise<[string, string[]]>;
  pipeline(commands: Array<Array<string | number>>): { exec(): Promise<Array<[Error | null, unknown]> | null> };
}

// Records `clear` drops and `stats` reads per round trip.
const SCAN_COUNT = 500;

/**
 * Calls `visit` with each batch of keys under `prefix` (bare of the client's own `keyPrefix`) and
 * the node to send its commands to. Each SCAN goes through `run` (the store's command timeout).
 */
export async function scanKeys(
  client: Redis | Cluster,
  prefix: string,
  run: <T>(what: string, call: () => Promise<T>) => Promise<T>,
  visit: (node: ScanNode, keys: string[]) => Promise<void>,
): Promise<void> {
  const clientPrefix = keyPrefixOf(client);
  // SCAN patterns are not prefixed by ioredis, while the keys it returns carry the client's prefix.
  const match = `${escapeGlob(clientPrefix + prefix)}*`;
  const nodes = (client as { isCluster?: boolean }).isCluster
    ? ((client as Cluster).nodes('master') as unknown as ScanNode[])
    : [client as unknown as ScanNode];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await run('scan', () => node.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT));
      cursor = String(next);
      const keys = found.map((k) => (clientPrefix && k.startsWith(clientPrefix) ? k.slice(clientPrefix.length) : k));
      if (keys.length > 0) await visit(node, keys);
    } while (cursor !== '0');
  }
}

function keyPrefixOf(client: Redis | Cluster): string {
  const options = (client as { options?: { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } } }).options;
  const prefix = options?.keyPrefix ?? options?.redisOptions?.keyPrefix;
  return typeof prefix === 'string' ? prefix : '';
}

/** Escapes the glob characters of a SCAN MATCH pattern. */
function escapeGlob(value: string): string {
  return value.replace(/[\\*?[\]]/g, '\\$&');
}
