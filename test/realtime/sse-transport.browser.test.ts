// SseTransport in real Chromium with the browser's own EventSource (and, with headers, streaming fetch)
// against a real Express realtimeSse() server started by the global setup sse-browser-server.ts.
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { type ChangeEvent, ManualClock, type RealtimeStatus, RealtimeSyncService, SseTransport, type SseTransportOptions } from 'closed-loop';

const base = inject('sseBrowserUrl');
const wait = { timeout: 5000, interval: 10 };

async function control<T = unknown>(path: string): Promise<T> {
  const response = await fetch(`${base}/control/${path}`);
  return (await response.json()) as T;
}

/** Counts the EventSources made, and their URLs. */
const created: string[] = [];
class CountingEventSource extends EventSource {
  constructor(url: string | URL, init?: EventSourceInit) {
    super(url, init);
    created.push(String(url));
  }
}

const services: RealtimeSyncService[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.destroy();
  created.length = 0;
  await vi.waitFor(async () => expect((await control<{ connections: number }>('stats')).connections).toBe(0), wait);
});

function client(path: string, options: SseTransportOptions) {
  const statuses: RealtimeStatus[] = [];
  const transport = new SseTransport(`${base}${path}`, options);
  const service = new RealtimeSyncService({ transport });
  services.push(service);
  service.on('status', (status) => statuses.push(status));
  const got: number[] = [];
  const ids: string[] = [];
  service.subscribe('orders', (event: ChangeEvent) => {
    got.push((event.new as { n: number }).n);
    ids.push(event.eventId);
  });
  return { service, transport, statuses, got, ids };
}

describe('SseTransport in Chromium', () => {
  it('uses EventSource and, cut mid-stream again and again, gets every event exactly once, in order', async () => {
    const clock = new ManualClock();
    const { service, transport, statuses, got, ids } = client('/events', { clock, reconnectDelayMs: 200, EventSource: CountingEventSource });
    await vi.waitFor(() => expect(service.status).toBe('connected'), wait);
    await vi.waitFor(() => expect(transport.lastEventId).toBeDefined(), wait);
    expect(created).toHaveLength(1);

    let n = 0;
    const batch = (size: number) => control(`publish?topic=orders&from=${n + 1}&to=${(n += size)}`);
    for (let round = 0; round < 3; round++) {
      await batch(20);
      // Cut the streams while a batch is being published and written.
      await Promise.all([batch(20), control('drop')]);
      await vi.waitFor(() => expect(service.status).toBe('reconnecting'), wait);
      await batch(20); // published while this client is away
      await clock.advance(200);
      await vi.waitFor(() => expect(service.status).toBe('connected'), wait);
    }
    await batch(20);
    await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(n), wait);
    await new Promise((resolve) => setTimeout(resolve, 30));

    expect(got).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(new Set(ids).size).toBe(ids.length);
    expect(statuses).toEqual(['connected', 'reconnecting', 'connected', 'reconnecting', 'connected', 'reconnecting', 'connected']);
    // Every reconnect was a new EventSource of ours, resuming through the lastEventId query parameter.
    expect(created).toHaveLength(4);
    for (const url of created.slice(1)) expect(new URL(url).searchParams.get('lastEventId')).toBeTruthy();
  });

  it('reports resynced when the server buffer no longer reaches back', async () => {
    const clock = new ManualClock();
    const { service, transport, statuses, got } = client('/events-small', { clock, reconnectDelayMs: 100, EventSource: CountingEventSource });
    await vi.waitFor(() => expect(transport.lastEventId).toBeDefined(), wait);
    await control('publish?topic=orders&from=1&to=1');
    await vi.waitFor(() => expect(got).toEqual([1]), wait);
    await control('drop');
    await vi.waitFor(() => expect(service.status).toBe('reconnecting'), wait);
    await control('publish?topic=orders&from=2&to=10');
    await clock.advance(100);
    await vi.waitFor(() => expect(service.status).toBe('resynced'), wait);
    expect(statuses).toEqual(['connected', 'reconnecting', 'connected', 'resynced']);
    expect(got).toEqual([1]);
    await control('publish?topic=orders&from=11&to=11');
    await vi.waitFor(() => expect(got).toEqual([1, 11]), wait);
  });

  it('with headers, streams with fetch and resumes with the Last-Event-ID header', async () => {
    const clock = new ManualClock();
    const { service, transport, got } = client('/events', {
      clock,
      reconnectDelayMs: 100,
      headers: { Authorization: 'Bearer t' },
      EventSource: CountingEventSource,
    });
    await vi.waitFor(() => expect(transport.lastEventId).toBeDefined(), wait);
    expect(created).toHaveLength(0);
    const [first] = await control<string[]>('publish?topic=orders&from=1001&to=1002');
    await vi.waitFor(() => expect(got).toEqual([1001, 1002]), wait);
    expect(first).toBeTruthy();
    await control('drop');
    await vi.waitFor(() => expect(service.status).toBe('reconnecting'), wait);
    await control('publish?topic=orders&from=1003&to=1004');
    await clock.advance(100);
    await vi.waitFor(() => expect(got).toEqual([1001, 1002, 1003, 1004]), wait);
    expect(service.status).toBe('connected');
  });
});
