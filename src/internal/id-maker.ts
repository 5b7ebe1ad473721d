/**
 * A maker of ids `<prefix><n>`, n counting up from 1 in base 36: unique wherever `prefix` is (a
 * UUID per owner), for a string concatenation instead of a fresh UUID per id. The lease ids of the
 * memory and Redis idempotency stores. (The realtime event ids keep their own table of suffixes,
 * src/realtime/event-id.ts: on a publish, formatting the number showed in the bench.)
 *
 * @internal
 */
export function idMaker(prefix: string): () => string {
  let n = 0;
  return () => prefix + (++n).toString(36);
}
