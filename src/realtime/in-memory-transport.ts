import { EventEmitter } from 'eventemitter3';
import type { ChangeEvent, RealtimeTransport, RealtimeTransportListener } from './types.js';

/**
 * A bus inside one JavaScript realm (one process, one tab): the default transport of a
 * {@link RealtimeSyncService}. Unlike other transports, one instance may be shared: every service
 * connected to the same `InMemoryTransport` hears the others' events, synchronously, in publish order.
 *
 * It echoes each event to its publisher too; the service drops its own events by id, so each is
 * still delivered once.
 *
 * @example
 * ```ts
 * const bus = new InMemoryTransport()
 * const api = new RealtimeSyncService({ transport: bus })
 * const ui = new RealtimeSyncService({ transport: bus })
 * ui.subscribe('orders', (event) => render(event.new))
 * api.publish('orders', { id: 7, status: 'paid', version: 2 }) // ui renders it at once
 * ```
 * @category Realtime
 */
export class InMemoryTransport implements RealtimeTransport {
  private readonly emitter = new EventEmitter<{ event: (event: ChangeEvent) => void }>();
  private closed = false;

  /**
   * Adds a service to the bus and reports `connected` at once. Unlike most transports it may be
   * called once per service sharing the bus.
   */
  connect(listener: RealtimeTransportListener): void {
    if (this.closed) throw new Error('closed-loop: this InMemoryTransport was closed; create a new one');
    // eslint-disable-next-line @typescript-eslint/unbound-method -- eventemitter3 calls it on `listener` (the third argument)
    this.emitter.on('event', listener.onEvent, listener);
    listener.onStatus('connected');
  }

  /** Delivers `event` to every connected service (its publisher included), synchronously. */
  publish(event: ChangeEvent): void {
    this.emitter.emit('event', event);
  }

  /** Removes one service from the bus; the others keep hearing each other. */
  disconnect(listener: RealtimeTransportListener): void {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- removes the pair added by connect(), calls nothing
    this.emitter.off('event', listener.onEvent, listener);
  }

  /** How many services are connected. */
  get connectionCount(): number {
    return this.emitter.listenerCount('event');
  }

  /** Disconnects every service; the bus cannot be connected to again. */
  close(): void {
    this.closed = true;
    this.emitter.removeAllListeners();
  }
}
