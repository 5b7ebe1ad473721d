import { sha256 } from './sha256.js';

/** What {@link fingerprintRequest} hashes. @category Idempotency */
export interface FingerprintInput {
  /** The HTTP method; case does not matter. */
  method: string;
  /** The concrete path, without the query string. */
  path: string;
  /**
   * The request body: a parsed value (object, array, primitive), or the raw text or bytes. Text
   * and bytes that hold JSON are parsed, so key order and whitespace never matter; other text is
   * hashed as it is.
   */
  body?: unknown;
}

// Fatal: bytes that are not UTF-8 must not be decoded lossily (every bad byte would become U+FFFD,
// so different binary bodies would share a fingerprint).
const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });

/**
 * A fingerprint of a request, to tell a retry (same fingerprint) from a different request reusing
 * the key (a 422). SHA-256 as hex over the upper-cased method, the path and the canonical JSON of
 * the body (object keys sorted at every depth, no whitespace), computed synchronously.
 *
 * @param input - method, path and body
 * @param hash - a SHA-256 of a string (UTF-8) as lower-case hex; the result must equal the
 *   built-in one, so fingerprints agree across servers. Default: the runtime's own `crypto.hash`
 *   where it has one (Node, Bun, Deno), else a pure-JS SHA-256.
 * @returns 64 hex characters
 * @category Idempotency
 */
export function fingerprintRequest(input: FingerprintInput, hash: (text: string) => string = sha256): string {
  return hash(`${input.method.toUpperCase()}\n${input.path}\n${canonicalBody(input.body)}`);
}

function canonicalBody(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return canonicalText(body);
  if (body instanceof ArrayBuffer) return canonicalBytes(new Uint8Array(body));
  if (ArrayBuffer.isView(body)) return canonicalBytes(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
  return canonicalJson(body, 0);
}

function canonicalBytes(bytes: Uint8Array): string {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    // Not UTF-8 text: binary, hashed byte for byte.
    return `bytes:${sha256(bytes)}`;
  }
  return canonicalText(text);
}

// What JSON text can start with, after its whitespace.
const JSON_START = /^[\s]*[{["\-0-9tfn]/;

function canonicalText(text: string): string {
  if (text.trim() === '') return '';
  if (JSON_START.test(text)) {
    try {
      const parsed: unknown = JSON.parse(text);
      // JSON null is no body, as a null body is.
      return parsed === null ? '' : canonicalJson(parsed, 0);
    } catch {
      // Not JSON after all (or nested too deeply): hash the text as it is.
    }
  }
  return `text:${text}`;
}

/** JSON with sorted object keys; values JSON cannot hold are dropped as JSON.stringify drops them. */
function canonicalJson(value: unknown, depth: number): string {
  if (depth > 256) throw new TypeError('closed-loop: request body is nested too deeply to fingerprint');
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      // As JSON.stringify writes numbers: non-finite ones are null.
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return JSON.stringify(value) ?? 'null';
  }
  if (value === null) return 'null';
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return canonicalJson(withToJson.toJSON(), depth + 1);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out += item === undefined || typeof item === 'function' || typeof item === 'symbol' ? 'null' : canonicalJson(item, depth + 1);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = sortKeys(Object.keys(record));
  let out = '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = record[key];
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    if (!first) out += ',';
    first = false;
    out += `${quote(key)}:${canonicalJson(item, depth + 1)}`;
  }
  return `${out}}`;
}

// Array#sort allocates working storage on every call; the few keys of a request body are sorted in
// place. Both orders compare UTF-16 code units, so the result is the same.
function sortKeys(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

/** A string as JSON.stringify writes it; the common string (printable ASCII, nothing to escape) without its call. */
function quote(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return JSON.stringify(text);
  }
  return `"${text}"`;
}
