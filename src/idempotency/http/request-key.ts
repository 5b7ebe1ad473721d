import { IdempotencyError } from '../../errors/errors.js';
import { parseIdempotencyKey } from '../key.js';

/**
 * The legacy request header that carries a key too, in lower case: `x-idempotency-key`.
 *
 * @category Idempotency
 */
export const LEGACY_KEY_HEADER = 'x-idempotency-key';

/**
 * The lower-case header names a key is read from: `header` and, unless it is the legacy one
 * itself, {@link LEGACY_KEY_HEADER}.
 *
 * @param header - the configured header name, any case (default `'Idempotency-Key'`)
 * @throws TypeError when `header` is empty
 * @category Idempotency
 */
export function keyHeaderNames(header = 'Idempotency-Key'): readonly string[] {
  const name = header.toLowerCase();
  if (name === '') throw new TypeError('closed-loop: `header` must be a header name');
  return name === LEGACY_KEY_HEADER ? [name] : [name, LEGACY_KEY_HEADER];
}

/**
 * Reads a request's idempotency key from the first header of `names` that has one, with
 * {@link parseIdempotencyKey} (the structured-field string `"abc"` or a bare token). Two headers
 * with different keys are refused.
 *
 * @param read - the request's value of a header (lower-case name): the value, the list of values
 *   when the header was repeated, or `undefined`/`null` when absent
 * @param names - from {@link keyHeaderNames}
 * @param maxLength - the longest key accepted
 * @returns the key, or `undefined` when no header carries one
 * @throws IdempotencyError `KEY_INVALID` for an empty, too long, malformed or repeated key, or two different keys
 * @category Idempotency
 */
export function readIdempotencyKey(
  read: (name: string) => string | readonly string[] | null | undefined,
  names: readonly string[],
  maxLength: number,
): string | undefined {
  let found: string | undefined;
  for (const name of names) {
    const key = parseIdempotencyKey(read(name), { maxLength });
    if (key === undefined) continue;
    if (found !== undefined && found !== key) {
      throw new IdempotencyError('KEY_INVALID', 'Idempotency-Key and X-Idempotency-Key carry different keys');
    }
    found = key;
  }
  return found;
}

/**
 * The key under which a request's record is stored. Everything before the first `:` is the
 * percent-encoded scope (empty for none), so no (scope, key) pair can collide with another, scoped
 * or not.
 *
 * @param scope - the request's key space (a user, a tenant); empty, `null` or `undefined` for the shared one
 * @param key - the idempotency key
 * @category Idempotency
 */
export function scopedIdempotencyKey(scope: string | null | undefined, key: string): string {
  return `${scope ? encodeURIComponent(scope) : ''}:${key}`;
}
