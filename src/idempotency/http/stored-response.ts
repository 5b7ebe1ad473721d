/**
 * A response as a server adapter stores it for replay: JSON-serialisable, so any store (Redis
 * included) can hold it, and the same for every adapter, so an Express and a fetch server can share
 * one store.
 *
 * @category Idempotency
 */
export interface StoredHttpResponse {
  /** The HTTP status. */
  status: number;
  /** Replayed headers, names in lower case: `content-type` and the allow-listed ones. */
  headers: Record<string, string | string[]>;
  /** The body: base64 bytes, or the text itself when `encoding` is `'utf8'`. Empty when `bodyOmitted`. */
  body: string;
  /**
   * How `body` is held: `'base64'` (the default when absent) or `'utf8'`, for a body that is valid
   * UTF-8 (JSON, HTML), which is stored and replayed as it is, with no copy to bytes.
   */
  encoding?: 'base64' | 'utf8';
  /** True when the body was larger than `maxResponseBytes` and was not stored. */
  bodyOmitted?: boolean;
}

/**
 * Whether a response with this status carries no body, whatever the handler wrote: 1xx, 204, 205
 * and 304. Such a response is stored and replayed with an empty body.
 *
 * @param status - the HTTP status
 * @category Idempotency
 */
export function statusHasNoBody(status: number): boolean {
  return status < 200 || status === 204 || status === 205 || status === 304;
}

/**
 * `value` as a {@link StoredHttpResponse} when it has that shape, else `undefined` (a record
 * written by something else, or damaged): an adapter answers that with 503 `STORE_UNAVAILABLE`
 * rather than replaying it.
 *
 * @param value - what the store gave back
 * @category Idempotency
 */
export function readStoredResponse(value: unknown): StoredHttpResponse | undefined {
  const v = value as Partial<StoredHttpResponse> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.status !== 'number' ||
    typeof v.body !== 'string' ||
    typeof v.headers !== 'object' ||
    v.headers === null ||
    (v.encoding !== undefined && v.encoding !== 'utf8' && v.encoding !== 'base64')
  ) {
    return undefined;
  }
  return v as StoredHttpResponse;
}

/**
 * The body a replay sends: the stored text (`encoding: 'utf8'`), the decoded bytes (base64), or
 * `''` for an empty or omitted body.
 *
 * @param stored - the stored response
 * @category Idempotency
 */
export function storedBody(stored: StoredHttpResponse): string | Uint8Array {
  if (stored.bodyOmitted || stored.body === '' || stored.encoding === 'utf8') return stored.body;
  return base64ToBytes(stored.body);
}

/**
 * A stored response with `body` as its body: text as it is (`encoding: 'utf8'`), bytes as text when
 * they are valid UTF-8 (a third smaller than base64, and replayed without a decode) and as base64
 * otherwise. A body over `maxBytes` is left out (`bodyOmitted`), and so is the `Content-Type` that
 * would announce it; a status without a body ({@link statusHasNoBody}) gets an empty one.
 *
 * @param status - the HTTP status
 * @param headers - the replayed headers, names in lower case (see {@link pickReplayedHeaders})
 * @param body - the body as text or bytes; `undefined` for none
 * @param maxBytes - the largest body stored, in bytes
 * @category Idempotency
 */
export function toStoredResponse(
  status: number,
  headers: Record<string, string | string[]>,
  body: string | Uint8Array | undefined,
  maxBytes: number,
): StoredHttpResponse {
  if (body === undefined || statusHasNoBody(status)) return { status, headers, body: '' };
  const size = typeof body === 'string' ? utf8Length(body) : body.byteLength;
  if (size > maxBytes) return omittedBody(status, headers);
  return withBody(status, headers, body);
}

/**
 * A stored response with `body`, encoded: text as it is, bytes as text when they are valid UTF-8,
 * else as base64. No size check.
 *
 * @internal
 */
export function withBody(status: number, headers: Record<string, string | string[]>, body: string | Uint8Array): StoredHttpResponse {
  if (body.length === 0) return { status, headers, body: '' };
  if (typeof body === 'string') return { status, headers, body, encoding: 'utf8' };
  const text = utf8Text(body);
  return text !== undefined ? { status, headers, body: text, encoding: 'utf8' } : { status, headers, body: bytesToBase64(body) };
}

/**
 * A stored response whose body was too large to keep: no body, no `Content-Type`, `bodyOmitted`.
 *
 * @internal
 */
export function omittedBody(status: number, headers: Record<string, string | string[]>): StoredHttpResponse {
  const { 'content-type': _dropped, ...rest } = headers;
  return { status, headers: rest, body: '', bodyOmitted: true };
}

// Fatal, so bytes that are not UTF-8 are kept as base64 rather than decoded lossily; ignoreBOM, so
// a leading byte order mark is kept as text and comes back as the same bytes.
const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `bytes` as text when they are valid UTF-8, else `undefined`. */
function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The UTF-8 size of `text` in bytes, without encoding it.
 *
 * @internal
 */
export function utf8Length(text: string): number {
  let size = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) size += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two UTF-16 units, four bytes.
      size += 2;
      i++;
    } else size += 2;
  }
  return size;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  // In slices: fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[]);
  }
  return btoa(binary);
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
