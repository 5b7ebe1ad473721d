// The docs site (`npm run docs`), as a reader meets it: typedoc builds it into a temporary folder, a
// static server serves it on 127.0.0.1, and Debian's Chromium opens the landing page, every guide and
// every entry point's page, then every same-site link on them, and one level further for the API
// pages the entry points link to. Every link target must answer 200 and every `#anchor` must exist
// on its page (after the page's scripts ran: the sidebar is built by script).
import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page as PlaywrightPage } from 'playwright';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** The import paths with a page of their own, in the sidebar's order. */
const entryPoints = ['closed-loop', 'closed-loop/express', 'closed-loop/fetch', 'closed-loop/hono', 'closed-loop/redis', 'closed-loop/supabase', 'closed-loop/react', 'closed-loop/service-worker'];
/** The capabilities the core's page lists its symbols by (typedoc.json "categoryOrder"). */
const capabilities = ['Client', 'Offline queue', 'Retry', 'Circuit breaker', 'Idempotency', 'Realtime', 'Errors', 'Clock'];

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
};

/** A static file server for `dir`, like GitHub Pages: a folder answers with its index.html. */
function serve(dir: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let path: string;
    try {
      path = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (path !== dir && !path.startsWith(dir + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (statSync(path).isDirectory()) path = join(path, 'index.html');
      statSync(path);
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'text/plain; charset=utf-8' });
    createReadStream(path).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** What Chromium saw on one page: its status, title, the ids on it, its links, script errors. */
interface Page {
  status: number;
  title: string;
  h1: string;
  /** The section headings (a module page's categories). */
  h2: string[];
  ids: Set<string>;
  links: string[];
  errors: string[];
}

let out: string;
let server: http.Server;
let base: string;
let browser: Browser;
let context: BrowserContext;
/** A tab on the site that reads link targets with fetch() and DOMParser, without navigating. */
let reader: PlaywrightPage;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'closed-loop-docs-'));
  // `npx typedoc --out <tmp>` (without npx's lookup), while Chromium starts.
  const build = promisify(execFile)(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--out', out], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((e: unknown) => {
    // typedoc's warnings (treated as errors) are on stdout.
    const { stdout = '', stderr = '' } = e as { stdout?: string; stderr?: string };
    throw new Error(`typedoc failed to build the site:\n${stdout}${stderr}`);
  });
  const launch = chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const started = await Promise.allSettled([build, launch]);
  if (started[1].status === 'fulfilled') browser = started[1].value;
  for (const result of started) if (result.status === 'rejected') throw result.reason;
  server = await serve(out);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  context = await browser.newContext();
  reader = await context.newPage();
  await reader.goto(`${base}assets/icons.svg`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  if (out) rmSync(out, { recursive: true, force: true });
});

const opened = new Map<string, Promise<Page>>();
const read = new Map<string, Promise<Page>>();

/** Opens `url` (no fragment) in a tab of its own, with its scripts (the sidebar is built by script). */
function open(url: string): Promise<Page> {
  let page = opened.get(url);
  if (page === undefined) {
    page = navigate(url);
    opened.set(url, page);
  }
  return page;
}

// A few tabs at a time.
let running = 0;
const waiting: (() => void)[] = [];
async function navigate(url: string): Promise<Page> {
  if (running >= 4) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  const tab = await context.newPage();
  try {
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    const response = await tab.goto(url, { waitUntil: 'load' });
    await tab.waitForFunction(() => document.querySelector('#tsd-nav-container a') !== null, undefined, { timeout: 10_000 });
    const seen = await tab.evaluate(() => ({
      title: document.title,
      h1: document.querySelector('.tsd-page-title h1')?.textContent?.trim() ?? '',
      h2: [...document.querySelectorAll('.col-content h2')].map((h) => h.textContent?.trim() ?? ''),
      ids: [...document.querySelectorAll('[id], a[name]')].map((e) => e.id || e.getAttribute('name') || ''),
      links: [...document.querySelectorAll('a[href]')].map((a) => (a as HTMLAnchorElement).href),
    }));
    return { status: response?.status() ?? 0, ...seen, ids: new Set(seen.ids), errors };
  } finally {
    await tab.close();
    running--;
    waiting.shift()?.();
  }
}

