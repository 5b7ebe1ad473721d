// `npm run demo` as a newcomer meets it, driven in Debian's Chromium. The first test starts the demo
// exactly as `npm run demo` does (on a free PORT), opens two tabs, turns the chaos up (failures,
// dropped responses, latency), clicks 30 times across the tabs, turns the chaos off, and checks that
// once everything settled both tabs show the same counts and every accepted click was charged once.
// It saves the screenshot the README shows (docs/images/demo.png). The second runs two demo servers
// sharing a real redis-server, the page of the first using both as its failover list. Another
// closes a tab that queued purchases offline and checks that the demo's service worker delivers them.
//
// A Node-project test: it starts the processes and drives Chromium with Playwright itself.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOT = fileURLToPath(new URL('../../docs/images/demo.png', import.meta.url));
type Counts = Record<'clicks' | 'requests' | 'handlerRuns' | 'replays' | 'conflicts' | 'queued' | 'charged', number>;

interface Running {
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

const running: Running[] = [];

/** Spawns a command in its own process group and resolves once it printed `http://localhost:<port>` on a line of its own. */
function start(command: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<Running> {
  const child: ChildProcess = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const killOnExit = () => killGroup('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    killGroup('SIGINT'); // what Ctrl-C sends
    const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no URL line within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      void stop();
      reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${output}`));
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /^(http:\/\/localhost:\d+)$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        const demo = { url: match[1]!, output: () => output, stop };
        running.push(demo);
        resolve(demo);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code, signal) => fail(new Error(`exited (${code ?? signal}) before printing its URL`)));
  });
}

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  await browser?.close();
});

/** Opens the demo and waits until its stream is live. */
async function open(page: Page, url: string): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __states: string[] };
    w.__states = []; // "<ms> #<id> <state>" for every data-state change: what `press` judges a click by
    new MutationObserver((records) => {
      for (const r of records) {
        const el = r.target as Element;
        w.__states.push(`${Math.round(performance.now())} #${el.id} ${el.getAttribute('data-state')}`);
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  });
  await page.goto(url);
  await page.locator('.live', { hasText: 'live over SSE' }).waitFor({ timeout: 15_000 });
}

async function countsOf(page: Page): Promise<Counts> {
  const entries = await page.locator('[data-count]').evaluateAll((els) =>
    els.map((el) => [el.getAttribute('data-count'), Number(el.textContent)] as const),
  );
  return Object.fromEntries(entries) as Counts;
}

/** Moves the chaos panel's sliders (a range input takes `fill`), and waits until `others` show it too. */
async function setChaos(page: Page, others: Page[], failure: number, drop: number, latencyMs: number): Promise<void> {
  await page.locator('#failure-rate').fill(String(failure));
  await page.locator('#drop-rate').fill(String(drop));
  await page.locator('#latency').fill(String(latencyMs));
  for (const p of [page, ...others]) {
    await p.getByText(`Failure rate: ${Math.round(failure * 100)}%`).waitFor({ timeout: 5000 });
    await p.getByText(`Dropped responses: ${Math.round(drop * 100)}%`).waitFor({ timeout: 5000 });
    await p.getByText(`Latency: ${latencyMs} ms`).waitFor({ timeout: 5000 });
  }
}

/**
 * One real click, once the button accepts a press again; resolves once the press started a mutation.
 * A tab that is not in front has its timers throttled to about one a second, so a poll there can miss
 * a `loading` that lasts 200 ms: the press is judged by the `data-state` history that `open` records.
 */
async function press(page: Page, selector: string): Promise<void> {
  const history = () => (window as unknown as { __states: string[] }).__states;
  await page.waitForFunction(`document.querySelector(${JSON.stringify(selector)})?.getAttribute('data-state') !== 'loading'`, undefined, {
    timeout: 30_000,
    polling: 10,
  });
  const before = await page.evaluate(() => (window as unknown as { __states: string[] }).__states.length);
  await page.click(selector);
  const started = `${selector} loading`;
  try {
    await page.waitForFunction(
      ([before, started]) => (window as unknown as { __states: string[] }).__states.slice(before).some((s) => s.endsWith(started)),
      [before, started] as const,
      { timeout: 10_000, polling: 10 },
    );
  } catch (error) {
    const since = (await page.evaluate(history)).slice(before);
    throw new Error(`${selector}: the click started no mutation; data-state since: ${JSON.stringify(since)}`, { cause: error });
  }
}

/** Waits until nothing is pending in any tab and every tab shows the same counts with the ✓ line. */
async function settled(pages: Page[], clicks: number, timeoutMs: number): Promise<Counts[]> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const pending = await Promise.all(pages.map((p) => p.locator('[data-pending]').getAttribute('data-pending')));
    const verdicts = await Promise.all(pages.map((p) => p.locator('[data-verdict]').getAttribute('data-verdict')));
    const counts = await Promise.all(pages.map(countsOf));
    last = { pending, verdicts, counts };
    const same = counts.every((c) => JSON.stringify(c) === JSON.stringify(counts[0]));
    if (same && pending.every((n) => n === '0') && verdicts.every((v) => v === 'ok') && counts[0]!.clicks === clicks) return counts;
    if (Date.now() > deadline) throw new Error(`not settled within ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** `npm run demo`'s build step, for tests that start servers as plain node processes (the first test ran it). */
function ensureBuilt(): void {
  if (!existsSync(`${root}examples/demo/dist/index.html`) || !existsSync(`${root}examples/demo/dist/sw.js`)) {
    execFileSync('node', ['examples/demo/build.mjs'], { cwd: root, stdio: 'inherit', timeout: 120_000 });
  }
}

describe('npm run demo', () => {
  test('under chaos, 30 clicks across two tabs are charged 30 times, and both tabs agree', async () => {
    const startedAt = Date.now();
    const port = await freePort();
    const demo = await start('npm', ['run', 'demo'], { PORT: String(port) }, 120_000);
    expect(demo.url).toBe(`http://localhost:${port}`);
    const built = Date.now();

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const [a, b] = [await context.newPage(), await context.newPage()];
    await open(a, demo.url);
    await open(b, demo.url);

    await setChaos(a, [b], 0.3, 0.3, 50);
    for (let i = 0; i < 30; i++) {
      if (i % 2 === 0) await press(a, '#buy-tea'); // SyncButton
      else await press(b, '#buy-beans'); // SyncButtonWithProgress
    }
    await setChaos(b, [a], 0, 0, 0);

    const [countsA, countsB] = (await settled([a, b], 30, 45_000)) as [Counts, Counts];
    expect(countsB).toEqual(countsA);
    expect(countsA.clicks).toBe(30);
    expect(countsA.charged).toBe(30);
    expect(countsA.handlerRuns).toBe(30);
    expect(countsA.replays).toBeGreaterThan(0); // dropped responses were retried and replayed
    expect(countsA.requests).toBeGreaterThan(30);
    await expect(a.locator('.verdict').textContent()).resolves.toBe('Charged 30 times for 30 accepted clicks ✓');

    // The picture for the README: the counts after the run, with the chaos turned back up.
    await setChaos(a, [b], 0.3, 0.3, 50);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await a.screenshot({ path: SCREENSHOT });
    expect(existsSync(SCREENSHOT)).toBe(true);
    await context.close();

    await demo.stop();
    console.log(
      `demo under chaos (failure 30%, drop 30%, 50 ms): ${JSON.stringify(countsA)}; ` +
        `build ${((built - startedAt) / 1000).toFixed(1)} s, run ${((Date.now() - built) / 1000).toFixed(1)} s`,
    );
  }, 150_000);

  test('the offline switch queues, the cart line is optimistic, the confirm button refunds once', async () => {
    ensureBuilt();
    const demo = await start('node', ['examples/demo/server.mjs'], { PORT: String(await freePort()) }, 15_000);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await open(page, demo.url);
    const state = (selector: string) => page.locator(selector).getAttribute('data-state');
    const waitFor = (expression: string) => page.waitForFunction(expression, undefined, { timeout: 10_000, polling: 10 });

    await page.locator('#offline').check();
    expect(await page.evaluate(() => navigator.onLine)).toBe(false);
    await page.locator('[data-online=false]', { hasText: 'Offline' }).waitFor({ timeout: 5000 }); // useOfflineSync saw it
    await page.click('#buy-tea');
    await waitFor(`document.querySelector('#buy-tea').getAttribute('data-state') === 'queued'`);
    await page.click('#add-mug');
    await page.locator('.optimistic', { hasText: 'Stoneware mug' }).waitFor(); // shown before the server has it
    await waitFor(`document.querySelector('[data-pending]').getAttribute('data-pending') === '2'`);
    await waitFor(`document.querySelector('[data-count=queued]').textContent === '2'`);
    expect(await page.locator('[data-count=charged]').textContent()).toBe('0');
    expect(await page.locator('.verdict').textContent()).toBe('Charged 0 times for 2 accepted clicks: 2 still on the way…');

    await page.locator('#offline').uncheck(); // the queue flushes on the 'online' event
    let [counts] = (await settled([page], 2, 15_000)) as [Counts];
    expect(counts).toMatchObject({ clicks: 2, charged: 2, handlerRuns: 2, queued: 2 });
    await page.locator('.cart-lines li', { hasText: 'Stoneware mug' }).waitFor();
    expect(await page.locator('.optimistic').count()).toBe(0);

    expect(await state('#refund')).toBe('idle');
    await page.click('#refund');
    await page.locator('.closed-loop-dialog-confirm').click();
    [counts] = (await settled([page], 3, 15_000)) as [Counts];
    expect(counts).toMatchObject({ clicks: 3, charged: 3, handlerRuns: 3 });
    await page.locator('.order-refunded').waitFor();
    await context.close();
  }, 60_000);

  // The real network stays up and Chromium fires the tab's background sync at once: the worker must
  // honour the tab's switch until the tab is gone, then deliver from the same queue with its keys.
  test('purchases queued offline are delivered by the service worker once the tab is closed, each charged once', async () => {
    ensureBuilt();
    const demo = await start('node', ['examples/demo/server.mjs'], { PORT: String(await freePort()) }, 15_000);
    const serverCounts = async () => ((await (await fetch(`${demo.url}/api/config`)).json()) as { counts: Counts }).counts;
    const N = 4;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await open(page, demo.url);
    const waitFor = (expression: string) => page.waitForFunction(expression, undefined, { timeout: 10_000, polling: 10 });
    await waitFor('navigator.serviceWorker.controller !== null'); // the page registered the worker

    await page.locator('#offline').check();
    for (let i = 0; i < N; i++) {
      const button = i % 2 === 0 ? '#buy-tea' : '#buy-beans';
      await waitFor(`document.querySelector('${button}').getAttribute('data-state') !== 'loading'`);
      await page.click(button);
      await waitFor(`document.querySelector('${button}').getAttribute('data-state') === 'queued'`);
    }
    await waitFor(`document.querySelector('[data-pending]').getAttribute('data-pending') === '${N}'`);
    // The worker knows this tab is offline (its Cache Storage holds the tab's id), and the sync the
    // page asked for has come and failed: nothing reached the server.
    const worker = context.serviceWorkers()[0]!;
    await expect.poll(() => worker.evaluate(async () => (await (await caches.open('closed-loop-demo-offline-tabs')).keys()).length)).toBe(1);
    // The page reports its clicks and queued mutations to the server on their own requests.
    await expect.poll(async () => (await serverCounts()).queued, { timeout: 10_000, interval: 50 }).toBe(N);
    expect(await serverCounts()).toMatchObject({ clicks: N, queued: N, charged: 0, handlerRuns: 0, requests: 0 });

    await page.close(); // pagehide: the tab's simulated outage ends with it
    await expect.poll(async () => (await serverCounts()).charged, { timeout: 20_000, interval: 100 }).toBe(N);

    const reopened = await context.newPage();
    await open(reopened, demo.url);
    const counts = await countsOf(reopened);
    expect(counts).toMatchObject({ clicks: N, queued: N, charged: N, handlerRuns: N });
    expect(await reopened.locator('[data-pending]').getAttribute('data-pending')).toBe('0');
    expect(await reopened.locator('.verdict').textContent()).toBe(`Charged ${N} times for ${N} accepted clicks ✓`);
    await context.close();
    console.log(`demo service worker: ${N} purchases queued offline, delivered after the tab closed: ${JSON.stringify(counts)}`);
  }, 60_000);

  describe('with REDIS_URL: two demo servers, one failover list', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    test('10 clicks under chaos are charged 10 times across both servers, and both agree', async () => {
      // The build is `npm run demo`'s first step (the test above ran it); servers are plain node processes.
      ensureBuilt();
      // Two ports free at once: a port just closed may be handed out again.
      const p1 = await freePort();
      let p2 = await freePort();
      while (p2 === p1) p2 = await freePort();
      const servers = `http://localhost:${p1},http://localhost:${p2}`;
      const env = (port: number) => ({ PORT: String(port), REDIS_URL: redis.url, DEMO_SERVERS: servers });
      const [one, two] = await Promise.all([
        start('node', ['examples/demo/server.mjs'], env(p1), 15_000),
        start('node', ['examples/demo/server.mjs'], env(p2), 15_000),
      ]);

      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const [a, b] = [await context.newPage(), await context.newPage()];
      await open(a, one.url); // sends to [server 1, server 2]
      await open(b, two.url); // sees server 2's stream: the counts come over Redis
      await setChaos(a, [b], 0.3, 0.3, 50);
      for (let i = 0; i < 10; i++) await press(a, i % 2 === 0 ? '#buy-tea' : '#buy-beans');
      await setChaos(a, [b], 0, 0, 0);

      const [countsA, countsB] = (await settled([a, b], 10, 45_000)) as [Counts, Counts];
      expect(countsB).toEqual(countsA);
      expect(countsA.charged).toBe(10);
      expect(countsA.handlerRuns).toBe(10);
      const configs = await Promise.all(
        [one.url, two.url].map(async (url) => (await (await fetch(`${url}/api/config`)).json()) as { counts: Counts; store: string }),
      );
      expect(configs.map((c) => c.store)).toEqual(['redis', 'redis']);
      expect(configs[1]!.counts).toEqual(configs[0]!.counts);
      expect(configs[0]!.counts.charged).toBe(10);
      await context.close();
      console.log(`demo with Redis, two servers, chaos (30%, 30%, 50 ms): ${JSON.stringify(countsA)}`);
    }, 90_000);
  });
});
