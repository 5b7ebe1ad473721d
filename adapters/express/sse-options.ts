import type { RequestHandler } from 'express';
import { type ChangeEvent, type Clock, realClock } from 'closed-loop';
import { hasMethods } from '../../src/internal/validate.js';

/**
 * What {@link realtimeSse} needs of a realtime service: a `RealtimeSyncService` fits, and so does
 * anything else with the same `subscribe`.
 */
export interface RealtimeSseSource {
  /** Subscribes to a topic (`'*'`: every topic); returns the unsubscribe function. */
  subscribe(topic: string, callback: (event: ChangeEvent) => void): () => void;
}

/** Options of {@link realtimeSse}. */
export interface RealtimeSseOptions {
  /**
   * The topics this endpoint serves. Default: every topic (the handler subscribes to `'*'`). With a
   * list, the handler subscribes to those topics only, and a request whose `?topics=` names any
   * other topic gets a 400.
   */
  topics?: readonly string[];
  /**
   * How many of the latest events the replay buffer keeps for clients that resume with
   * `Last-Event-ID`. Default 1000; 0 keeps none (every resume gets the resync signal). The buffer is
   * shared by all connections and filled from the moment `realtimeSse()` is called.
   */
  bufferSize?: number;
  /**
   * How often every open stream gets a heartbeat (an SSE comment line), so that proxies and load
   * balancers do not close idle streams. Default 15000 ms; 0 sends none. Driven by `clock`.
   */
  heartbeatMs?: number;
  /**
   * Sent once per stream as the SSE `retry:` field: how long a browser's own `EventSource` waits
   * before reconnecting. Default: not sent (the browser's default, or `SseTransport`'s
   * `reconnectDelayMs`, applies).
   */
  retryMs?: number;
  /**
   * How much output one connection may have waiting (bytes not yet taken by the socket plus
   * characters queued for the next write) before the handler drops it. Default 1 MiB; a resuming
   * client's replay comes on top until the socket has taken it. A client that stops reading is cut
   * off rather than buffered for without bound; when it reconnects with `Last-Event-ID` it gets what
   * it missed from the replay buffer (or the resync signal).
   */
  maxQueuedBytes?: number;
  /** The clock for heartbeats. Default `realClock`. */
  clock?: Clock;
}

/**
 * The GET handler {@link realtimeSse} returns: an Express request handler (it also works as a plain
 * `node:http` request listener) with a way to stop it.
 */
export interface RealtimeSseHandler extends RequestHandler {
  /**
   * Stops the endpoint: unsubscribes from the service, ends every open stream (after writing what
   * was queued) and stops the heartbeat timer. Later requests get a 503. Idempotent.
   */
  close(): void;
  /** How many streams are open right now. */
  readonly connectionCount: number;
}

/** The options checked, with their defaults. */
export interface RealtimeSseSettings {
  bufferSize: number;
  heartbeatMs: number;
  maxQueuedBytes: number;
  retryMs: number | undefined;
  /** The topics served; `undefined`: every topic. */
  served: ReadonlySet<string> | undefined;
  clock: Clock;
}

/** Checks what {@link realtimeSse} was given (a bad value throws a TypeError naming it) and fills in the defaults. */
export function realtimeSseSettings(service: RealtimeSseSource, options: RealtimeSseOptions): RealtimeSseSettings {
  if (!hasMethods(service, ['subscribe'])) {
    throw new TypeError('realtimeSse: service must have a subscribe(topic, callback) method');
  }
  const bufferSize = options.bufferSize ?? 1000;
  if (!Number.isSafeInteger(bufferSize) || bufferSize < 0) {
    throw new TypeError(`realtimeSse: bufferSize must be an integer >= 0, got ${String(bufferSize)}`);
  }
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  if (typeof heartbeatMs !== 'number' || !Number.isFinite(heartbeatMs) || heartbeatMs < 0) {
    throw new TypeError(`realtimeSse: heartbeatMs must be a finite number >= 0, got ${String(heartbeatMs)}`);
  }
  const maxQueuedBytes = options.maxQueuedBytes ?? 1024 * 1024;
  if (typeof maxQueuedBytes !== 'number' || !(maxQueuedBytes > 0)) {
    throw new TypeError(`realtimeSse: maxQueuedBytes must be a number > 0, got ${String(maxQueuedBytes)}`);
  }
  const retryMs = options.retryMs;
  if (retryMs !== undefined && (!Number.isSafeInteger(retryMs) || retryMs < 0)) {
    throw new TypeError(`realtimeSse: retryMs must be an integer >= 0, got ${String(retryMs)}`);
  }
  let served: ReadonlySet<string> | undefined;
  if (options.topics !== undefined) {
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new TypeError('realtimeSse: topics must be a non-empty array of topic names');
    }
    for (const topic of options.topics) {
      if (typeof topic !== 'string' || topic === '' || topic === '*') {
        throw new TypeError(`realtimeSse: invalid topic ${JSON.stringify(topic)}`);
      }
    }
    served = new Set(options.topics);
  }
  return { bufferSize, heartbeatMs, maxQueuedBytes, retryMs, served, clock: options.clock ?? realClock };
}
