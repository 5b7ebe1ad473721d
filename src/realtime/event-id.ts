import { v7 as uuidv7 } from 'uuid';

// '000'..'999', the low three digits of generated event ids; made by the first service, not at import.
let idSuffixes: readonly string[] | undefined;

/**
 * The event ids of one service: a UUID per service and a counter, `<uuid>:<n>` with n at least three
 * digits. The UUID (v7: the creation time in ms and 74 random bits, the generator of idempotency
 * keys) makes the prefix unique among services, the counter makes ids unique within one: as unique
 * as a UUID per event, for a string concatenation instead of 16 random bytes (a UUID takes 150-400 ns
 * in Node, more than all the rest of a publish). The counter is a block string (prefix and thousands)
 * plus a suffix from a table of '000'..'999', so no number is formatted per event.
 *
 * Every generated id is published when it is made, so a later event carrying this prefix is a
 * duplicate (an echo): a service's own ids need no room in its dedupe window.
 */
export class EventIdGenerator {
  private readonly prefix = `${uuidv7()}:`;
  private block = this.prefix;
  private blockNumber = 0;
  private low = 0;
  private readonly suffixes = (idSuffixes ??= Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0')));

  /** A fresh id. */
  next(): string {
    if (this.low === 1000) {
      this.low = 0;
      this.block = `${this.prefix}${++this.blockNumber}`;
    }
    return this.block + this.suffixes[this.low++]!;
  }

  /** Whether `eventId` was made here: an echo of this service's own event. */
  isOwn(eventId: string): boolean {
    return eventId.startsWith(this.prefix);
  }
}