/**
 * A link target as Chromium reads it with fetch(): its status and, for a page, the ids and links in
 * its HTML (parsed by DOMParser; the script-built sidebar is the same on every page, and is checked
 * on the pages opened with {@link open}).
 */
function fetchPage(url: string): Promise<Page> {
  let page = read.get(url);
  if (page === undefined) {
    page = reader
      .evaluate(async (url) => {
        const response = await fetch(url);
        const type = response.headers.get('content-type') ?? '';
        if (!type.startsWith('text/html')) return { status: response.status, title: '', h1: '', h2: [], ids: [], links: [] };
        const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
        return {
          status: response.status,
          title: doc.title,
          h1: doc.querySelector('.tsd-page-title h1')?.textContent?.trim() ?? '',
          h2: [...doc.querySelectorAll('.col-content h2')].map((h) => h.textContent?.trim() ?? ''),
          ids: [...doc.querySelectorAll('[id], a[name]')].map((e) => e.id || e.getAttribute('name') || ''),
          links: [...doc.querySelectorAll('a[href]')].map((a) => new URL(a.getAttribute('href')!, url).href),
        };
      }, url)
      .then((seen) => ({ ...seen, ids: new Set(seen.ids), errors: [] }));
    read.set(url, page);
  }
  return page;
}

/** Same-site links of a page, without the bare `#` and empty ones the theme uses for buttons. */
function siteLinks(page: Page): string[] {
  return [...new Set(page.links.filter((href) => href.startsWith(base) && !href.endsWith('#')))];
}

/** Checks every same-site link on `page` (at `from`): its target answers 200 and has the link's anchor. */
async function brokenLinks(from: string, page: Page): Promise<string[]> {
  const broken: string[] = [];
  await Promise.all(
    siteLinks(page).map(async (href) => {
      const hash = href.indexOf('#');
      const target = hash === -1 ? href : href.slice(0, hash);
      const anchor = hash === -1 ? '' : decodeURIComponent(href.slice(hash + 1));
      const seen = await fetchPage(target);
      if (seen.status !== 200) broken.push(`${pathOf(href)} answered ${seen.status}`);
      else if (anchor !== '' && !seen.ids.has(anchor)) broken.push(`${pathOf(href)}: no #${anchor} on that page`);
    }),
  );
  return broken.map((b) => `${pathOf(from)} → ${b}`);
}

function pathOf(url: string): string {
  return url.startsWith(base) ? `/${url.slice(base.length)}` : url;
}

