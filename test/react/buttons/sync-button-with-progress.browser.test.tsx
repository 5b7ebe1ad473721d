// SyncButtonWithProgress in real Chromium against the real test server: the attempt shows while the
// client retries ("retrying 2 of 3"), every attempt carries the one key, and the queued state shows.
import { describe, expect, it, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import { MemoryQueueStorage, OfflineQueue } from 'closed-loop';
import { SyncButtonWithProgress } from 'closed-loop/react';
import { mount, parts, release, script, stats, switchableFetch, testClient, uniqueName, wait } from './_support.js';

describe('SyncButtonWithProgress', () => {
  it('503, 503, 201: shows "retrying 2 of 3", then success; the server saw one key and ran it once', async () => {
    const name = uniqueName('progress');
    // The second attempt is held, so its progress can be seen; it then answers 503 like the first.
    await script(name, [{ status: 503 }, { hold: true, status: 503 }, { status: 201, body: { id: 7 } }]);
    const client = testClient();
    const { container } = mount(
      <SyncButtonWithProgress client={client} endpoint={`/${name}`} body={{ pay: 10 }} successMessage="Paid" successDurationMs={60_000}>
        Pay
      </SyncButtonWithProgress>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button, status } = parts(container);
    expect(button.querySelector('.closed-loop-progress')).toBeNull();
    await userEvent.click(button);

    await vi.waitFor(() => expect(button.querySelector('.closed-loop-progress')?.textContent).toBe('retrying 2 of 3'), wait);
    expect(button.dataset.state).toBe('loading');
    expect(button.getAttribute('aria-busy')).toBe('true');
    await vi.waitFor(async () => expect((await stats(name)).requests).toBe(2), wait);

    await release(name);
    await vi.waitFor(() => expect(button.dataset.state).toBe('success'), wait);
    expect(status.textContent).toBe('Paid');
    expect(button.querySelector('.closed-loop-progress')).toBeNull();
    const s = await stats(name);
    expect(s.requests).toBe(3);
    expect(s.effects).toBe(1);
    expect(s.keys).toHaveLength(1);
  });

  it('no progress text on the first attempt; a custom progressText', async () => {
    const name = uniqueName('progress-text');
    await script(name, [{ hold: true, status: 503 }, { hold: true }]);
    const client = testClient();
    const { container } = mount(
      <SyncButtonWithProgress
        client={client}
        endpoint={`/${name}`}
        progressText={(attempt, max) => `try ${attempt}/${max}`}
        mutationConfig={{ retry: { maxAttempts: 5, initialDelayMs: 1, jitter: 'none' } }}
        successDurationMs={60_000}
      >
        Pay
      </SyncButtonWithProgress>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button } = parts(container);
    await userEvent.click(button);
    await vi.waitFor(async () => expect((await stats(name)).requests).toBe(1), wait);
    expect(button.dataset.state).toBe('loading');
    expect(button.querySelector('.closed-loop-progress')).toBeNull();
    await release(name);
    await vi.waitFor(() => expect(button.querySelector('.closed-loop-progress')?.textContent).toBe('try 2/5'), wait);
    await vi.waitFor(async () => expect((await stats(name)).requests).toBe(2), wait);
    await release(name);
    await vi.waitFor(() => expect(button.dataset.state).toBe('success'), wait);
  });

  it('shows the queued state while the mutation waits in the offline queue', async () => {
    const name = uniqueName('progress-queued');
    const network = switchableFetch();
    network.state.offline = true;
    const queue = new OfflineQueue({ storage: new MemoryQueueStorage() });
    const client = testClient({ fetch: network.fetch, offlineQueue: queue });
    const { container } = mount(
      <SyncButtonWithProgress
        client={client}
        endpoint={`/${name}`}
        mutationConfig={{ queueWhenOffline: true }}
        queuedMessage="Saved offline"
        successDurationMs={60_000}
      >
        Pay
      </SyncButtonWithProgress>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button, status } = parts(container);
    await userEvent.click(button);
    await vi.waitFor(() => expect(button.dataset.state).toBe('queued'), wait);
    expect(button.querySelector('.closed-loop-progress')?.textContent).toBe('queued');
    expect(status.textContent).toBe('Saved offline');
    network.state.offline = false;
    await queue.process();
    await vi.waitFor(() => expect(button.dataset.state).toBe('success'), wait);
    expect(await stats(name)).toMatchObject({ requests: 1, effects: 1, keys: [network.state.keys[0]] });
  });
});
