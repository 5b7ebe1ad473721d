import { ClosedLoopError } from '../errors/errors.js';
import type { ChangeEvent, RealtimeTransport, RealtimeTransportListener } from './types.js';

/**
 * Connects the services of one origin's tabs, windows and workers over a `BroadcastChannel` named
 * `name`. A service hears every other `BroadcastChannelTransport` of that name in the origin (in
 * the same page too), never its own messages. Messages from one sender arrive in order; there is
 * no replay: a tab that is not running (closed, or restored from the back/forward cache) misses
 * what was sent meanwhile, and reports `resynced` when it is restored so the app refetches.
 *
 * Events are copied with the structured clone algorithm: records must be cloneable (no functions);
 * a publish that cannot be cloned is reported through the service's `error` event.
 *
 * @example
 * ```ts
 * const service = new RealtimeSyncService({ transport: new BroadcastChannelTransport('my-app') })
 * service.subscribe('cart', (event) => renderCart(event.new)) // hears the other tabs
 * ```
 * @category Realtime
 */
export class BroadcastChannelTransport implements RealtimeTransport {
  /** The channel name. */
  readonly name: string;
  private channel: BroadcastChannel | undefined;
  private used = false;
  private removePageShow: (() => void) | undefined;

  /**
   * @param name - the channel name; every transport with this name in the origin is connected
   * @throws TypeError when `name` is not a non-empty string; a `ClosedLoopError` (code
   *   `REALTIME_UNSUPPORTED`) when the platform has no `BroadcastChannel`
   */
  constructor(name: string) {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError('closed-loop: BroadcastChannelTransport(name): `name` must be a non-empty string');
    }
    if (typeof (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel !== 'function') {
      throw new ClosedLoopError(
        'closed-loop: BroadcastChannelTransport needs globalThis.BroadcastChannel (browsers, workers and Node have it); this environment has none',
        'REALTIME_UNSUPPORTED',
      );
    }
    this.name = name;
  }

  /** {@inheritDoc RealtimeTransport.connect} */
  connect(listener: RealtimeTransportListener): void {
    // A channel does not hear itself, so two services on one instance would not hear each other.
    if (this.used) {
      throw new Error('closed-loop: a BroadcastChannelTransport serves one service; create one per service');
    }
    this.used = true;
    const channel = new BroadcastChannel(this.name);
    channel.onmessage = (message: MessageEvent) => listener.onEvent(message.data as ChangeEvent);
    // A message that cannot be deserialised here has nothing to deliver; the sender's tab is fine.
    channel.onmessageerror = null;
    // Node: an open channel would keep the process alive; nobody awaits it.
    (channel as { unref?: () => void }).unref?.();
    this.channel = channel;
    this.watchPageRestore(listener);
    listener.onStatus('connected');
  }

  /** {@inheritDoc RealtimeTransport.publish} */
  publish(event: ChangeEvent): void {
    if (this.channel === undefined) {
      throw new Error(`closed-loop: BroadcastChannelTransport ${JSON.stringify(this.name)} is not connected`);
    }
    this.channel.postMessage(event);
  }

  /** {@inheritDoc RealtimeTransport.close} */
  close(): void {
    this.used = true;
    this.removePageShow?.();
    this.removePageShow = undefined;
    this.channel?.close();
    this.channel = undefined;
  }

  // A page restored from the back/forward cache was frozen: messages sent meanwhile are gone.
  private watchPageRestore(listener: RealtimeTransportListener): void {
    const target = globalThis as { addEventListener?: unknown; removeEventListener?: unknown; onpageshow?: unknown };
    if (!('onpageshow' in target) || typeof target.addEventListener !== 'function') return;
    const onPageShow = (event: Event): void => {
      if ((event as Event & { persisted?: boolean }).persisted && this.channel !== undefined) listener.onStatus('resynced');
    };
    globalThis.addEventListener('pageshow', onPageShow);
    this.removePageShow = () => globalThis.removeEventListener('pageshow', onPageShow);
  }
}
