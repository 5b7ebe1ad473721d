// closed-loop/service-worker in Debian's Chromium with a real registered service worker: the page
// (fixture/page.ts) queues mutations through the sync client while offline (Playwright's offline
// emulation, which reaches the worker too), and the worker (fixture/sw.ts) delivers them on a sync
// event (DevTools' ServiceWorker.dispatchSyncEvent, or Chromium's own once it is back online) to an
// Express server with the idempotency middleware that counts handler runs per key (server.ts). The
// worker's clock is a ManualClock the test advances; nothing here sleeps on wall time.
//
// A Node-project test: it starts the server and drives Chromium with Playwright itself.
import { type Browser, type BrowserContext, chromium, type Page, type Worker } from 'playwright';
import type { ManualClock, OfflineQueue } from 'closed-loop';
import type { BackgroundSyncMessage } from 'closed-loop/service-worker';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from './server.js';

/** What fixture/page.ts puts on `window.testApi`. */
interface PageApi {
  ready: Promise<void>;
  clock: ManualClock;
  queue: OfflineQueue;
  messages: BackgroundSyncMessage[];
  errors: unknown[];
  queueMutations(route: string, count: number): Promise<string[]>;
  syncTags(): Promise<string[]>;
  outcomeOf(key: string): Promise<{ status: number; idempotencyKey?: string; replayed: boolean; data: unknown } | { error: string; status?: number }>;
}

/** What fixture/sw.ts puts on `self.testApi`. */
interface WorkerApi {
  clock: ManualClock;
  queue: OfflineQueue;
  outcomes: Array<{ tag: string; lastChance: boolean; outcome: 'fulfilled' | 'rejected' | 'pending' }>;
}

declare const testApi: PageApi & WorkerApi;

const POLL = { timeout: 20_000, interval: 50 };
let server: TestServer;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  server = await startTestServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

// A fresh context per test: an empty queue, no registration, no pending sync.
async function launch(): Promise<BrowserContext> {
  context = await browser.newContext();
  return context;
}
afterEach(async () => {
  await context?.close();
});

