// The servers of a sync client: one breaker and one in-flight count per base URL. Not exported.
import { CircuitBreaker } from '../breaker/circuit-breaker.js';
import type { CircuitBreakerOptions } from '../breaker/options.js';
import type { Clock } from '../clock/clock.js';
import { type CircuitBreakerError, isNetworkError } from '../errors/errors.js';
import { countsAgainstServer } from '../internal/failure.js';
import type { LoadBalancing, SyncServerInfo } from './options.js';

/**
 * Thrown inside a breaker in place of the caller's abort reason, so that a caller giving up is
 * never counted against the server. The caller sees its own reason, never this.
 */
export class CallerAbort {
  constructor(readonly reason: unknown) {}
}

/** One base URL. */
export class Server {
  inFlight = 0;
  /** Whether its breaker was last opened by a network failure (the `online` event closes those). */
  openedByNetwork = false;
  readonly breaker: CircuitBreaker | undefined;

  constructor(
    readonly url: string,
    options: CircuitBreakerOptions | false,
    clock: Clock,
  ) {
    if (options === false) return;
    const isFailure = options.isFailure ?? countsAgainstServer;
    const breaker = new CircuitBreaker({
      clock,
      name: url,
      ...options,
      isFailure: (error) => !(error instanceof CallerAbort) && isFailure(error),
    });
    let lastFailure: unknown;
    breaker.on('failure', (error) => {
      lastFailure = error;
    });
    breaker.on('stateChange', (_from, to) => {
      if (to === 'OPEN') this.openedByNetwork = isNetworkError(lastFailure);
      else if (to === 'CLOSED') this.openedByNetwork = false;
    });
    this.breaker = breaker;
  }
}

/** The servers of a client, in the order given. */
export class ServerPool {
  readonly servers: Server[];
  private next = 0;

  constructor(
    urls: readonly string[],
    breaker: CircuitBreakerOptions | false,
    clock: Clock,
    private readonly mode: LoadBalancing,
  ) {
    this.servers = urls.map((url) => new Server(url, breaker, clock));
  }

  /** Where a new call starts: the first server for failover, the next in turn for round-robin. */
  startIndex(): number {
    if (this.mode === 'failover' || this.servers.length === 1) return 0;
    const index = this.next;
    this.next = (index + 1) % this.servers.length;
    return index;
  }

  /**
   * Runs `send` on the first server from `from` (in order, wrapping) whose breaker admits the call,
   * telling `onAdmit` where it sits so the next attempt can move past it. Servers whose breaker
   * refuses are skipped; when every one refuses, rejects with the refusal that ends soonest.
   */
  async run<T>(from: number, onAdmit: (index: number) => void, send: (server: Server) => Promise<T>): Promise<T> {
    const count = this.servers.length;
    let soonest: CircuitBreakerError | undefined;
    for (let i = 0; i < count; i++) {
      const index = (from + i) % count;
      const server = this.servers[index]!;
      const breaker = server.breaker;
      if (breaker === undefined) {
        onAdmit(index);
        return send(server);
      }
      let ran = false;
      // execute() calls its function synchronously when it admits the call.
      const result = breaker.execute(() => {
        ran = true;
        return send(server);
      });
      if (ran) {
        onAdmit(index);
        return result;
      }
      const rejection = (await result.then(undefined, (error: unknown) => error)) as CircuitBreakerError;
      if (soonest === undefined || rejection.retryAfterMs < soonest.retryAfterMs) soonest = rejection;
    }
    throw soonest!;
  }

  /** Closes the breakers that network failures opened: the network is back, so they may be fine. */
  resetNetworkBreakers(): void {
    for (const server of this.servers) {
      if (server.openedByNetwork && server.breaker !== undefined && server.breaker.state !== 'CLOSED') {
        server.breaker.reset();
      }
    }
  }

  list(): SyncServerInfo[] {
    return this.servers.map((server) => ({
      url: server.url,
      state: server.breaker?.state ?? 'CLOSED',
      inFlight: server.inFlight,
    }));
  }
}
