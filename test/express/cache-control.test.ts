import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Express, Request, Response } from 'express';
import { CACHE_PRESETS, cacheControl, errorHandler, type CachePreset } from 'closed-loop/express';
import { EXPRESS_VERSIONS, serve, type Served } from './_extras.js';

const strongEtagOf = (body: string | Buffer): string =>
  `"${createHash('sha256').update(body).digest('base64url')}"`;

// fetch adds `Cache-Control: no-cache` to a conditional request (Fetch standard, cache mode), which
// turns Express's own freshness check off; this plain client sends only the headers given, as a
// browser revalidating from its cache or a CDN does.
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const EXPECTED_PRESETS: Record<CachePreset, string> = {
  static: 'public, max-age=31536000, immutable',
  api_short: 'private, max-age=300',
  api_long: 'private, max-age=3600',
  health: 'public, max-age=30',
  immutable: 'public, max-age=86400, immutable',
  no_cache: 'no-store',
};

const JSON_BODY = { items: [1, 2, 3], name: 'caf\u00e9' };
const JSON_TEXT = JSON.stringify(JSON_BODY);

// Every way a handler can send a body; each sends `JSON_TEXT` bytes (or the bytes noted).
const SENDERS: Array<[string, (req: Request, res: Response) => void]> = [
  ['res.json', (_req, res) => void res.json(JSON_BODY)],
  ['res.send(string)', (_req, res) => void res.type('json').send(JSON_TEXT)],
  ['res.send(Buffer)', (_req, res) => void res.type('json').send(Buffer.from(JSON_TEXT))],
  ['res.end(string)', (_req, res) => void res.setHeader('Content-Type', 'application/json').end(JSON_TEXT)],
  [
    'res.write + res.end',
    (_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.write(JSON_TEXT.slice(0, 5));
      res.write(Buffer.from(JSON_TEXT.slice(5, 12)));
      res.end(JSON_TEXT.slice(12));
    },
  ],
];

describe('cacheControl() setup', () => {
  it('CACHE_PRESETS holds the six presets and is frozen', () => {
    expect({ ...CACHE_PRESETS }).toEqual(EXPECTED_PRESETS);
    expect(Object.isFrozen(CACHE_PRESETS)).toBe(true);
  });

  it('throws a TypeError for an unknown preset at setup', () => {
    expect(() => cacheControl('forever' as CachePreset)).toThrow(TypeError);
    expect(() => cacheControl('toString' as CachePreset)).toThrow(TypeError);
    expect(() => cacheControl(undefined as unknown as CachePreset)).toThrow(TypeError);
  });
});

