// useOfflineSync in real Chromium with real React over a real OfflineQueue whose handler POSTs to the
// Express test server (test/react/_server.ts): the counts it renders, sync(), the syncing and
// dead-letter states, and the flush when the browser comes back online.
import type { ReactElement } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import { HttpError, MemoryQueueStorage, OfflineQueue, createSyncClient } from 'closed-loop';
import { SyncProvider, useOfflineSync } from 'closed-loop/react';
import { mount, release, script, server, stats, uniqueName, wait } from '../buttons/_support.js';

/** A queue whose items are POSTed, with their idempotency keys, to /api/:name of the test server. */
function queueFor(name: string): OfflineQueue {
  return new OfflineQueue({
    storage: new MemoryQueueStorage(),
    handler: async (item) => {
      const response = await fetch(`${server}/api/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': item.idempotencyKey },
        body: JSON.stringify(item.payload),
      });
      if (!response.ok) throw new HttpError(response.status, { headers: response.headers });
      return response.json();
    },
  });
}

function Status(props: { queue?: OfflineQueue }): ReactElement {
  const s = useOfflineSync(props.queue);
  return (
    <div>
      <output>
        {s.isOnline ? 'online' : 'offline'} pending={s.pending} dead={s.deadLettered} {s.isSyncing ? 'syncing' : 'idle'}{' '}
        {s.lastSyncAt === undefined ? 'never' : 'synced'}
      </output>
      <button onClick={() => void s.sync()}>sync</button>
    </div>
  );
}

const shown = (container: HTMLElement): string => container.querySelector('output')?.textContent ?? '';
const syncButton = (container: HTMLElement): HTMLButtonElement => {
  const button = container.querySelector('button');
  if (button === null) throw new Error('not rendered yet');
  return button;
};

/** Makes `navigator.onLine` report `online` (a page cannot switch the real one) and fires the event. */
function goOnline(online: boolean): void {
  if (online) delete (navigator as { onLine?: boolean }).onLine;
  else Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => false });
  window.dispatchEvent(new Event(online ? 'online' : 'offline'));
}

afterEach(() => {
  delete (navigator as { onLine?: boolean }).onLine;
});

describe('useOfflineSync', () => {
  it('counts the pending items of the provider’s queue and drains them when sync() runs', async () => {
    const name = uniqueName('drain');
    const queue = queueFor(name);
    const client = createSyncClient({ baseUrl: server });
    const { container } = mount(
      <SyncProvider client={client} queue={queue}>
        <Status />
      </SyncProvider>,
    );
    await vi.waitFor(() => expect(shown(container)).toBe('online pending=0 dead=0 idle never'), wait);
    const first = await queue.add({ title: 'a' });
    const second = await queue.add({ title: 'b' });
    await vi.waitFor(() => expect(shown(container)).toBe('online pending=2 dead=0 idle never'), wait);

    await userEvent.click(syncButton(container));
    await vi.waitFor(() => expect(shown(container)).toBe('online pending=0 dead=0 idle synced'), wait);
    const s = await stats(name);
    expect(s.effects).toBe(2);
    expect(s.keys).toEqual([first.idempotencyKey, second.idempotencyKey]);
  });

  it('shows syncing while a flush runs', async () => {
    const name = uniqueName('syncing');
    await script(name, [{ hold: true }]);
    const queue = queueFor(name);
    const { container } = mount(<Status queue={queue} />);
    await queue.add({ title: 'a' });
    await vi.waitFor(() => expect(shown(container)).toBe('online pending=1 dead=0 idle never'), wait);
    await userEvent.click(syncButton(container));
    await vi.waitFor(() => expect(shown(container)).toBe('online pending=1 dead=0 syncing never'), wait);
    await vi.waitFor(async () => expect((await stats(name)).requests).toBe(1), wait);
    await vi.waitFor(async () => expect(await release(name)).toBe(1), wait);
    await vi.waitFor(() => expect(shown(container)).toBe('online pending=0 dead=0 idle synced'), wait);
  });

  it('counts an item the server refused for good as dead-lettered', async () => {
    const name = uniqueName('dead');
    await script(name, [{ status: 422 }]);
    const queue = queueFor(name);
    const { container } = mount(<Status queue={queue} />);
    await queue.add({ title: 'a' });
    await userEvent.click(await vi.waitFor(() => syncButton(container), wait));
    await vi.waitFor(() => expect(shown(container)).toBe('online pending=0 dead=1 idle synced'), wait);
    expect((await stats(name)).effects).toBe(0);
  });

  it('follows the online and offline events and flushes when the browser comes back online', async () => {
    const name = uniqueName('online');
    const queue = queueFor(name);
    const { container, root } = mount(<Status queue={queue} />);
    await vi.waitFor(() => expect(shown(container)).toMatch(/^online/), wait);

    goOnline(false);
    await vi.waitFor(() => expect(shown(container)).toBe('offline pending=0 dead=0 idle never'), wait);
    const item = await queue.add({ title: 'saved offline' });
    await vi.waitFor(() => expect(shown(container)).toBe('offline pending=1 dead=0 idle never'), wait);

    goOnline(true);
    await vi.waitFor(() => expect(shown(container)).toBe('online pending=0 dead=0 idle synced'), wait);
    expect((await stats(name)).keys).toEqual([item.idempotencyKey]);

    // Unmounted, it no longer listens: the event (dispatched synchronously) starts no flush.
    root.unmount();
    const process = vi.spyOn(queue, 'process');
    goOnline(true);
    expect(process).not.toHaveBeenCalled();
  });
});
