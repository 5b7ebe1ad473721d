/**
 * The ids of the last `limit` events from elsewhere, to drop duplicates: a Set to look up, a ring to
 * forget the oldest. A duplicate older than that many events gets through again.
 */
export class DedupeWindow {
  private readonly seen = new Set<string>();
  private readonly ring: string[] = [];
  private ringPos = 0;

  /** @param limit - how many ids to remember (at least 1) */
  constructor(private readonly limit: number) {}

  /** Whether `eventId` is among the remembered ids. */
  has(eventId: string): boolean {
    return this.seen.has(eventId);
  }

  /** Remembers `eventId`, forgetting the oldest id once the window is full. */
  remember(eventId: string): void {
    const ring = this.ring;
    if (ring.length < this.limit) {
      ring.push(eventId);
    } else {
      this.seen.delete(ring[this.ringPos]!);
      ring[this.ringPos] = eventId;
      this.ringPos = this.ringPos + 1 === this.limit ? 0 : this.ringPos + 1;
    }
    this.seen.add(eventId);
  }

  /** Forgets every id (the service is destroyed). */
  clear(): void {
    this.seen.clear();
    this.ring.length = 0;
  }
}