describe('the docs site (npm run docs)', () => {
  test('every guide in docs/ has a page under docs/guides.md, with a readable name', () => {
    const guides = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md') && f !== 'index.md' && f !== 'guides.md');
    const frontmatter = /^---\n([\s\S]*?)\n---/.exec(readFileSync(join(root, 'docs/guides.md'), 'utf8'))?.[1] ?? '';
    const listed = [...frontmatter.matchAll(/^ {2}[^:\n]+: (\S+\.md)$/gm)].map((m) => m[1]);
    expect(listed.sort(), 'docs/guides.md lists every docs/*.md in its frontmatter `children`').toEqual(guides.sort());
  });

  test('the landing page routes a reader to a guide and an entry point, and carries the version', async () => {
    const landing = await open(base);
    expect(landing.status).toBe(200);
    expect(landing.title).toBe(`closed-loop - v${version}`);
    expect(landing.errors).toEqual([]);
    for (const id of ['i-have-an-express-api', 'i-have-a-react-app', 'i-run-several-servers', 'i-use-tanstack-query']) {
      expect(landing.ids, `#${id} on the landing page`).toContain(id);
    }
    const links = siteLinks(landing).map(pathOf);
    for (const href of [
      'documents/guides.Idempotency.html',
      'modules/closed-loop_express.html',
      'documents/guides.React.html',
      'modules/closed-loop_react.html',
      'classes/closed-loop_redis.RedisIdempotencyStore.html',
      'classes/closed-loop_redis.RedisTransport.html',
      'documents/guides.Realtime.html',
      'documents/guides.React.html#apps-that-already-use-tanstack-query',
      'functions/closed-loop.retryPolicyForQueries.html',
    ]) {
      expect(links, `the landing page links to ${href}`).toContain(`/${href}`);
    }
  }, 30_000);

  test('each entry point has a page titled by its import path; the core lists its symbols by capability', async () => {
    const modules = readdirSync(join(out, 'modules')).map((f) => `modules/${f}`);
    expect(modules.sort()).toEqual(entryPoints.map((name) => `modules/${name.replace('/', '_')}.html`).sort());
    const pages = await Promise.all(entryPoints.map((name) => open(`${base}modules/${name.replace('/', '_')}.html`)));
    for (const [i, name] of entryPoints.entries()) {
      const page = pages[i]!;
      expect(page.status).toBe(200);
      expect(page.h1).toBe(`Module ${name}`);
      expect(page.errors).toEqual([]);
    }
    // By capability, in typedoc.json's order, and nothing left in typedoc's "Other".
    expect((await open(`${base}modules/closed-loop.html`)).h2).toEqual(capabilities);
    expect((await open(`${base}modules/closed-loop_react.html`)).h2).toEqual(['Provider', 'Buttons', 'Hooks']);
  }, 30_000);

  test('no broken link from the landing page, the guides, the entry points and the API pages they link to', async () => {
    const started = Date.now();
    const guides = readdirSync(join(out, 'documents')).map((f) => `${base}documents/${encodeURI(f)}`);
    const modules = entryPoints.map((name) => `${base}modules/${name.replace('/', '_')}.html`);
    const start = [base, ...guides, ...modules];

    const broken = (await Promise.all(start.map(async (url) => brokenLinks(url, await open(url))))).flat();
    // One level further for the API reference: the links on each page an entry point links to.
    const api = new Set<string>();
    for (const url of modules) {
      for (const href of siteLinks(await open(url))) {
        const target = href.split('#')[0]!;
        if (/\/(classes|functions|interfaces|types|variables)\//.test(target)) api.add(target);
      }
    }
    broken.push(...(await Promise.all([...api].map(async (url) => brokenLinks(url, await fetchPage(url))))).flat());

    const errors = (await Promise.all([...opened].map(async ([url, page]) => (await page).errors.map((e) => `${pathOf(url)}: ${e}`)))).flat();
    const targets = await Promise.all([...read.values()]);
    const pages = new Set(
      [...opened.keys(), ...[...read].filter((_, i) => targets[i]!.title !== '').map(([url]) => url)].map((url) =>
        url.endsWith('/') ? `${url}index.html` : url,
      ),
    );
    console.log(
      `docs site: ${pages.size} pages (${start.length} opened in Chromium: the landing page, ${guides.length} guides, ` +
        `${modules.length} entry points; ${api.size} API pages crawled one level further), ` +
        `${read.size} link targets checked, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(broken).toEqual([]);
    expect(errors).toEqual([]);
    // And no page of the site is out of a reader's reach.
    const written = readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.html'));
    expect([...pages].map((url) => decodeURIComponent(pathOf(url)).slice(1)).sort()).toEqual(written.map((f) => f.split(sep).join('/')).sort());
    expect(guides.length).toBeGreaterThanOrEqual(13);
    expect(api.size).toBeGreaterThan(100);
  }, 60_000);
});
