// The HTTP rules of idempotency in the core, without a server: what is stored and how, which
// headers replay, the release rule, problem+json answers, key reading and scoping, and option
// validation. Runs in Node and in Chromium (the core is framework-free). The adapters' behaviours
// over real HTTP are in test/express, test/fetch and test/hono.
import { describe, expect, test } from 'vitest';
import {
  HeldHttpResponse,
  HttpIdempotency,
  IdempotencyError,
  ManualClock,
  MemoryIdempotencyStore,
  ResponseCapture,
  isIdempotencyError,
  pickReplayedHeaders,
  problemAnswer,
  readIdempotencyKey,
  readStoredResponse,
  refusalAnswer,
  replayHeaders,
  replayedHeaderNames,
  retryAfterSeconds,
  scopedIdempotencyKey,
  keyHeaderNames,
  storableHeaders,
  storedBody,
  toStoredResponse,
  type IdempotencyLease,
  type StoredHttpResponse,
} from 'closed-loop';

const bytes = (...values: number[]) => new Uint8Array(values);

describe('the stored response', () => {
  test('text is stored as text, UTF-8 bytes as text (BOM kept), other bytes as base64; each comes back as sent', () => {
    const text = toStoredResponse(201, {}, 'h\u00e9llo \u2713', 1024);
    expect(text).toEqual({ status: 201, headers: {}, body: 'h\u00e9llo \u2713', encoding: 'utf8' });
    const utf8 = new TextEncoder().encode('\ufeffb\u00f6m');
    const fromBytes = toStoredResponse(200, {}, utf8, 1024);
    expect(fromBytes.encoding).toBe('utf8');
    expect(new TextEncoder().encode(storedBody(fromBytes) as string)).toEqual(utf8);
    const binary = bytes(0, 255, 128, 10);
    const base64 = toStoredResponse(200, {}, binary, 1024);
    expect(base64.encoding).toBeUndefined();
    expect(storedBody(base64)).toEqual(binary);
  });

  test('204, 205, 304 and 1xx keep no body; over maxBytes the body and its Content-Type are left out', () => {
    for (const status of [101, 204, 205, 304]) expect(toStoredResponse(status, {}, 'x', 10).body).toBe('');
    const big = toStoredResponse(200, { 'content-type': 'text/plain', location: '/a' }, '\u00e9'.repeat(6), 11);
    expect(big).toEqual({ status: 200, headers: { location: '/a' }, body: '', bodyOmitted: true });
    expect(toStoredResponse(200, {}, '\u00e9'.repeat(6), 12).body).toBe('\u00e9'.repeat(6));
  });

  test('a record of another shape is not a stored response', () => {
    expect(readStoredResponse({ status: 200, headers: {}, body: '' })).toBeDefined();
    for (const bad of [null, 'x', { status: '200', headers: {}, body: '' }, { status: 200, body: '' }, { status: 200, headers: {}, body: '', encoding: 'hex' }]) {
      expect(readStoredResponse(bad)).toBeUndefined();
    }
  });

  test('the capture keeps text and bytes in order up to maxBytes, then lets go of them', () => {
    const capture = new ResponseCapture(8);
    capture.add('ab');
    capture.add(bytes(0x63, 0x64));
    capture.add('\u00e9');
    expect(capture.stored(200, {})).toEqual({ status: 200, headers: {}, body: 'abcd\u00e9', encoding: 'utf8' });
    capture.add('xyz');
    expect(capture.omitted).toBe(true);
    expect(capture.stored(200, {}).bodyOmitted).toBe(true);
  });
});

