import type {
  ChangeEvent,
  RealtimeStatus,
  RealtimeTransport,
  RealtimeTransportListener,
} from '../../src/index.js';

/**
 * A transport the test drives: it records what the service hands it, and lets the test deliver
 * events and statuses as a real connection would. It does not report `connected` by itself.
 */
export class FakeTransport implements RealtimeTransport {
  listener: RealtimeTransportListener | undefined;
  readonly published: ChangeEvent[] = [];
  readonly calls: string[] = [];
  closed = 0;
  /** Makes `publish` fail: a thrown error, or a rejected promise. */
  publishFails: { error: unknown; async: boolean } | undefined;
  /** Echo every published event back as a copy (as a network bus would), right away or later. */
  echo: 'none' | 'sync' | 'microtask' = 'none';

  connect(listener: RealtimeTransportListener): void {
    this.calls.push('connect');
    this.listener = listener;
  }

  publish(event: ChangeEvent): void | Promise<void> {
    this.published.push(event);
    if (this.publishFails) {
      if (this.publishFails.async) return Promise.reject(this.publishFails.error);
      throw this.publishFails.error;
    }
    const copy = JSON.parse(JSON.stringify(event)) as ChangeEvent;
    if (this.echo === 'sync') this.listener!.onEvent(copy);
    if (this.echo === 'microtask') queueMicrotask(() => this.listener!.onEvent(copy));
  }

  watch(topic: string): void {
    this.calls.push(`watch ${topic}`);
  }

  unwatch(topic: string): void {
    this.calls.push(`unwatch ${topic}`);
  }

  close(): void | Promise<void> {
    this.closed++;
    this.calls.push('close');
  }

  /** Delivers an event as if it came from another service. */
  deliver(event: unknown): void {
    this.listener!.onEvent(event as ChangeEvent);
  }

  status(status: RealtimeStatus): void {
    this.listener!.onStatus(status);
  }
}

let counter = 0;

/** A change event from "elsewhere", with a fresh id unless one is given. */
export function remoteEvent<T>(topic: string, fields: Partial<ChangeEvent<T>> = {}): ChangeEvent<T> {
  counter++;
  return { topic, type: 'UPDATE', timestamp: 1_000, eventId: `remote-${counter}`, ...fields };
}
