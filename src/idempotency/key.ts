import { v7 as uuidv7 } from 'uuid';
import { IdempotencyError } from '../errors/errors.js';

/**
 * A fresh idempotency key: a UUID v7 (time-ordered, 122 bits of which 74 random), as text.
 *
 * @example
 * ```ts
 * const key = createIdempotencyKey() // '01936f0e-8d4b-7c3a-9f1e-2b5d8a6c4e10'
 * await fetch('/orders', { method: 'POST', headers: { 'Idempotency-Key': key }, body })
 * ```
 * @category Idempotency
 */
export function createIdempotencyKey(): string {
  return uuidv7();
}

/** Options of {@link parseIdempotencyKey}. @category Idempotency */
export interface ParseIdempotencyKeyOptions {
  /** Longest key accepted, in characters. Default 255. */
  maxLength?: number;
}

// Visible ASCII (0x21-0x7E) except the separators of a header list. Anything else in a bare key
// (spaces, commas between two values, control characters, non-ASCII) makes it malformed.
const BARE_KEY = /^[\x21-\x7e]+$/;

/**
 * Reads an `Idempotency-Key` header value: the structured-field string form (`"abc"`) or a bare
 * token (`abc`). Returns `undefined` when the header is absent; throws {@link IdempotencyError}
 * `KEY_INVALID` when it is empty, longer than `maxLength`, malformed (control characters, an
 * unterminated string) or holds more than one value (a repeated header, or a list).
 *
 * @param value - the raw header value, or the list of values when the header was repeated
 * @param options - `maxLength` (default 255)
 * @returns the key, or `undefined` when no header was sent
 * @category Idempotency
 */
export function parseIdempotencyKey(
  value: string | readonly string[] | undefined | null,
  options: ParseIdempotencyKeyOptions = {},
): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    if (value.length === 0) return undefined;
    if (value.length > 1) throw invalid('more than one Idempotency-Key value was sent');
    value = value[0]!;
  }
  const maxLength = options.maxLength ?? 255;
  // Only spaces and tabs are optional whitespace around a header value (RFC 9110); String#trim
  // would also strip control and non-ASCII characters (\v, \f, NBSP, BOM...) that make a key malformed.
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  // Replaced only when there is whitespace to strip: the common key has none.
  const text = first === 32 || first === 9 || last === 32 || last === 9 ? value.replace(/^[ \t]+|[ \t]+$/g, '') : value;
  if (text === '') throw invalid('the Idempotency-Key is empty');
  let key: string;
  if (text.startsWith('"')) {
    key = parseQuoted(text);
  } else {
    if (text.includes(',')) throw invalid('more than one Idempotency-Key value was sent');
    if (!BARE_KEY.test(text)) throw invalid('the Idempotency-Key holds spaces, control or non-ASCII characters');
    key = text;
  }
  if (key === '') throw invalid('the Idempotency-Key is empty');
  if (key.length > maxLength) throw invalid(`the Idempotency-Key is longer than ${maxLength} characters`);
  return key;
}

// RFC 8941 sf-string: printable ASCII between double quotes, with \" and \\ as the only escapes.
function parseQuoted(text: string): string {
  let key = '';
  for (let i = 1; i < text.length; i++) {
    const ch = text[i]!;
    const code = ch.charCodeAt(0);
    if (ch === '\\') {
      const next = text[++i];
      if (next !== '"' && next !== '\\') throw invalid('the Idempotency-Key has a bad escape');
      key += next;
    } else if (ch === '"') {
      if (i !== text.length - 1) {
        throw invalid(
          text.slice(i + 1).trimStart().startsWith(',')
            ? 'more than one Idempotency-Key value was sent'
            : 'the Idempotency-Key has characters after its closing quote',
        );
      }
      return key;
    } else if (code < 0x20 || code > 0x7e) {
      throw invalid('the Idempotency-Key holds control or non-ASCII characters');
    } else {
      key += ch;
    }
  }
  throw invalid('the Idempotency-Key string is not terminated');
}

function invalid(message: string): IdempotencyError {
  return new IdempotencyError('KEY_INVALID', message);
}
