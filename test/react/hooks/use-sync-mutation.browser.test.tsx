// useSyncMutation in real Chromium with real React, through a real sync client against the Express
// test server (test/react/_server.ts): the states and attempt progress it renders, its callbacks
// (also after unmount, the latest ones rendered), a press while pending sending nothing, inline
// options keeping one observer, and the queued state.
import type { ReactElement } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import { MemoryQueueStorage, OfflineQueue, isHttpError, isOfflineQueuedError, type SyncClient } from 'closed-loop';
import { SyncProvider, useSyncMutation, type UseSyncMutationOptions } from 'closed-loop/react';
import { mount, release, script, stats, switchableFetch, testClient, uniqueName, wait } from '../buttons/_support.js';

type Todo = { title: string };
type Saved = { ok: boolean; n: number };

/** Renders the hook's state as text and a button that calls `mutate`; `calls` records its callbacks. */
function Save(props: { options: UseSyncMutationOptions<Saved, Todo, string>; vars?: Todo; label?: string }): ReactElement {
  const m = useSyncMutation(props.options);
  return (
    <div>
      <output data-testid="state">
        {m.status} {m.progress.attempt}/{m.progress.maxAttempts} {m.data?.n ?? '-'}
      </output>
      <output data-testid="flags">
        {[m.isIdle, m.isPending, m.isQueued, m.isSuccess, m.isError].map((flag) => (flag ? 1 : 0)).join('')}
      </output>
      <output data-testid="key">{m.idempotencyKey ?? ''}</output>
      <output data-testid="label">{props.label}</output>
      <button onClick={() => m.mutate(props.vars ?? { title: 'milk' })}>save</button>
      <button onClick={m.reset}>reset</button>
    </div>
  );
}

function text(container: HTMLElement, id: string): string {
  return container.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
}

function button(container: HTMLElement, label: string): HTMLButtonElement {
  const found = [...container.querySelectorAll('button')].find((b) => b.textContent === label);
  if (found === undefined) throw new Error(`no ${label} button yet`);
  return found;
}

/** Callbacks that log what they get, as `name:args`. */
function recorder(label = '') {
  const calls: string[] = [];
  const callbacks = {
    onMutate: (vars: Todo) => {
      calls.push(`${label}onMutate:${vars.title}`);
      return `ctx-${vars.title}`;
    },
    onSuccess: (data: Saved, vars: Todo, context: string | undefined) => {
      calls.push(`${label}onSuccess:${data.ok}:${vars.title}:${context}`);
    },
    onError: (error: unknown, vars: Todo, context: string | undefined) => {
      calls.push(`${label}onError:${isHttpError(error) ? error.status : String(error)}:${vars.title}:${context}`);
    },
    onSettled: (data: Saved | undefined, error: unknown, vars: Todo, context: string | undefined) => {
      calls.push(`${label}onSettled:${data?.ok}:${error === undefined ? '-' : 'error'}:${vars.title}:${context}`);
    },
  };
  return { calls, callbacks };
}

