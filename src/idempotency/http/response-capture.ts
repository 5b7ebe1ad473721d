import { type StoredHttpResponse, omittedBody, statusHasNoBody, utf8Length, withBody } from './stored-response.js';

/**
 * The body of a response as it goes out, kept for storing: every chunk the handler sends, up to
 * `maxBytes`. Past that the capture lets go of what it holds and remembers only that the body was
 * too large (the client still gets every byte: the capture only watches).
 *
 * Text stays text as long as only text arrives (no copy to bytes); from the first byte chunk on,
 * chunks are kept as bytes. {@link HeldHttpResponse} extends it with the lease and the rules of
 * what is stored.
 *
 * @category Idempotency
 */
export class ResponseCapture {
  /** True once the body went over `maxBytes`: it is stored without its body. */
  omitted = false;
  private text = '';
  private chunks: Uint8Array[] | undefined;
  private size = 0;

  /** @param maxBytes - the largest body kept, in bytes */
  constructor(readonly maxBytes: number) {}

  /**
   * Adds a chunk of the body: UTF-8 text, or bytes.
   *
   * @param chunk - the chunk as sent
   * @param copy - copy bytes rather than keep them (the sender may reuse its buffer once the write
   *   returns, as Node's `write` allows)
   */
  add(chunk: string | Uint8Array, copy = false): void {
    if (this.omitted) return;
    if (typeof chunk === 'string') {
      const size = this.size + utf8Length(chunk);
      if (size > this.maxBytes) {
        this.omit();
        return;
      }
      this.size = size;
      if (this.chunks === undefined) this.text += chunk;
      else this.chunks.push(new TextEncoder().encode(chunk));
      return;
    }
    const size = this.size + chunk.byteLength;
    if (size > this.maxBytes) {
      this.omit();
      return;
    }
    this.size = size;
    if (this.chunks === undefined) {
      this.chunks = this.text === '' ? [] : [new TextEncoder().encode(this.text)];
      this.text = '';
    }
    this.chunks.push(copy ? chunk.slice() : chunk);
  }

  /**
   * The response as stored: `status`, `headers`, and the body captured (empty for a status that
   * has none, left out when it went over `maxBytes`).
   *
   * @param status - the HTTP status
   * @param headers - the replayed headers, names in lower case
   */
  stored(status: number, headers: Record<string, string | string[]>): StoredHttpResponse {
    if (statusHasNoBody(status)) return { status, headers, body: '' };
    const body = this.capturedBody();
    return body === undefined ? omittedBody(status, headers) : withBody(status, headers, body);
  }

  /**
   * The body captured so far, as one piece: the text while only text arrived, else the bytes
   * joined (once: the joined bytes replace the chunks). An adapter that has gathered a whole body
   * can send this same piece; `undefined` once the body went over `maxBytes`.
   */
  capturedBody(): string | Uint8Array | undefined {
    if (this.omitted) return undefined;
    const chunks = this.chunks;
    if (chunks === undefined) return this.text;
    if (chunks.length === 1) return chunks[0]!;
    const joined = concat(chunks, this.size);
    this.chunks = [joined];
    return joined;
  }

  private omit(): void {
    this.omitted = true;
    this.chunks = undefined;
    this.text = '';
  }
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}
