// Node: closed-loop/react renders on a server. `window`, `navigator` and `document` are made to throw
// while the entry is imported and rendered, so any touch of them (at import or during render) fails.
import React from 'react';
import { renderToString } from 'react-dom/server';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { createSyncClient, MemoryQueueStorage, OfflineQueue, RealtimeSyncService } from 'closed-loop';

const browserGlobals = ['window', 'navigator', 'document'] as const;
let saved: Array<[string, PropertyDescriptor | undefined]> = [];

beforeEach(() => {
  saved = browserGlobals.map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)]);
  for (const name of browserGlobals) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        throw new Error(`closed-loop/react touched \`${name}\` on the server`);
      },
    });
  }
});

afterEach(() => {
  for (const [name, descriptor] of saved) {
    if (descriptor === undefined) Reflect.deleteProperty(globalThis, name);
    else Object.defineProperty(globalThis, name, descriptor);
  }
});

// Made before the globals throw: the core's objects are not under test here.
const client = createSyncClient({ baseUrl: 'http://127.0.0.1:1', fetch: () => Promise.reject(new Error('no request on the server')) });
const queue = new OfflineQueue({ storage: new MemoryQueueStorage() });
const realtime = new RealtimeSyncService();
realtime.publish('orders', { id: 7, state: 'paid', version: 1 });

test('the provider, the hooks and the buttons render to a string without window or navigator', async () => {
  // Imported here, after the globals throw: importing must not touch them either.
  const { SyncButton, SyncButtonWithConfirm, SyncButtonWithProgress, SyncProvider, useOfflineSync, useRealtime, useSyncMutation } =
    await import('closed-loop/react');

  function Page(): React.ReactElement {
    const save = useSyncMutation<{ ok: boolean }, { title: string }>({ endpoint: '/todos', retry: { maxAttempts: 4 } });
    const offline = useOfflineSync();
    const order = useRealtime<{ id: number; state: string }>('orders', { id: 7, filter: () => true });
    return (
      <main>
        <p id="mutation">
          {save.status} {save.progress.attempt}/{save.progress.maxAttempts} {String(save.isIdle)}
        </p>
        <p id="offline">
          {String(offline.isOnline)} {offline.pending} {offline.deadLettered} {String(offline.isSyncing)}
        </p>
        <p id="realtime">
          {order.latest?.state} {order.events.length} {order.status}
        </p>
        <SyncButton endpoint="/orders">Pay</SyncButton>
        <SyncButtonWithConfirm endpoint="/orders/1" method="DELETE" confirmMessage="Delete it?">
          Delete
        </SyncButtonWithConfirm>
        <SyncButtonWithProgress endpoint="/orders">Pay with progress</SyncButtonWithProgress>
      </main>
    );
  }

  const html = renderToString(
    <SyncProvider client={client} queue={queue} realtime={realtime}>
      <Page />
    </SyncProvider>,
  );

  expect(html).toContain('<p id="mutation">idle<!-- --> <!-- -->0<!-- -->/<!-- -->4<!-- --> <!-- -->true</p>');
  // The server assumes online; an empty queue; the record published before the render.
  expect(html).toContain('<p id="offline">true<!-- --> <!-- -->0<!-- --> <!-- -->0<!-- --> <!-- -->false</p>');
  expect(html).toMatch(/<p id="realtime">paid<!-- --> <!-- -->0<!-- --> <!-- -->\w+<\/p>/);
  expect(html.match(/<button[^>]*data-state="idle"/g)).toHaveLength(3);
  expect(html).toContain('>Pay</');
});

test('a hook with neither its own client nor a provider throws an Error naming what is missing', async () => {
  const { useSyncMutation, useOfflineSync, useRealtime } = await import('closed-loop/react');
  const Mutation = (): null => {
    useSyncMutation({ endpoint: '/todos' });
    return null;
  };
  const Offline = (): null => {
    useOfflineSync();
    return null;
  };
  const Realtime = (): null => {
    useRealtime('orders');
    return null;
  };
  expect(() => renderToString(<Mutation />)).toThrow(/useSyncMutation needs a `client`.*<SyncProvider client=/);
  expect(() => renderToString(<Offline />)).toThrow(/useOfflineSync needs a `queue`.*<SyncProvider queue=/);
  expect(() => renderToString(<Realtime />)).toThrow(/useRealtime needs a `service`.*<SyncProvider realtime=/);
});

test("a hook's own client wins over the provider's", async () => {
  const { SyncProvider, useSyncMutation } = await import('closed-loop/react');
  const other = createSyncClient({ baseUrl: 'http://127.0.0.1:2', retry: { maxAttempts: 9 } });
  function Attempts(): React.ReactElement {
    return <>{useSyncMutation({ endpoint: '/x', client: other }).progress.maxAttempts}</>;
  }
  expect(renderToString(<SyncProvider client={client}><Attempts /></SyncProvider>)).toBe('9');
});
