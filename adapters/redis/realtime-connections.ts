// Which connection each command of the Redis transport goes through: PUBLISH through the app's
// client (on a Cluster, one fixed master), subscriptions through a connection of their own.
import type { Cluster, Redis } from 'ioredis';

/** Whether `client` is an ioredis `Cluster` (told without importing ioredis at run time). */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/**
 * The connection for the subscriptions: a duplicate of `client` (a connection in subscriber mode can
 * do nothing else). On a plain `Redis` client its own resubscription and resending are off: the
 * transport subscribes again itself on every `ready` and awaits Redis' confirmation, which ioredis
 * does not, and would not restore a topic unwatched during an outage.
 */
export function subscriberConnection(client: Redis | Cluster): Redis | Cluster {
  return isCluster(client) ? client.duplicate() : client.duplicate({ autoResubscribe: false, autoResendUnfulfilledCommands: false });
}

/**
 * Where PUBLISH goes: the client, or on a Cluster the master first by `host:port`. ioredis would
 * send each PUBLISH (a command without a key) to a random node, and Redis forwards it to the
 * others over the cluster bus, so two events could overtake each other; through one node, every
 * subscriber receives them in the order that node ran them, as on a single server.
 */
export function publisherOf(client: Redis | Cluster): Pick<Redis, 'publish'> {
  if (!isCluster(client)) return client;
  let chosen: Redis | undefined;
  let chosenKey = '';
  for (const node of client.nodes('master')) {
    const key = `${node.options.host ?? ''}:${String(node.options.port ?? '')}`;
    if (chosen === undefined || key < chosenKey) {
      chosen = node;
      chosenKey = key;
    }
  }
  // Not connected yet (no node known): the Cluster client queues the command until it is.
  return chosen ?? client;
}