describe('replayed headers', () => {
  test('the allow-list plus replayHeaders, never cookies, dates, request ids or framing', () => {
    const names = replayedHeaderNames(['X-Custom', 'Set-Cookie', 'Date', 'X-Request-ID', 'Content-Length']);
    expect(names).toEqual(['content-type', 'location', 'content-location', 'etag', 'last-modified', 'x-custom']);
    const picked = pickReplayedHeaders(names, (name) => ({ 'content-type': 'text/plain', etag: '"1"', 'x-custom': 7 })[name]);
    expect(picked).toEqual({ 'content-type': 'text/plain', etag: '"1"', 'x-custom': '7' });
    expect(storableHeaders({ Location: '/a', 'Set-Cookie': 'a=1', 'X-Count': 3 })).toEqual({ location: '/a', 'x-count': '3' });
  });

  test('a replay carries the stored headers and its markers, whatever a record written elsewhere holds', () => {
    const stored: StoredHttpResponse = { status: 201, headers: { location: '/a', 'set-cookie': 'x=1' }, body: '', bodyOmitted: true };
    expect(replayHeaders(stored)).toEqual({ location: '/a', 'Idempotent-Replayed': 'true', 'Idempotent-Body-Omitted': 'true' });
  });
});

describe('problem+json', () => {
  test('one shape: members in order, the charset, no-store, nosniff, Retry-After in whole seconds >= 1', () => {
    const answer = problemAnswer({ status: 404, title: 'Not Found', detail: 'No order 9', instance: '/orders/9', code: 'NOT_FOUND', requestId: 'r-1', retryAfterMs: 1500 });
    expect(answer.status).toBe(404);
    expect(answer.headers).toEqual({
      'Content-Type': 'application/problem+json; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Retry-After': '2',
    });
    expect(answer.body).toBe('{"type":"about:blank","title":"Not Found","status":404,"detail":"No order 9","instance":"/orders/9","code":"NOT_FOUND","requestId":"r-1"}');
    expect([0, 1, 999, 1000, 1001].map(retryAfterSeconds)).toEqual(['1', '1', '1', '1', '2']);
  });

  test('an own absolute-URI type is kept, anything else is about:blank; the title is given, or the phrase of a refusal status', () => {
    expect(JSON.parse(problemAnswer({ status: 402, detail: 'd', type: 'https://example.com/card', title: 'Card declined' }).body)).toMatchObject({
      type: 'https://example.com/card',
      title: 'Card declined',
    });
    expect(JSON.parse(problemAnswer({ status: 402, detail: 'd', type: 'card' }).body)).toMatchObject({ type: 'about:blank', title: 'Error' });
    expect(JSON.parse(problemAnswer({ status: 422, detail: 'd' }).body).title).toBe('Unprocessable Entity');
  });

  test('a refusal is its error: status, message as detail, code, Retry-After', () => {
    const answer = refusalAnswer(new IdempotencyError('KEY_IN_USE', undefined, { retryAfterMs: 300 }), { instance: '/orders' });
    expect(answer.status).toBe(409);
    expect(answer.headers['Retry-After']).toBe('1');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 409, title: 'Conflict', code: 'KEY_IN_USE', instance: '/orders' });
  });
});

describe('keys', () => {
  test('the configured header, then the legacy one; two different keys are KEY_INVALID', () => {
    const names = keyHeaderNames('Idempotency-Key');
    expect(names).toEqual(['idempotency-key', 'x-idempotency-key']);
    expect(keyHeaderNames('X-Idempotency-Key')).toEqual(['x-idempotency-key']);
    expect(() => keyHeaderNames('')).toThrow(TypeError);
    const headers = (h: Record<string, string | undefined>) => (name: string) => h[name];
    expect(readIdempotencyKey(headers({ 'idempotency-key': '"abc"' }), names, 255)).toBe('abc');
    expect(readIdempotencyKey(headers({ 'x-idempotency-key': 'abc', 'idempotency-key': 'abc' }), names, 255)).toBe('abc');
    expect(readIdempotencyKey(headers({}), names, 255)).toBeUndefined();
    for (const bad of [{ 'idempotency-key': 'a', 'x-idempotency-key': 'b' }, { 'idempotency-key': '' }, { 'idempotency-key': 'abcd' }]) {
      let caught: unknown;
      try {
        readIdempotencyKey(headers(bad), names, 3);
      } catch (error) {
        caught = error;
      }
      expect(isIdempotencyError(caught) && caught.code).toBe('KEY_INVALID');
    }
  });

  test('scoped keys cannot collide across scopes', () => {
    expect(scopedIdempotencyKey(undefined, 'k')).toBe(':k');
    expect(scopedIdempotencyKey('', 'k')).toBe(':k');
    expect(scopedIdempotencyKey('a:b', 'c')).not.toBe(scopedIdempotencyKey('a', 'b:c'));
  });
});

