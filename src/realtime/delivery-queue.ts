import type { ChangeEvent } from './types.js';

/**
 * Handles a service's events one at a time. An event published or received while another is being
 * delivered or sent (a subscriber that publishes; a synchronous transport delivering into a service
 * that publishes in turn) is queued and handled as soon as the current one is done, before the
 * outermost call returns. So every subscriber sees the events in one order, the transport gets them
 * in publish order, and a delivery never interleaves with another.
 */
export class DeliveryQueue {
  // `local[i]` tells whether `events[i]` goes to the transport too.
  private readonly events: ChangeEvent[] = [];
  private readonly local: boolean[] = [];
  private head = 0;
  private running = false;
  private closed = false;

  /** @param handle - delivers one event, and sends it to the transport when `local` */
  constructor(private readonly handle: (event: ChangeEvent, local: boolean) => void) {}

  /** Handles `event` now, or right after the one being handled. */
  run(event: ChangeEvent, local: boolean): void {
    if (this.running) {
      this.events.push(event);
      this.local.push(local);
      return;
    }
    this.running = true;
    try {
      this.handle(event, local);
      if (this.events.length !== 0) this.drain();
    } finally {
      this.running = false;
    }
  }

  /** Drops the queued events and handles no more (the service is destroyed). */
  close(): void {
    this.closed = true;
    this.events.length = this.local.length = this.head = 0;
  }

  private drain(): void {
    const events = this.events;
    const local = this.local;
    // An index rather than shift(): events queued meanwhile are appended and picked up in turn.
    while (this.head < events.length && !this.closed) {
      const i = this.head++;
      this.handle(events[i]!, local[i]!);
    }
    events.length = local.length = this.head = 0;
  }
}