describe.each(EXPRESS_VERSIONS)('cacheControl() on %s', (_name, express) => {
  let served: Served | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });

  async function start(setup: (app: Express) => void) {
    const app = express();
    setup(app);
    served = await serve(app);
    return served.url;
  }

  it.each(Object.entries(EXPECTED_PRESETS))('preset %s sets Cache-Control: %s on GET and HEAD', async (preset, value) => {
    const url = await start((app) => app.get('/r', cacheControl(preset as CachePreset), (_req, res) => void res.json(JSON_BODY)));
    const get = await fetch(`${url}/r`);
    expect(get.status).toBe(200);
    expect(get.headers.get('cache-control')).toBe(value);
    expect(await get.json()).toEqual(JSON_BODY);
    const head = await fetch(`${url}/r`, { method: 'HEAD' });
    expect(head.headers.get('cache-control')).toBe(value);
  });

  describe.each(SENDERS)('with %s', (_sender, handler) => {
    async function startSender() {
      return start((app) => app.get('/r', cacheControl('api_short'), handler));
    }

    it('adds a strong ETag: the SHA-256 of the body bytes', async () => {
      const url = await startSender();
      const res = await fetch(`${url}/r`);
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(strongEtagOf(JSON_TEXT));
      expect(await res.text()).toBe(JSON_TEXT);
    });

    it('answers 304 with no body for a matching If-None-Match', async () => {
      const url = await startSender();
      const etag = strongEtagOf(JSON_TEXT);
      const res = await fetch(`${url}/r`, { headers: { 'If-None-Match': etag } });
      expect(res.status).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect(res.headers.get('cache-control')).toBe(CACHE_PRESETS.api_short);
      expect(res.headers.get('content-type')).toBeNull();
      expect(await res.text()).toBe('');
    });

    it('answers 200 with the body for a mismatching If-None-Match', async () => {
      const url = await startSender();
      const res = await fetch(`${url}/r`, { headers: { 'If-None-Match': '"something-else"' } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(JSON_TEXT);
    });

    it('gives HEAD the same ETag as GET, and 304 on a match', async () => {
      const url = await startSender();
      const head = await fetch(`${url}/r`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('etag')).toBe(strongEtagOf(JSON_TEXT));
      const conditional = await fetch(`${url}/r`, { method: 'HEAD', headers: { 'If-None-Match': strongEtagOf(JSON_TEXT) } });
      expect(conditional.status).toBe(304);
    });
  });

  describe('If-None-Match forms', () => {
    const etag = strongEtagOf(JSON_TEXT);
    it.each([
      ['the weak form W/"…"', `W/${etag}`],
      ['a list', `"a", ${etag}, "b"`],
      ['a list with the weak form and odd spacing', `"a" ,W/${etag},"b,c"`],
      ['*', '*'],
    ])('answers 304 for %s', async (_label, ifNoneMatch) => {
      const url = await start((app) => app.get('/r', cacheControl('api_long'), (_req, res) => void res.json(JSON_BODY)));
      const res = await fetch(`${url}/r`, { headers: { 'If-None-Match': ifNoneMatch } });
      expect(res.status).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect(await res.text()).toBe('');
    });

    it.each([
      ['a list without it', '"a", "b"'],
      ['a quoted tag containing it unquoted', `"x${etag.slice(1, -1)}"`],
    ])('answers 200 for %s', async (_label, ifNoneMatch) => {
      const url = await start((app) => app.get('/r', cacheControl('api_long'), (_req, res) => void res.json(JSON_BODY)));
      const res = await fetch(`${url}/r`, { headers: { 'If-None-Match': ifNoneMatch } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(JSON_BODY);
    });
  });

  describe.each(SENDERS)('without Cache-Control: no-cache in the request, with %s', (_sender, handler) => {
    const etag = strongEtagOf(JSON_TEXT);
    it.each([
      ['the ETag', etag, 304],
      ['its weak form', `W/${etag}`, 304],
      ['*', '*', 304],
      ['another tag', '"other"', 200],
    ])('If-None-Match with %s (%s) answers %i with the strong ETag', async (_label, ifNoneMatch, status) => {
      const url = await start((app) => app.get('/r', cacheControl('api_short'), handler));
      const res = await rawGet(`${url}/r`, { 'If-None-Match': ifNoneMatch });
      expect(res.status).toBe(status);
      expect(res.headers.etag).toBe(etag);
      expect(res.body).toBe(status === 304 ? '' : JSON_TEXT);
    });
  });

  it('changes the ETag when the body changes', async () => {
    let version = 1;
    const url = await start((app) => app.get('/r', cacheControl('api_short'), (_req, res) => void res.json({ version })));
    const first = (await fetch(`${url}/r`)).headers.get('etag');
    expect((await fetch(`${url}/r`)).headers.get('etag')).toBe(first);
    version = 2;
    const res = await fetch(`${url}/r`, { headers: { 'If-None-Match': first! } });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).not.toBe(first);
    expect(await res.json()).toEqual({ version: 2 });
  });

  it('respects an ETag the handler set, and answers 304 on it', async () => {
    const url = await start((app) => {
      app.get('/json', cacheControl('api_short'), (_req, res) => void res.set('ETag', '"v42"').json(JSON_BODY));
      app.get('/end', cacheControl('api_short'), (_req, res) => void res.setHeader('ETag', 'W/"v7"').end('seven'));
    });
    const res = await fetch(`${url}/json`);
    expect(res.headers.get('etag')).toBe('"v42"');
    expect(await res.json()).toEqual(JSON_BODY);
    expect((await fetch(`${url}/json`, { headers: { 'If-None-Match': '"v42"' } })).status).toBe(304);
    expect((await fetch(`${url}/json`, { headers: { 'If-None-Match': 'W/"v42"' } })).status).toBe(304);
    expect((await fetch(`${url}/json`, { headers: { 'If-None-Match': '"v41"' } })).status).toBe(200);

    expect((await fetch(`${url}/end`)).headers.get('etag')).toBe('W/"v7"');
    const notModified = await fetch(`${url}/end`, { headers: { 'If-None-Match': '"v7"' } });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');
    const changed = await fetch(`${url}/end`, { headers: { 'If-None-Match': '"v6"' } });
    expect(changed.status).toBe(200);
    expect(await changed.text()).toBe('seven');
  });

  it('answers 304 for If-Modified-Since against a Last-Modified the handler set', async () => {
    const modified = new Date('2024-01-01T00:00:00Z').toUTCString();
    const url = await start((app) =>
      app.get('/r', cacheControl('api_short'), (_req, res) => void res.set('Last-Modified', modified).send('text')),
    );
    expect((await fetch(`${url}/r`, { headers: { 'If-Modified-Since': modified } })).status).toBe(304);
    const older = new Date('2023-01-01T00:00:00Z').toUTCString();
    expect((await fetch(`${url}/r`, { headers: { 'If-Modified-Since': older } })).status).toBe(200);
  });

  it('leaves POST untouched', async () => {
    const url = await start((app) => {
      app.use(express.json());
      app.post('/r', cacheControl('static'), (req, res) => void res.status(201).json({ got: req.body }));
    });
    const res = await fetch(`${url}/r`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'If-None-Match': '*' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBeNull();
    // Only Express's own weak ETag, if any: the middleware made none.
    const etag = res.headers.get('etag');
    if (etag !== null) expect(etag.startsWith('W/')).toBe(true);
    expect(await res.json()).toEqual({ got: { a: 1 } });
  });

  it('lets the handler override Cache-Control', async () => {
    const url = await start((app) =>
      app.get('/r', cacheControl('api_short'), (_req, res) => void res.set('Cache-Control', 'public, max-age=60').json({})),
    );
    expect((await fetch(`${url}/r`)).headers.get('cache-control')).toBe('public, max-age=60');
  });

  it('gives an error answer no-store and no ETag', async () => {
    const url = await start((app) =>
      app.get('/r', cacheControl('static'), (_req, res) => void res.status(404).json({ error: 'not found' })),
    );
    const res = await fetch(`${url}/r`, { headers: { 'If-None-Match': '*' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('etag')).toBeNull();
    expect(await res.json()).toEqual({ error: 'not found' });
  });

  it('leaves redirects and 204 without an ETag', async () => {
    const url = await start((app) => {
      app.get('/moved', cacheControl('api_long'), (_req, res) => res.redirect(301, '/elsewhere'));
      app.get('/empty', cacheControl('api_long'), (_req, res) => void res.status(204).end());
    });
    const moved = await fetch(`${url}/moved`, { redirect: 'manual' });
    expect(moved.status).toBe(301);
    expect(moved.headers.get('cache-control')).toBe(CACHE_PRESETS.api_long);
    expect(moved.headers.get('etag')).toBeNull();
    const empty = await fetch(`${url}/empty`, { headers: { 'If-None-Match': '*' } });
    expect(empty.status).toBe(204);
    expect(empty.headers.get('etag')).toBeNull();
  });

  it('gives an explicit writeHead response an ETag and 304', async () => {
    const url = await start((app) =>
      app.get('/r', cacheControl('health'), (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Extra': 'yes' });
        res.end('ok');
      }),
    );
    const res = await fetch(`${url}/r`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-extra')).toBe('yes');
    expect(res.headers.get('etag')).toBe(strongEtagOf('ok'));
    expect(await res.text()).toBe('ok');
    expect((await fetch(`${url}/r`, { headers: { 'If-None-Match': strongEtagOf('ok') } })).status).toBe(304);
  });

  it('streams a body over 1 MiB whole, without an ETag, and runs write callbacks', async () => {
    const piece = Buffer.alloc(256 * 1024, 'x');
    let callbacks = 0;
    const url = await start((app) =>
      app.get('/big', cacheControl('static'), (_req, res) => {
        res.setHeader('Content-Type', 'application/octet-stream');
        for (let i = 0; i < 6; i++) res.write(piece, () => callbacks++);
        res.end('tail');
      }),
    );
    const res = await fetch(`${url}/big`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBeNull();
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(6 * piece.length + 4);
    expect(body.subarray(-4).toString()).toBe('tail');
    expect(callbacks).toBe(6);
  });

  it.each<[string, Record<string, string>]>([
    ['a held-back body', {}],
    ['a 304 decided on the handler\'s ETag', { 'If-None-Match': '"v1"' }],
  ])('lets an error handler replace %s after a failed stream', async (_label, headers) => {
    const url = await start((app) => {
      app.get('/r', cacheControl('static'), (_req, res, next) => {
        res.setHeader('Content-Type', 'text/csv');
        if (headers['If-None-Match']) res.setHeader('ETag', '"v1"');
        res.write('id,name\n1,');
        next(new Error('export failed'));
      });
      app.use(errorHandler({ onError: () => {} }));
    });
    const res = await fetch(`${url}/r`, { headers });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('etag')).toBeNull();
    expect(await res.json()).toMatchObject({ status: 500, title: 'Internal Server Error' });
  });

  it('leaves res.sendFile its own validators, and answers 304 on them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'closed-loop-cache-'));
    try {
      const file = join(dir, 'app.css');
      writeFileSync(file, 'body { color: teal }');
      const url = await start((app) => app.get('/app.css', cacheControl('static'), (_req, res) => res.sendFile(file)));
      const res = await fetch(`${url}/app.css`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe(CACHE_PRESETS.static);
      const etag = res.headers.get('etag');
      expect(etag).toMatch(/^W\/"/);
      expect(await res.text()).toBe('body { color: teal }');
      const again = await fetch(`${url}/app.css`, { headers: { 'If-None-Match': etag! } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      const raw = await rawGet(`${url}/app.css`, { 'If-None-Match': etag! });
      expect(raw.status).toBe(304);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets a later explicit writeHead replace a 304 decided on the handler\'s ETag', async () => {
    const url = await start((app) => {
      app.get('/r', cacheControl('api_short'), (_req, res, next) => {
        res.setHeader('ETag', '"v1"');
        res.write('partial');
        next(new Error('failed'));
      });
      app.use((_err: unknown, _req: Request, res: Response, _next: () => void) => {
        res.writeHead(503, { 'Content-Type': 'text/plain', 'Content-Length': '4' });
        res.end('down');
      });
    });
    const res = await fetch(`${url}/r`, { headers: { 'If-None-Match': '"v1"' } });
    expect(res.status).toBe(503);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toBe('down');
  });

  it('runs write callbacks of a buffered body', async () => {
    let called = 0;
    const url = await start((app) =>
      app.get('/r', cacheControl('api_short'), (_req, res) => {
        res.write('a', () => called++);
        res.end('b', () => called++);
      }),
    );
    const res = await fetch(`${url}/r`);
    expect(await res.text()).toBe('ab');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(called).toBe(2);
  });
});
