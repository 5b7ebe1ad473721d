// useRealtime in real Chromium with real React: a change published on the provider's realtime
// service, and one published by the Express test server (test/react/_server.ts) that reaches the
// page over Server-Sent Events.
import type { ReactElement } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RealtimeSyncService, SseTransport, createSyncClient, type ChangeEvent } from 'closed-loop';
import { SyncProvider, useRealtime, type UseRealtimeOptions } from 'closed-loop/react';
import { mount, server, uniqueName, wait } from '../buttons/_support.js';

type Order = { id: number; state: string; version: number };

function OrderView(props: { topic: string; options?: UseRealtimeOptions<Order>; label?: string }): ReactElement {
  const { latest, events, status } = useRealtime<Order>(props.topic, props.options);
  return (
    <output data-label={props.label}>
      {latest?.state ?? '-'} events={events.map((event) => event.new?.state).join(',')} {status}
    </output>
  );
}

const shown = (container: HTMLElement): string => container.querySelector('output')?.textContent ?? '';

const services: RealtimeSyncService[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.destroy();
});

describe('useRealtime', () => {
  it('renders a change published on the provider’s service, for one record, through an inline filter', async () => {
    const service = new RealtimeSyncService();
    services.push(service);
    const client = createSyncClient({ baseUrl: server });
    // A new inline filter on every render: it must not resubscribe.
    const render = (label: string): ReactElement => (
      <SyncProvider client={client} realtime={service}>
        <OrderView topic="orders" label={label} options={{ id: 1, filter: (event: ChangeEvent<Order>) => event.new?.state !== 'draft' }} />
      </SyncProvider>
    );
    const { container, root } = mount(render('first'));
    await vi.waitFor(() => expect(shown(container)).toBe('- events= connected'), wait);
    // React subscribes in an effect after the first commit: wait for it, not just for the text.
    await vi.waitFor(() => expect(service.getSubscriptionCount()).toBe(1), wait);

    service.publish('orders', { id: 1, state: 'paid', version: 1 });
    await vi.waitFor(() => expect(shown(container)).toBe('paid events=paid connected'), wait);
    service.publish('orders', { id: 2, state: 'other record', version: 1 });
    // Filtered out of `events`, still the latest state of the record.
    service.publish('orders', { id: 1, state: 'draft', version: 2 });
    await vi.waitFor(() => expect(shown(container)).toBe('draft events=paid connected'), wait);

    root.render(render('second'));
    await vi.waitFor(() => expect(container.querySelector('output')?.dataset.label).toBe('second'), wait);
    expect(service.getSubscriptionCount()).toBe(1);
    service.publish('orders', { id: 1, state: 'shipped', version: 3 });
    await vi.waitFor(() => expect(shown(container)).toBe('shipped events=paid,shipped connected'), wait);

    root.unmount();
    await vi.waitFor(() => expect(service.getSubscriptionCount()).toBe(0), wait);
  });

  it('renders a change the server published, received over Server-Sent Events', async () => {
    const topic = uniqueName('sse-orders');
    const service = new RealtimeSyncService({ transport: new SseTransport(`${server}/events`) });
    services.push(service);
    const { container } = mount(<OrderView topic={topic} options={{ id: 5, service }} />);
    await vi.waitFor(() => expect(shown(container)).toBe('- events= connected'), wait);
    await vi.waitFor(() => expect(service.getSubscriptionCount()).toBe(1), wait);

    const response = await fetch(`${server}/control/publish/${topic}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 5, state: 'shipped', version: 1 }),
    });
    expect(response.ok).toBe(true);
    await vi.waitFor(() => expect(shown(container)).toBe('shipped events=shipped connected'), wait);
  });
});
