// The Express adapter fingerprints with Node's SHA-256 for speed. Servers that mix it with the
// core's pure-JS SHA-256 (or a browser-side check) must agree, or a retry would get a false 422.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fingerprintRequest } from 'closed-loop';

const nodeSha256 = (text: string) => createHash('sha256').update(text).digest('hex');

test('fingerprintRequest gives the same hex with Node crypto as with the built-in SHA-256', () => {
  fc.assert(
    fc.property(fc.constantFrom('POST', 'put', 'PATCH'), fc.string({ unit: 'grapheme' }), fc.jsonValue(), (method, path, body) => {
      const input = { method, path: `/${path}`, body };
      expect(fingerprintRequest(input, nodeSha256)).toBe(fingerprintRequest(input));
    }),
    { numRuns: 300 },
  );
});

test('a custom hash is used', () => {
  expect(fingerprintRequest({ method: 'POST', path: '/x', body: { a: 1 } }, () => 'custom')).toBe('custom');
});
