import { afterEach, describe, expect, it } from 'vitest';
import { getRequestId, requestId } from '../../adapters/express/request-id.js';
import { requestId as requestIdFromEntry } from 'closed-loop/express';
import { EXPRESS_VERSIONS, serve, type Served } from './_extras.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe.each(EXPRESS_VERSIONS)('requestId() on %s', (_name, express) => {
  let served: Served | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });

  async function start(options?: Parameters<typeof requestId>[0]) {
    const app = express();
    app.use(requestIdFromEntry(options));
    app.get('/id', (req, res) => {
      res.json({ fromHelper: getRequestId(req), fromReq: (req as unknown as { id?: unknown }).id });
    });
    served = await serve(app);
    return served.url;
  }

  it('makes a UUID v7 when none is sent, sets it on the response and exposes it on the request', async () => {
    const url = await start();
    const res = await fetch(`${url}/id`);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(UUID_V7);
    expect(await res.json()).toEqual({ fromHelper: id, fromReq: id });
  });

  it('gives every request its own id', async () => {
    const url = await start();
    const ids = await Promise.all(
      Array.from({ length: 5 }, async () => (await fetch(`${url}/id`)).headers.get('x-request-id')),
    );
    expect(new Set(ids).size).toBe(5);
  });

  it('keeps a sane incoming X-Request-ID (header name matched case-insensitively)', async () => {
    const url = await start();
    const res = await fetch(`${url}/id`, { headers: { 'x-REQUEST-id': 'edge-7f3a:trace/42' } });
    expect(res.headers.get('x-request-id')).toBe('edge-7f3a:trace/42');
    expect(await res.json()).toEqual({ fromHelper: 'edge-7f3a:trace/42', fromReq: 'edge-7f3a:trace/42' });
  });

  it('keeps an id of exactly 200 characters and replaces one of 201', async () => {
    const url = await start();
    const ok = 'a'.repeat(200);
    expect((await fetch(`${url}/id`, { headers: { 'X-Request-ID': ok } })).headers.get('x-request-id')).toBe(ok);
    const tooLong = 'a'.repeat(201);
    const replaced = (await fetch(`${url}/id`, { headers: { 'X-Request-ID': tooLong } })).headers.get('x-request-id');
    expect(replaced).toMatch(UUID_V7);
  });

  it.each([
    ['a space', 'abc def'],
    ['a tab', 'abc\tdef'],
    ['non-ASCII', 'caf\u00e9'],
    ['an injection attempt', '<script>alert(1)</script> x'],
  ])('replaces an incoming id with %s by a new one', async (_label, bad) => {
    const url = await start();
    const res = await fetch(`${url}/id`, { headers: { 'X-Request-ID': bad } });
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(UUID_V7);
    expect((await res.json()).fromHelper).toBe(id);
  });

  it('replaces a repeated header (two values) by a new id', async () => {
    const url = await start();
    const headers = new Headers();
    headers.append('X-Request-ID', 'one');
    headers.append('X-Request-ID', 'two');
    const res = await fetch(`${url}/id`, { headers });
    expect(res.headers.get('x-request-id')).toMatch(UUID_V7);
  });

  it('uses a configured header name', async () => {
    const url = await start({ header: 'X-Correlation-ID' });
    const res = await fetch(`${url}/id`, { headers: { 'X-Correlation-ID': 'corr-1', 'X-Request-ID': 'other' } });
    expect(res.headers.get('x-correlation-id')).toBe('corr-1');
    expect(res.headers.get('x-request-id')).toBeNull();
    expect((await res.json()).fromHelper).toBe('corr-1');
  });

  it('ignores incoming ids with trustIncoming: false, and uses a custom generator', async () => {
    let n = 0;
    const url = await start({ trustIncoming: false, generate: () => `gen-${++n}` });
    const res = await fetch(`${url}/id`, { headers: { 'X-Request-ID': 'client-chosen' } });
    expect(res.headers.get('x-request-id')).toBe('gen-1');
  });

  it('getRequestId() is undefined when the middleware did not run', async () => {
    const app = express();
    app.get('/id', (req, res) => {
      res.json({ id: getRequestId(req) ?? null });
    });
    served = await serve(app);
    expect(await (await fetch(`${served.url}/id`)).json()).toEqual({ id: null });
  });
});

describe('requestId() options', () => {
  it('refuses an invalid header name at setup', () => {
    expect(() => requestId({ header: 'X Request ID' })).toThrow(TypeError);
    expect(() => requestId({ header: '' })).toThrow(TypeError);
  });
});