/** Opens the app page and waits until its worker is active and it has asked for sync (unless `?sync=manual`). */
async function openApp(query = ''): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${server.url}/${query}`);
  await page.evaluate(() => testApi.ready);
  return page;
}

/** The running service worker (started again by Chromium if it was stopped). */
async function worker(): Promise<Worker> {
  return context.serviceWorkers()[0] ?? context.waitForEvent('serviceworker');
}

/** Fires a `sync` event (or a `periodicsync` one) at the worker through DevTools, as Chromium's Application panel does. */
async function dispatchSync(page: Page, lastChance = false, periodic = false): Promise<void> {
  const cdp = await context.newCDPSession(page);
  const registrations: Array<{ registrationId: string; scopeURL: string; isDeleted: boolean }> = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => registrations.push(...event.registrations));
  await cdp.send('ServiceWorker.enable');
  await expect.poll(() => registrations.some((r) => r.scopeURL === `${server.url}/` && !r.isDeleted), POLL).toBe(true);
  const { registrationId } = registrations.find((r) => r.scopeURL === `${server.url}/`)!;
  if (periodic) await cdp.send('ServiceWorker.dispatchPeriodicSyncEvent', { origin: server.url, registrationId, tag: 'closed-loop' });
  else await cdp.send('ServiceWorker.dispatchSyncEvent', { origin: server.url, registrationId, tag: 'closed-loop', lastChance });
  await cdp.detach();
}

const outcomes = async () => (await worker()).evaluate(() => testApi.outcomes);

describe('closed-loop/service-worker in Chromium', { timeout: 60_000 }, () => {
  test('20 mutations queued offline, page closed: back online, the worker delivers each once with its key', async () => {
    await launch();
    const page = await openApp();
    await context.setOffline(true);
    const keys = await page.evaluate(() => testApi.queueMutations('closed-tab', 20));
    expect(new Set(keys).size).toBe(20);
    // registerBackgroundSync asked for a sync; offline, Chromium holds it back.
    expect(await page.evaluate(() => testApi.syncTags())).toEqual(['closed-loop']);
    expect(await page.evaluate(() => testApi.errors.length)).toBe(0);
    await page.close();
    expect(context.pages()).toHaveLength(0);

    await context.setOffline(false);
    // Chromium fires the registered sync itself once online; the DevTools one may find it done.
    const devtools = await context.newPage();
    await dispatchSync(devtools);
    const route = server.route('closed-tab');
    await expect.poll(() => route.runs.size, POLL).toBe(20);
    expect([...route.runs.keys()].sort()).toEqual([...keys].sort());
    expect([...route.runs.values()].every((runs) => runs === 1)).toBe(true);
    // Each sent once (the lock keeps Chromium's sync and the DevTools one apart), in the order queued.
    expect(route.requestKeys).toEqual(keys);

    // Reopened, the page finds its queue empty.
    const reopened = await openApp();
    expect(await reopened.evaluate(() => testApi.queue.getItems().then((items) => items.length))).toBe(0);
  });

  test("items of the app's own type go out through the handler the worker registered for that type", async () => {
    await launch();
    const page = await openApp('?sync=manual');
    // Added with a type and no handler in the page: only the worker knows how to send them.
    const keys = await page.evaluate(async () => {
      const items = [];
      for (let n = 0; n < 3; n++) items.push(await testApi.queue.add({ route: 'typed', n }, { type: 'order' }));
      return items.map((item) => item.idempotencyKey);
    });
    await dispatchSync(page);
    const route = server.route('typed');
    await expect.poll(() => route.runs.size, POLL).toBe(3);
    expect(route.requestKeys).toEqual(keys);
    await expect.poll(() => page.evaluate(() => testApi.messages.map((m) => [m.type, m.item.type, m.item.idempotencyKey])), POLL).toEqual(
      keys.map((key) => ['closed-loop:processed', 'order', key]),
    );
  });

  test('a periodicsync event with the tag flushes the queue too', async () => {
    await launch();
    const page = await openApp('?sync=manual');
    await context.setOffline(true);
    const keys = await page.evaluate(() => testApi.queueMutations('periodic', 2));
    await context.setOffline(false);
    await dispatchSync(page, false, true);
    const route = server.route('periodic');
    await expect.poll(() => route.runs.size, POLL).toBe(2);
    expect(route.requestKeys).toEqual(keys);
  });

  test('the page and the worker flushing at the same moment send each item once', async () => {
    await launch();
    const page = await openApp('?sync=manual');
    await context.setOffline(true);
    const keys = await page.evaluate(() => testApi.queueMutations('both', 20));
    await context.setOffline(false);

    const [pageResult] = await Promise.all([page.evaluate(() => testApi.queue.process()), dispatchSync(page)]);
    const route = server.route('both');
    await expect.poll(() => route.runs.size, POLL).toBe(20);
    await expect.poll(outcomes, POLL).toEqual([{ tag: 'closed-loop', lastChance: false, outcome: 'fulfilled' }]);
    expect(route.requestKeys).toHaveLength(20);
    expect(new Set(route.requestKeys)).toEqual(new Set(keys));
    expect([...route.runs.values()].every((runs) => runs === 1)).toBe(true);
    // Between them they delivered all 20: the page's own count plus the worker's messages.
    const byWorker = await page.evaluate(() => testApi.messages.filter((m) => m.type === 'closed-loop:processed').length);
    expect(pageResult.processed + byWorker).toBe(20);
  });

  test('a 400 is dead-lettered in the worker and the open page is told', async () => {
    await launch();
    const page = await openApp('?sync=manual');
    const route = server.route('refused');
    route.script = [400];
    await context.setOffline(true);
    const [key] = await page.evaluate(() => testApi.queueMutations('refused', 1));
    await context.setOffline(false);
    await dispatchSync(page);

    await expect.poll(() => page.evaluate(() => testApi.messages), POLL).toMatchObject([
      { type: 'closed-loop:dead-lettered', tag: 'closed-loop', item: { idempotencyKey: key, reason: 'rejected', state: 'deadLettered' } },
    ]);
    // Not retried: one request, no handler run; the page's queue lists the dead letter.
    expect(route.requestKeys).toEqual([key]);
    expect(route.runs.size).toBe(0);
    expect(await page.evaluate(() => testApi.queue.getDeadLetters().then((d) => d.map((l) => l.idempotencyKey)))).toEqual([key]);
    // The call the page queued, still waiting in the open page, rejects with the server's answer.
    expect(await page.evaluate((k) => testApi.outcomeOf(k), key!)).toEqual({ error: 'HttpError', status: 400 });
    await expect.poll(outcomes, POLL).toEqual([{ tag: 'closed-loop', lastChance: false, outcome: 'fulfilled' }]);
  });

  test("a 503 is retried with backoff on the worker's clock: 5 s, then 10 s", async () => {
    await launch();
    const page = await openApp('?sync=manual');
    const route = server.route('busy');
    route.script = [503, 503];
    await context.setOffline(true);
    const [key] = await page.evaluate(() => testApi.queueMutations('busy', 1));
    await context.setOffline(false);
    await dispatchSync(page);
    const sw = await worker();
    const waitLeft = () => sw.evaluate(() => (testApi.clock.nextTimerAt() ?? Number.NaN) - testApi.clock.now());

    // The first answer is a 503: the event waits out the item's backoff on the worker's clock.
    await expect.poll(waitLeft, POLL).toBe(5_000);
    expect(route.requestKeys).toEqual([key]);
    await sw.evaluate(() => testApi.clock.advance(5_000));
    await expect.poll(waitLeft, POLL).toBe(10_000);
    expect(route.requestKeys).toEqual([key, key]);
    await sw.evaluate(() => testApi.clock.advance(10_000));

    await expect.poll(() => page.evaluate(() => testApi.messages), POLL).toMatchObject([
      { type: 'closed-loop:processed', tag: 'closed-loop', item: { idempotencyKey: key } },
    ]);
    expect(route.requestKeys).toEqual([key, key, key]);
    expect([...route.runs]).toEqual([[key, 1]]);
    // The call the page queued resolves with the worker's response, as if the page had sent it.
    expect(await page.evaluate((k) => testApi.outcomeOf(k), key!)).toEqual({ status: 201, idempotencyKey: key, replayed: false, data: { status: 201, body: { n: 0 } } });
    await expect.poll(outcomes, POLL).toEqual([{ tag: 'closed-loop', lastChance: false, outcome: 'fulfilled' }]);
  });

  test('a sync event that cannot finish within maxWaitMs fails, so the browser tries again later', async () => {
    await launch();
    const page = await openApp('?sync=manual');
    const route = server.route('down');
    route.script = [503, 503, 503, 503, 503, 503, 503, 503];
    await context.setOffline(true);
    const [key] = await page.evaluate(() => testApi.queueMutations('down', 1));
    await context.setOffline(false);
    await dispatchSync(page);
    const sw = await worker();
    // 5 s + 10 s + 20 s + 40 s: the next backoff (80 s) would end past the default 60 s wait.
    for (const wait of [5_000, 10_000, 20_000]) {
      await expect.poll(() => sw.evaluate(() => (testApi.clock.nextTimerAt() ?? Number.NaN) - testApi.clock.now()), POLL).toBe(wait);
      await sw.evaluate((ms) => testApi.clock.advance(ms), wait);
    }
    await expect.poll(outcomes, POLL).toEqual([{ tag: 'closed-loop', lastChance: false, outcome: 'rejected' }]);
    expect(route.requestKeys).toEqual([key, key, key, key]);
    // Left queued, with its attempts counted.
    expect(await page.evaluate(() => testApi.queue.getItems().then((items) => items.map((i) => [i.idempotencyKey, i.attempts])))).toEqual([[key, 4]]);
  });

  test("on lastChance the worker waits for nothing and leaves the rest queued; the page's next flush sends it", async () => {
    await launch();
    const page = await openApp('?sync=manual');
    const route = server.route('last');
    route.script = [201, 503, 503];
    await context.setOffline(true);
    const keys = await page.evaluate(() => testApi.queueMutations('last', 3));
    await context.setOffline(false);
    await dispatchSync(page, true);

    await expect.poll(outcomes, POLL).toEqual([{ tag: 'closed-loop', lastChance: true, outcome: 'fulfilled' }]);
    expect(route.requestKeys).toEqual(keys);
    expect(await (await worker()).evaluate(() => testApi.clock.pendingTimers)).toBe(0);
    expect(await page.evaluate(() => testApi.queue.getItems().then((items) => items.map((i) => i.idempotencyKey)))).toEqual(keys.slice(1));

    // The page's next flush, once the items' backoff has passed on its clock, sends them with their keys.
    const result = await page.evaluate(async () => {
      const dueAt = Math.max(...(await testApi.queue.getItems()).map((item) => item.nextAttemptAt ?? 0));
      await testApi.clock.advance(dueAt - testApi.clock.now());
      return testApi.queue.process();
    });
    expect(result).toMatchObject({ processed: 2, remaining: 0 });
    expect(route.requestKeys).toEqual([...keys, ...keys.slice(1)]);
    expect([...route.runs].sort()).toEqual(keys.map((k) => [k, 1]).sort());
  });
});