describe('HttpIdempotency', () => {
  const fingerprint = (req: { print: string }) => req.print;

  test('options are validated once, with the contract defaults', () => {
    const rules = new HttpIdempotency<{ print: string }>({}, fingerprint);
    expect(rules.handles('POST') && rules.handles('put') && rules.handles('PATCH')).toBe(true);
    expect(rules.handles('GET') || rules.handles('DELETE')).toBe(false);
    expect(rules.required).toBe(false);
    expect(rules.errors).toBe('respond');
    expect(rules.maxResponseBytes).toBe(1024 * 1024);
    expect(rules.guard.ttlMs).toBe(86_400_000);
    expect(rules.guard.leaseMs).toBe(30_000);
    expect(rules.defaultStore).toBeInstanceOf(MemoryIdempotencyStore);
    for (const bad of [{ maxKeyLength: 0 }, { maxResponseBytes: 1.5 }, { ttlMs: -1 }, { header: '' }, { errors: 'throw' }, { concurrent: 'queue' }]) {
      expect(() => new HttpIdempotency(bad as never, fingerprint)).toThrow(TypeError);
    }
  });

  test('the release rule: a 5xx or a failure releases, unless cacheServerErrors', () => {
    const rules = new HttpIdempotency<{ print: string }>({}, fingerprint);
    expect([200, 302, 404, 499].map((s) => rules.releases(s, false))).toEqual([false, false, false, false]);
    expect(rules.releases(500, false) && rules.releases(402, true)).toBe(true);
    const caching = new HttpIdempotency<{ print: string }>({ cacheServerErrors: true }, fingerprint);
    expect(caching.releases(503, true)).toBe(false);
  });

  test('a held response is stored when finished, replayed after, and released when abandoned', async () => {
    const clock = new ManualClock();
    const rules = new HttpIdempotency<{ print: string }>({ store: new MemoryIdempotencyStore({ clock }), clock }, fingerprint);
    class Held extends HeldHttpResponse<{ print: string }> {
      constructor(lease: IdempotencyLease, readonly headers: Record<string, string>) {
        super(rules, { print: 'p' }, lease);
      }
      protected header(name: string): unknown {
        return this.headers[name];
      }
      protected ready(): void {}
    }
    const req = { print: 'p' };
    const begun = await rules.begin(req, 'k1');
    if (begun.kind !== 'execute') throw new Error('expected a new key');
    const held = new Held(begun.lease, { 'content-type': 'text/plain', 'x-other': 'no' });
    held.add('done');
    expect(held.finish(201)).toBe(true);
    const again = await rules.begin(req, 'k1');
    expect(again.kind === 'replay' && rules.replayed(again.result)).toEqual({ status: 201, headers: { 'content-type': 'text/plain' }, body: 'done', encoding: 'utf8' });
    expect(() => rules.begin({ print: 'other' }, 'k1')).toThrow(expect.objectContaining({ code: 'KEY_MISMATCH' }));

    const second = await rules.begin(req, 'k2');
    if (second.kind !== 'execute') throw new Error('expected a new key');
    new Held(second.lease, {}).abandon();
    expect((await rules.begin(req, 'k2')).kind).toBe('execute');
  });
});
