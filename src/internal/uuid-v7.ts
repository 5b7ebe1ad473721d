// UUID v7 text (RFC 9562, 5.7), made here rather than with the uuid package: its generic options,
// byte-buffer output and rng made every bundle that makes a key about 0.28 kB (brotli) larger
// (docs/decisions.md, 23).
//
// Layout: the Unix time in ms (48 bits), the version (7), a 32-bit counter across the rest of the
// third group and the start of the fourth (after the variant bits 10), then 42 random bits. The
// counter starts at a random 31-bit value in each new millisecond and counts up within it, so ids
// made one after another sort in the order they were made (RFC 9562, 6.2, method 1); when the clock
// goes back, ids keep the last millisecond and count on, and a full counter borrows the next one.

let lastMs = -Infinity;
let counter = 0;
// Random bytes for 32 ids (16 each), drawn at once: a crypto.getRandomValues call costs
// microseconds in Node. (A literal: a bundler keeps a module-level `16 * 32` as if it had effects.)
const POOL_BYTES = 512;
let pool: Uint8Array<ArrayBuffer> | undefined;
let poolAt = POOL_BYTES;
// '00'..'ff', made on first use rather than at import.
let hexOfByte: readonly string[] | undefined;

/**
 * A fresh UUID v7 as lower-case text, later than every one made before it in this realm.
 *
 * @internal
 */
export function uuidV7(): string {
  if (poolAt === POOL_BYTES) {
    pool = crypto.getRandomValues(pool ?? new Uint8Array(POOL_BYTES));
    poolAt = 0;
  }
  const bytes = pool!.subarray(poolAt, (poolAt += 16));
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    counter = ((bytes[6]! & 0x7f) << 24) | (bytes[7]! << 16) | (bytes[8]! << 8) | bytes[9]!;
  } else {
    counter = (counter + 1) >>> 0;
    if (counter === 0) lastMs++;
  }
  let ms = lastMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (counter >>> 28);
  bytes[7] = (counter >>> 20) & 0xff;
  bytes[8] = 0x80 | ((counter >>> 14) & 0x3f);
  bytes[9] = (counter >>> 6) & 0xff;
  bytes[10] = ((counter & 0x3f) << 2) | (bytes[10]! & 0x03);
  const hex = (hexOfByte ??= Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0')));
  let text = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text += '-';
    text += hex[bytes[i]!];
  }
  return text;
}
