import { type Clock, type ClosedLoopError, realClock } from 'closed-loop';
import { checkFunction, checkNumber, describeValue, hasMethods, positive } from '../../src/internal/validate.js';

/** Options of {@link RedisTransport}. */
export interface RedisTransportOptions {
  /**
   * Put before every topic to make its Redis channel: topic `orders` travels on
   * `` `${prefix}orders` ``. Default `'closed-loop:realtime:'`. Services exchange events only when
   * their transports share a prefix, so one Redis can carry several apps' buses apart. (The client's
   * own `keyPrefix` does not apply: ioredis prefixes keys, not channels.)
   */
  prefix?: string;
  /**
   * How long a `publish` may wait for Redis, in ms, before it rejects with a `TimeoutError`.
   * Default 2000. Measured on `clock`. With ioredis' defaults a command sent while the connection
   * is down waits in the client's offline queue through up to 20 reconnection attempts; the
   * transport does not let a publish hang that long. The timed-out PUBLISH stays in that queue and
   * may still reach Redis once it is back: it carries the same `eventId`, so services that already
   * have the event drop it, and the latest-state cache never lets it replace a newer version.
   * Also bounds the unsubscribe that `close` sends.
   */
  commandTimeoutMs?: number;
  /** The clock that runs `commandTimeoutMs`. Default the real clock. */
  clock?: Clock;
  /**
   * Told about what the transport handles by itself and nobody awaits, each as a `ClosedLoopError`
   * with one of these codes (the original error as `cause`):
   *
   * - `REALTIME_MALFORMED_MESSAGE`: a message on one of the transport's channels is not a change
   *   event of that topic (someone else published to it). The message is skipped.
   * - `REALTIME_SUBSCRIBE_FAILED`: Redis refused a SUBSCRIBE, PSUBSCRIBE or their counterparts
   *   (an ACL, say). The status is not reported `connected`/`resynced` until a later sync succeeds.
   * - `REALTIME_CONNECTION_ERROR`: the subscriber connection failed (one per failed attempt while
   *   Redis is unreachable; the status already says `reconnecting`).
   * - `REALTIME_CONNECTION_ENDED`: the client's `retryStrategy` gave up, so the subscriber
   *   connection will not come back and no more events arrive.
   * - `REALTIME_LISTENER_FAILED`: the service's listener threw while taking an event.
   *
   * Default: nothing is reported; the transport carries on either way. It must not throw.
   */
  onError?: (error: ClosedLoopError) => void;
}

/** The options checked, with their defaults. */
export interface RedisTransportSettings {
  prefix: string;
  commandTimeoutMs: number;
  clock: Clock;
  /** `onError`, made safe to call: a reporter that throws is ignored. */
  reportError: (error: ClosedLoopError) => void;
}

/**
 * Checks what the constructor was given (a bad value throws a TypeError naming it) and fills in the
 * defaults.
 */
export function redisTransportSettings(client: unknown, options: RedisTransportOptions): RedisTransportSettings {
  if (!hasMethods(client, ['publish', 'duplicate'])) {
    throw new TypeError('closed-loop: RedisTransport needs an ioredis client (new Redis(...) or new Cluster(...))');
  }
  const prefix = options.prefix ?? 'closed-loop:realtime:';
  if (typeof prefix !== 'string') {
    throw new TypeError(`closed-loop: RedisTransport: \`prefix\` must be a string, got ${describeValue(prefix)}`);
  }
  const commandTimeoutMs = checkNumber('commandTimeoutMs', options.commandTimeoutMs, positive, 'RedisTransport') ?? 2000;
  checkFunction('onError', options.onError, 'RedisTransport');
  const onError = options.onError;
  return {
    prefix,
    commandTimeoutMs,
    clock: options.clock ?? realClock,
    reportError: (error) => {
      if (!onError) return;
      try {
        onError(error);
      } catch {
        // An error reporter that throws has nowhere to report to; the transport carries on.
      }
    },
  };
}
