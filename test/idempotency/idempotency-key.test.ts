import { describe, expect, test, vi } from 'vitest';
import { createIdempotencyKey } from '../../src/index.js';

// 8-4-4-4-12 lower-case hex; version nibble 7; variant bits 10 (8, 9, a or b).
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit Unix-ms timestamp a UUID v7 starts with. */
function timestampOf(key: string): number {
  return Number.parseInt(key.replace(/-/g, '').slice(0, 12), 16);
}

describe('createIdempotencyKey', () => {
  test('is a UUID v7 as lower-case text', () => {
    const key = createIdempotencyKey();
    expect(typeof key).toBe('string');
    expect(key).toHaveLength(36);
    expect(key).toMatch(UUID_V7);
  });

  test('the version nibble is 7 and the variant is RFC 9562 (10xx) on every key', () => {
    for (let i = 0; i < 1000; i++) {
      const key = createIdempotencyKey();
      expect(key[14]).toBe('7');
      expect(Number.parseInt(key[19]!, 16) >> 2).toBe(0b10);
      expect(key).toMatch(UUID_V7);
    }
  });

  test('10 000 keys are all distinct', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 10_000; i++) keys.add(createIdempotencyKey());
    expect(keys.size).toBe(10_000);
  });

  test('keys made one after another sort in the order they were made', () => {
    const keys: string[] = [];
    for (let i = 0; i < 10_000; i++) keys.push(createIdempotencyKey());
    for (let i = 1; i < keys.length; i++) {
      // Strictly increasing as text (and so as bytes): within one millisecond too.
      expect(keys[i]! > keys[i - 1]!, `key ${i} sorts after key ${i - 1}`).toBe(true);
    }
    expect([...keys].sort()).toEqual(keys);
  });

  test('the embedded timestamp is the time the key was made (Unix ms)', () => {
    const before = Date.now();
    const key = createIdempotencyKey();
    const after = Date.now();
    const at = timestampOf(key);
    // A generator keeps keys monotonic by borrowing a millisecond or so when many are made at once.
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after + 5);
  });

  test('a key made in a later millisecond sorts after one made earlier', () => {
    const first = createIdempotencyKey();
    const firstAt = timestampOf(first);
    // Spin (no sleeping, no timers) until the clock has moved past the first key's millisecond.
    let later = createIdempotencyKey();
    while (timestampOf(later) <= firstAt + 1) later = createIdempotencyKey();
    expect(later > first).toBe(true);
    expect(timestampOf(later)).toBeGreaterThan(firstAt);
  });

  test('when the system clock goes back, keys keep the last millisecond and still sort after the earlier ones', () => {
    const start = Date.now() + 60_000;
    const now = vi.spyOn(Date, 'now').mockReturnValue(start);
    try {
      const first = createIdempotencyKey();
      now.mockReturnValue(start - 5_000);
      const keys = [first];
      for (let i = 0; i < 1000; i++) keys.push(createIdempotencyKey());
      expect([...keys].sort()).toEqual(keys);
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.map(timestampOf).every((at) => at === start)).toBe(true);
      for (const key of keys) expect(key).toMatch(UUID_V7);
      // Once the clock is past that millisecond again, keys carry the new time.
      now.mockReturnValue(start + 1);
      const after = createIdempotencyKey();
      expect(timestampOf(after)).toBe(start + 1);
      expect(after > keys.at(-1)!).toBe(true);
    } finally {
      now.mockRestore();
    }
  });
});
