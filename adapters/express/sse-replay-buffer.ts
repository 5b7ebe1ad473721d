import { randomUUID } from 'node:crypto';

/** One buffered event: its position, its id (when resumable), its topic and its ready-made frame. */
export interface ReplayEntry {
  seq: number;
  id: string | undefined;
  topic: string;
  frame: string;
}

/**
 * The ring of the last `capacity` events, indexed by event id: where a client that resumes with
 * `Last-Event-ID` stands, and what it missed. Positions (`seq`) count every event the handler has
 * seen; position -1 is "before the first event".
 */
export class ReplayBuffer {
  /**
   * Stands for position -1 while no event has an id yet. Unique per buffer, so a resume from it on
   * another instance or after a restart gets a resync.
   */
  readonly origin = `sse-origin-${randomUUID()}`;
  /** The position the next event gets. */
  next = 0;
  private readonly ring: Array<ReplayEntry | undefined>;
  private readonly byId = new Map<string, number>();

  constructor(private readonly capacity: number) {
    this.ring = new Array<ReplayEntry | undefined>(capacity);
  }

  /** The oldest position still held (equals `next` when the buffer is empty). */
  get oldest(): number {
    return Math.max(0, this.next - this.capacity);
  }

  /** Takes the next event; the oldest one drops out when the ring is full. */
  push(id: string | undefined, topic: string, frame: string): ReplayEntry {
    const entry: ReplayEntry = { seq: this.next++, id, topic, frame };
    if (this.capacity === 0) return entry;
    const slot = entry.seq % this.capacity;
    const evicted = this.ring[slot];
    if (evicted?.id !== undefined && this.byId.get(evicted.id) === evicted.seq) this.byId.delete(evicted.id);
    this.ring[slot] = entry;
    if (id !== undefined) this.byId.set(id, entry.seq);
    return entry;
  }

  /**
   * The position a client's last event id stands for (-1 for the origin while nothing was evicted),
   * or undefined when the id is unknown or was evicted.
   */
  positionOf(id: string): number | undefined {
    if (id === this.origin) return this.oldest === 0 ? -1 : undefined;
    const seq = this.byId.get(id);
    return seq !== undefined && seq >= this.oldest ? seq : undefined;
  }

  /** The held entries after position `seq`, oldest first. */
  *after(seq: number): Generator<ReplayEntry> {
    for (let s = Math.max(seq + 1, this.oldest); s < this.next; s++) yield this.ring[s % this.capacity]!;
  }

  /**
   * The latest point a client can resume from: the newest held event with an id, else the origin
   * (while nothing was evicted, standing for the newest position), else undefined.
   */
  cursor(): { id: string; seq: number } | undefined {
    for (let s = this.next - 1; s >= this.oldest; s--) {
      const entry = this.ring[s % this.capacity]!;
      if (entry.id !== undefined) return { id: entry.id, seq: entry.seq };
    }
    if (this.oldest === 0) return { id: this.origin, seq: this.next - 1 };
    return undefined;
  }
}
