// The README's React example (examples/react/quick-start.tsx), rendered in real Chromium against the
// real test server: a press is announced, reaches the handler once, and leaves nothing queued.
import { describe, expect, it, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import { createApi, Shop } from '../../examples/react/quick-start.js';
import { mount, parts, server, stats, uniqueName, wait } from './buttons/_support.js';

describe('README quick start', () => {
  it('Buy: announced, one effect under one key, nothing left in the durable queue', async () => {
    const api = createApi(`${server}/api`, uniqueName('quick-start-db'));
    const before = (await stats('orders')).keys.length;
    const { container } = mount(<Shop api={api} />);
    await vi.waitFor(() => parts(container), wait);
    const { button, status } = parts(container);
    expect(container.querySelector('p')!.textContent).toBe('Online · 0 waiting to be sent');

    await userEvent.click(button);
    await vi.waitFor(() => expect(status.textContent).toBe('Ordered!'), wait);
    const { keys } = await stats('orders');
    expect(keys).toHaveLength(before + 1);
    expect(await api.queue.getItems()).toEqual([]);
    await vi.waitFor(() => expect(container.querySelector('p')!.textContent).toBe('Online · 0 waiting to be sent'), wait);
    api.client.close();
  });
});
