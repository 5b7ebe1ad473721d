/**
 * The message of a caught value, for a message of our own that quotes it: an `Error`'s `message`,
 * anything else as a string.
 *
 * @internal
 */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