describe('useSyncMutation', () => {
  it('renders idle → pending with each attempt → success, one key for every attempt', async () => {
    const name = uniqueName('progress');
    await script(name, [{ status: 503 }, { status: 503 }, { hold: true }]);
    const client = testClient();
    const { container } = mount(
      <SyncProvider client={client}>
        <Save options={{ endpoint: `/${name}`, retry: { maxAttempts: 3 } }} />
      </SyncProvider>,
    );
    await vi.waitFor(() => expect(text(container, 'state')).toBe('idle 0/3 -'), wait);
    expect(text(container, 'flags')).toBe('10000');

    await userEvent.click(button(container, 'save'));
    // The third attempt is held by the server: pending, "attempt 3 of 3".
    await vi.waitFor(() => expect(text(container, 'state')).toBe('pending 3/3 -'), wait);
    expect(text(container, 'flags')).toBe('01000');
    const key = text(container, 'key');
    expect(key).toMatch(/\S{16,}/);

    await release(name);
    await vi.waitFor(() => expect(text(container, 'state')).toBe('success 3/3 1'), wait);
    expect(text(container, 'flags')).toBe('00010');
    const s = await stats(name);
    expect(s).toMatchObject({ requests: 3, effects: 1, keys: [key] });

    await userEvent.click(button(container, 'reset'));
    await vi.waitFor(() => expect(text(container, 'state')).toBe('idle 0/3 -'), wait);
    expect(text(container, 'key')).toBe('');
  });

  it('runs onMutate, then onError with its context (a rollback), then onSettled', async () => {
    const name = uniqueName('error');
    await script(name, [{ status: 422 }]);
    const { calls, callbacks } = recorder();
    const { container } = mount(<Save options={{ endpoint: `/${name}`, client: testClient(), retry: { maxAttempts: 3 }, ...callbacks }} />);
    await userEvent.click(await vi.waitFor(() => button(container, 'save'), wait));
    await vi.waitFor(() => expect(text(container, 'flags')).toBe('00001'), wait);
    // A 422 is not retried: it settled on the first of 3 attempts.
    expect(text(container, 'state')).toBe('error 1/3 -');
    await vi.waitFor(() => expect(calls).toEqual(['onMutate:milk', 'onError:422:milk:ctx-milk', 'onSettled:undefined:error:milk:ctx-milk']), wait);
    expect((await stats(name)).effects).toBe(0);
  });

  it('a press while pending sends nothing and runs no callback; the one request settles once', async () => {
    const name = uniqueName('pending-press');
    await script(name, [{ hold: true }]);
    const { calls, callbacks } = recorder();
    const { container } = mount(<Save options={{ endpoint: `/${name}`, client: testClient(), ...callbacks }} />);
    const save = await vi.waitFor(() => button(container, 'save'), wait);
    await userEvent.click(save);
    await vi.waitFor(() => expect(text(container, 'state')).toMatch(/^pending/), wait);
    await vi.waitFor(async () => expect((await stats(name)).requests).toBe(1), wait);
    await userEvent.click(save);
    await userEvent.dblClick(save);

    await release(name);
    await vi.waitFor(() => expect(text(container, 'state')).toMatch(/^success/), wait);
    await vi.waitFor(() => expect(calls).toHaveLength(3), wait);
    expect(calls).toEqual(['onMutate:milk', 'onSuccess:true:milk:ctx-milk', 'onSettled:true:-:milk:ctx-milk']);
    expect(await stats(name)).toMatchObject({ requests: 1, effects: 1 });
  });

  it('runs the latest rendered callbacks when the call settles after the component unmounted', async () => {
    const name = uniqueName('unmount');
    await script(name, [{ hold: true }]);
    const client = testClient();
    const first = recorder('first.');
    const second = recorder('second.');
    const { container, root } = mount(<Save options={{ endpoint: `/${name}`, client, ...first.callbacks }} />);
    await userEvent.click(await vi.waitFor(() => button(container, 'save'), wait));
    await vi.waitFor(async () => expect((await stats(name)).requests).toBe(1), wait);
    // Re-rendered with new callbacks while pending, then gone before the answer comes.
    root.render(<Save options={{ endpoint: `/${name}`, client, ...second.callbacks }} label="second" />);
    await vi.waitFor(() => expect(text(container, 'label')).toBe('second'), wait);
    expect(text(container, 'state')).toMatch(/^pending/);
    root.unmount();
    expect(container.textContent).toBe('');

    await release(name);
    await vi.waitFor(() => expect(second.calls).toEqual(['second.onSuccess:true:milk:ctx-milk', 'second.onSettled:true:-:milk:ctx-milk']), wait);
    expect(first.calls).toEqual(['first.onMutate:milk']);
  });

  it('keeps its mutation across renders with inline options that are equal by value', async () => {
    const name = uniqueName('inline');
    await script(name, [{ hold: true }]);
    const client = testClient();
    const render = (title: string): ReactElement => (
      <Save
        options={{ endpoint: `/${name}`, client, retry: { maxAttempts: 2, initialDelayMs: 1 }, headers: { authorization: 'Bearer t' }, onSuccess: () => {} }}
        vars={{ title }}
        label={title}
      />
    );
    const { container, root } = mount(render('a'));
    await userEvent.click(await vi.waitFor(() => button(container, 'save'), wait));
    await vi.waitFor(() => expect(text(container, 'state')).toMatch(/^pending/), wait);
    root.render(render('b'));
    await vi.waitFor(() => expect(text(container, 'label')).toBe('b'), wait);
    root.render(render('c'));
    await vi.waitFor(() => expect(text(container, 'label')).toBe('c'), wait);
    // A new observer would render idle; the same one is still pending and then succeeds.
    expect(text(container, 'flags')).toBe('01000');
    await release(name);
    await vi.waitFor(() => expect(text(container, 'state')).toBe('success 1/2 1'), wait);
  });

  it('shows queued while offline and success when the queue delivers it, with the same key', async () => {
    const name = uniqueName('queued');
    const queue = new OfflineQueue({ storage: new MemoryQueueStorage() });
    const net = switchableFetch();
    const client: SyncClient = testClient({ fetch: net.fetch, offlineQueue: queue, retry: { maxAttempts: 2, initialDelayMs: 1 } });
    const { calls, callbacks } = recorder();
    const { container } = mount(<Save options={{ endpoint: `/${name}`, client, queueWhenOffline: true, ...callbacks }} />);
    net.state.offline = true;
    await userEvent.click(await vi.waitFor(() => button(container, 'save'), wait));
    await vi.waitFor(() => expect(text(container, 'flags')).toBe('00100'), wait);
    expect(text(container, 'state')).toMatch(/^queued/);
    // A queued mutation is not settled: no rollback while it waits.
    expect(calls).toEqual(['onMutate:milk']);

    net.state.offline = false;
    await queue.process();
    await vi.waitFor(() => expect(text(container, 'flags')).toBe('00010'), wait);
    await vi.waitFor(() => expect(calls).toEqual(['onMutate:milk', 'onSuccess:true:milk:ctx-milk', 'onSettled:true:-:milk:ctx-milk']), wait);
    const s = await stats(name);
    expect(s.effects).toBe(1);
    expect(s.keys).toEqual([text(container, 'key')]);
  });

  it('mutateAsync resolves with the response, or rejects with OfflineQueuedError when queued', async () => {
    const name = uniqueName('async');
    const queue = new OfflineQueue({ storage: new MemoryQueueStorage() });
    const net = switchableFetch();
    const client = testClient({ fetch: net.fetch, offlineQueue: queue, retry: { maxAttempts: 1 } });
    let api: ReturnType<typeof useSyncMutation<Saved, Todo>> | undefined;
    function Probe(): null {
      api = useSyncMutation<Saved, Todo>({ endpoint: `/${name}`, client, queueWhenOffline: true });
      return null;
    }
    mount(<Probe />);
    await vi.waitFor(() => expect(api).toBeDefined(), wait);
    const response = await api!.mutateAsync({ title: 'one' });
    expect(response).toMatchObject({ status: 201, data: { ok: true, n: 1 }, replayed: false });

    net.state.offline = true;
    const rejected = await api!.mutateAsync({ title: 'two' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isOfflineQueuedError(rejected)).toBe(true);
    await vi.waitFor(() => expect(api!.isQueued).toBe(true), wait);
  });
});
