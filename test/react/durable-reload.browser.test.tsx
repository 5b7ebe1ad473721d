// A durable mutation survives a reload mid-request. An iframe (same origin as this page, served by
// Vite: test/react/fixtures/durable-frame.html) renders a SyncButton whose client writes every
// mutation to an IndexedDB offline queue before sending it, with the queue flushing by itself. The
// test presses the button; the server holds the request; the test reloads the frame (the first
// connection is gone), then lets the server answer. The reloaded frame finds the item in IndexedDB
// and sends it again with the same key: the handler ran once, and the queue ends empty.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IndexedDBQueueStorage, OfflineQueue } from 'closed-loop';
import { release, script, server, stats, uniqueName } from './buttons/_support.js';

const slow = { timeout: 15_000, interval: 20 };
const frames: HTMLIFrameElement[] = [];
const storages: IndexedDBQueueStorage[] = [];

afterEach(async () => {
  for (const frame of frames.splice(0)) frame.remove();
  for (const storage of storages.splice(0)) await storage.close();
});

function frameButton(frame: HTMLIFrameElement): HTMLButtonElement | null {
  return frame.contentDocument?.querySelector<HTMLButtonElement>('button.closed-loop-button') ?? null;
}

describe('durable mutation across a reload', () => {
  it('the reloaded page sends the stored mutation again with its key; the handler runs once', { timeout: 60_000 }, async () => {
    const name = uniqueName('durable');
    const db = `durable-test-${name}`;
    await script(name, [{ hold: true }]);

    const frame = document.createElement('iframe');
    const url = new URL('./fixtures/durable-frame.html', import.meta.url);
    url.search = new URLSearchParams({ server, db, name }).toString();
    frame.src = url.href;
    document.body.append(frame);
    frames.push(frame);

    await vi.waitFor(() => expect(frameButton(frame)).not.toBeNull(), slow);
    frameButton(frame)!.click();
    await vi.waitFor(() => expect(frameButton(frame)?.dataset.state).toBe('loading'), slow);

    // The request reached the handler, which holds it; the item waits in IndexedDB, in flight.
    await vi.waitFor(async () => expect(await stats(name)).toMatchObject({ requests: 1, effects: 0 }), slow);
    const storage = new IndexedDBQueueStorage(db);
    storages.push(storage);
    const observer = new OfflineQueue({ storage });
    const stored = await observer.getItems();
    expect(stored).toHaveLength(1);
    const key = (await stats(name)).requestKeys[0];
    expect(stored[0]?.idempotencyKey).toBe(key);

    // Reload mid-request, then let the server answer the first request (its client is gone; the
    // idempotency middleware stores the answer anyway).
    const firstDocument = frame.contentDocument;
    frame.contentWindow!.location.reload();
    await vi.waitFor(() => expect(frame.contentDocument).not.toBe(firstDocument), slow);
    await vi.waitFor(async () => expect(await release(name)).toBe(1), slow);

    // The reloaded page's queue sends the item again with the same key; the server runs it once.
    await vi.waitFor(async () => {
      const s = await stats(name);
      expect(s.requests).toBeGreaterThanOrEqual(2);
      expect(s.effects).toBe(1);
    }, slow);
    await vi.waitFor(async () => expect(await observer.getItems()).toEqual([]), slow);
    expect(await observer.getDeadLetters()).toEqual([]);

    const s = await stats(name);
    expect(s.effects).toBe(1);
    expect(s.keys).toEqual([key]);
    expect(new Set(s.requestKeys)).toEqual(new Set([key]));
    // The resend was answered from the idempotency store (a 409 while the first still ran may precede it).
    expect(s.replays).toBe(1);
  });
});
