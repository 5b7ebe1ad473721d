// SyncButton in real Chromium with real React, against the real Express test server
// (test/react/_server.ts) through a real sync client: its states and their aria-* attributes, one
// POST with one key however often it is pressed, errors, offline queueing, an optimistic update
// rolled back, attribute pass-through and the number of renders per press.
import { Profiler, useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import { MemoryQueueStorage, OfflineQueue, isHttpError } from 'closed-loop';
import { SyncButton } from 'closed-loop/react';
import { mount, parts, release, script, stats, switchableFetch, testClient, uniqueName, wait } from './_support.js';

/** Every data-state of `button` and every content of `status`, as they change (no repeats). */
function record(button: HTMLButtonElement, status: HTMLElement) {
  const seen = { states: [button.dataset.state ?? ''], messages: [status.innerHTML], stop: () => observer.disconnect() };
  const observer = new MutationObserver(() => {
    const state = button.dataset.state ?? '';
    if (seen.states.at(-1) !== state) seen.states.push(state);
    if (seen.messages.at(-1) !== status.innerHTML) seen.messages.push(status.innerHTML);
  });
  observer.observe(button, { attributes: true, attributeFilter: ['data-state'] });
  observer.observe(status, { childList: true, subtree: true, characterData: true });
  return seen;
}

describe('SyncButton', () => {
  it('goes idle → loading → success, with aria-busy and aria-disabled (not disabled) while loading', async () => {
    const name = uniqueName('states');
    await script(name, [{ hold: true }]);
    const client = testClient();
    const { container } = mount(
      <SyncButton client={client} endpoint={`/${name}`} body={{ a: 1 }} successMessage="Saved" successDurationMs={60_000}>
        Save
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button, status } = parts(container);
    expect(button.dataset.state).toBe('idle');
    expect(button.type).toBe('button');
    expect(button.hasAttribute('aria-busy')).toBe(false);
    expect(button.hasAttribute('aria-disabled')).toBe(false);
    expect(status.getAttribute('aria-live')).toBe('polite');
    expect(status.textContent).toBe('');
    expect(button.nextElementSibling).toBe(status);

    await userEvent.click(button);
    await vi.waitFor(() => expect(button.dataset.state).toBe('loading'), wait);
    expect(button.getAttribute('aria-busy')).toBe('true');
    expect(button.getAttribute('aria-disabled')).toBe('true');
    expect(button.disabled).toBe(false);
    expect(document.activeElement).toBe(button);
    expect(button.querySelector('.closed-loop-spinner')?.getAttribute('aria-hidden')).toBe('true');
    expect(status.textContent).toBe('');
    await vi.waitFor(async () => expect((await stats(name)).requests).toBe(1), wait);

    await release(name);
    await vi.waitFor(() => expect(button.dataset.state).toBe('success'), wait);
    expect(status.textContent).toBe('Saved');
    expect(button.hasAttribute('aria-busy')).toBe(false);
    expect(button.hasAttribute('aria-disabled')).toBe(false);
    expect(button.querySelector('.closed-loop-spinner')).toBeNull();
    const s = await stats(name);
    expect(s).toMatchObject({ requests: 1, effects: 1 });
  });

  it('a double click sends one POST with one key', async () => {
    const name = uniqueName('double');
    const client = testClient();
    const { container } = mount(
      <SyncButton client={client} endpoint={`/${name}`} successDurationMs={60_000}>
        Save
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button } = parts(container);
    await userEvent.dblClick(button);
    await vi.waitFor(() => expect(button.dataset.state).toBe('success'), wait);
    const s = await stats(name);
    expect(s.requests).toBe(1);
    expect(s.effects).toBe(1);
    expect(s.keys).toHaveLength(1);
  });

  it('five rapid clicks while loading send one POST with one key', async () => {
    const name = uniqueName('five');
    await script(name, [{ hold: true }]);
    const client = testClient();
    const { container } = mount(
      <SyncButton client={client} endpoint={`/${name}`} successDurationMs={60_000}>
        Save
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button } = parts(container);
    for (let i = 0; i < 5; i++) button.click();
    await vi.waitFor(() => expect(button.dataset.state).toBe('loading'), wait);
    // Real clicks on the loading button (Playwright holds back clicks on an aria-disabled element
    // unless forced; a user's click is not held back).
    for (let i = 0; i < 5; i++) await userEvent.click(button, { force: true });
    expect(button.dataset.state).toBe('loading');
    await vi.waitFor(async () => expect((await stats(name)).requests).toBe(1), wait);
    await release(name);
    await vi.waitFor(() => expect(button.dataset.state).toBe('success'), wait);
    const s = await stats(name);
    expect(s).toMatchObject({ requests: 1, effects: 1 });
    expect(s.keys).toHaveLength(1);
  });

  it('a 400 ends in error, its message announced in the status region', async () => {
    const name = uniqueName('bad-request');
    await script(name, [{ status: 400 }]);
    const client = testClient();
    const onError = vi.fn();
    const { container } = mount(
      <SyncButton
        client={client}
        endpoint={`/${name}`}
        body={{ bad: true }}
        successDurationMs={60_000}
        errorMessage={(error) => (isHttpError(error) ? `Refused (${error.status})` : 'Failed')}
        onError={onError}
      >
        Save
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button, status } = parts(container);
    await userEvent.click(button);
    await vi.waitFor(() => expect(button.dataset.state).toBe('error'), wait);
    expect(status.textContent).toBe('Refused (400)');
    expect(button.hasAttribute('aria-busy')).toBe(false);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]?.[1]).toEqual({ bad: true });
    expect(await stats(name)).toMatchObject({ requests: 1, effects: 0 });
  });

  it('success and error go back to idle after successDurationMs; the live region stays, emptied', async () => {
    const name = uniqueName('back-to-idle');
    await script(name, [{ status: 201 }, { status: 422 }]);
    const client = testClient();
    const { container } = mount(
      <SyncButton client={client} endpoint={`/${name}`} successMessage="Saved" errorMessage={<em>Nope</em>} successDurationMs={30}>
        Save
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button, status } = parts(container);
    // The states and announcements are short-lived here: record every one as the DOM changes.
    const seen = record(button, status);

    await userEvent.click(button);
    await vi.waitFor(() => expect(seen.states).toEqual(['idle', 'loading', 'success', 'idle']), wait);
    await userEvent.click(button);
    await vi.waitFor(() => expect(seen.states).toEqual(['idle', 'loading', 'success', 'idle', 'loading', 'error', 'idle']), wait);
    expect(seen.messages).toEqual(['', 'Saved', '', '<em>Nope</em>', '']);
    expect(status.isConnected).toBe(true);
    expect(button.nextElementSibling).toBe(status);
    seen.stop();
  });

  it('queued goes back to idle too; the mutation stays queued and its onSuccess still runs on delivery', async () => {
    const name = uniqueName('queued-idle');
    const network = switchableFetch();
    network.state.offline = true;
    const queue = new OfflineQueue({ storage: new MemoryQueueStorage() });
    const client = testClient({ fetch: network.fetch, offlineQueue: queue });
    const onSuccess = vi.fn();
    const { container } = mount(
      <SyncButton
        client={client}
        endpoint={`/${name}`}
        mutationConfig={{ queueWhenOffline: true }}
        queuedMessage="Saved offline"
        successDurationMs={30}
        onSuccess={onSuccess}
      >
        Save
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button, status } = parts(container);
    const seen = record(button, status);
    await userEvent.click(button);
    await vi.waitFor(() => expect(seen.states).toEqual(['idle', 'loading', 'queued', 'idle']), wait);
    expect(seen.messages).toEqual(['', 'Saved offline', '']);
    seen.stop();
    network.state.offline = false;
    await queue.process();
    expect(await stats(name)).toMatchObject({ requests: 1, effects: 1, keys: [network.state.keys[0]] });
    await vi.waitFor(() => expect(onSuccess).toHaveBeenCalledTimes(1), wait);
    expect(button.dataset.state).toBe('idle');
  });

  it('offline with a queue: queued (announced), then delivered once with its key when back online', async () => {
    const name = uniqueName('offline');
    const network = switchableFetch();
    network.state.offline = true;
    const queue = new OfflineQueue({ storage: new MemoryQueueStorage() });
    const client = testClient({ fetch: network.fetch, offlineQueue: queue });
    const onSuccess = vi.fn();
    const { container } = mount(
      <SyncButton
        client={client}
        endpoint={`/${name}`}
        body={{ sku: 'A1' }}
        mutationConfig={{ queueWhenOffline: true }}
        queuedMessage="Saved offline"
        successMessage="Sent"
        successDurationMs={60_000}
        onSuccess={onSuccess}
      >
        Order
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button, status } = parts(container);
    await userEvent.click(button);
    await vi.waitFor(() => expect(button.dataset.state).toBe('queued'), wait);
    expect(status.textContent).toBe('Saved offline');
    expect(button.hasAttribute('aria-busy')).toBe(false);
    expect(await stats(name)).toMatchObject({ requests: 0, effects: 0 });
    expect((await queue.getItems()).length).toBe(1);
    const key = network.state.keys[0];
    expect(key).toBeDefined();

    network.state.offline = false;
    await queue.process();
    const s = await stats(name);
    expect(s).toMatchObject({ requests: 1, effects: 1, keys: [key] });
    expect(new Set(network.state.keys)).toEqual(new Set([key]));
    expect(await queue.getItems()).toEqual([]);
    // Still the same mutation on the button (successDurationMs has not run out): it shows the delivery.
    await vi.waitFor(() => expect(button.dataset.state).toBe('success'), wait);
    expect(status.textContent).toBe('Sent');
    expect(onSuccess).toHaveBeenCalledTimes(1);
  });

  it('an optimistic item is added by onMutate and rolled back by onError with its context', async () => {
    const name = uniqueName('optimistic');
    await script(name, [{ hold: true, status: 400 }]);
    const client = testClient();
    function TodoList() {
      const [items, setItems] = useState<string[]>(['milk']);
      return (
        <div>
          <ul>
            {items.map((item) => (
              <li key={item}>{item}</li>
            ))}
          </ul>
          <SyncButton<unknown, string, { previous: string[] }>
            client={client}
            endpoint={`/${name}`}
            body="eggs"
            successDurationMs={60_000}
            mutationConfig={{
              onMutate: (item) => {
                const previous = items;
                setItems([...items, item]);
                return { previous };
              },
              onError: (_error, _item, context) => {
                if (context !== undefined) setItems(context.previous);
              },
            }}
          >
            Add eggs
          </SyncButton>
        </div>
      );
    }
    const { container } = mount(<TodoList />);
    await vi.waitFor(() => parts(container), wait);
    const { button } = parts(container);
    const list = (): string[] => [...container.querySelectorAll('li')].map((li) => li.textContent ?? '');
    expect(list()).toEqual(['milk']);
    await userEvent.click(button);
    await vi.waitFor(() => expect(list()).toEqual(['milk', 'eggs']), wait);
    await vi.waitFor(async () => expect((await stats(name)).requests).toBe(1), wait);
    await release(name);
    await vi.waitFor(() => expect(button.dataset.state).toBe('error'), wait);
    await vi.waitFor(() => expect(list()).toEqual(['milk']), wait);
  });

  it('passes className, children and other button attributes through; unstyled class names', async () => {
    const name = uniqueName('attrs');
    const client = testClient();
    const { container } = mount(
      <SyncButton
        client={client}
        endpoint={`/${name}`}
        className="primary big"
        id="save-button"
        name="save"
        aria-label="Save the order"
        data-testid="save"
        title="Saves"
      >
        <b>Save</b> now
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button, status } = parts(container);
    expect(button.className).toBe('closed-loop-button primary big');
    expect(button.id).toBe('save-button');
    expect(button.name).toBe('save');
    expect(button.getAttribute('aria-label')).toBe('Save the order');
    expect(button.dataset.testid).toBe('save');
    expect(button.title).toBe('Saves');
    expect(button.type).toBe('button');
    expect(button.querySelector('b')?.textContent).toBe('Save');
    expect(button.textContent).toBe('Save now');
    expect(status.className).toBe('closed-loop-status');
    expect(button.getAttribute('style')).toBeNull();
  });

  it('type can be overridden', async () => {
    const client = testClient();
    const { container } = mount(
      <SyncButton client={client} endpoint="/unused" type="submit">
        Go
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    expect(parts(container).button.type).toBe('submit');
  });

  it('the disabled prop disables the button: a click sends nothing', async () => {
    const name = uniqueName('disabled');
    const client = testClient();
    const { container } = mount(
      <SyncButton client={client} endpoint={`/${name}`} disabled>
        Save
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button } = parts(container);
    expect(button.disabled).toBe(true);
    button.click();
    expect(button.dataset.state).toBe('idle');
    // An enabled button on another route, pressed after: by the time its POST is answered, a POST
    // from the disabled one would have arrived too.
    const other = uniqueName('enabled');
    const second = mount(
      <SyncButton client={client} endpoint={`/${other}`}>
        Save
      </SyncButton>,
    );
    await vi.waitFor(() => parts(second.container), wait);
    await userEvent.click(parts(second.container).button);
    await vi.waitFor(() => expect(parts(second.container).button.dataset.state).toBe('success'), wait);
    expect(await stats(name)).toMatchObject({ requests: 0, effects: 0 });
    expect(button.dataset.state).toBe('idle');
  });

  it('onClick receives mutate instead of the default mutate(body)', async () => {
    const name = uniqueName('on-click');
    const client = testClient();
    const onSuccess = vi.fn();
    const { container } = mount(
      <SyncButton<{ ok: boolean }, { n: number }>
        client={client}
        endpoint={`/${name}`}
        body={{ n: 1 }}
        onClick={(mutate) => mutate({ n: 2 })}
        onSuccess={onSuccess}
        successDurationMs={60_000}
      >
        Save
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    await userEvent.click(parts(container).button);
    await vi.waitFor(() => expect(onSuccess).toHaveBeenCalledTimes(1), wait);
    expect(onSuccess.mock.calls[0]?.[1]).toEqual({ n: 2 });
    expect((await stats(name)).effects).toBe(1);
  });

  it('loadingText and successText replace the content; showSpinner={false} hides the spinner', async () => {
    const name = uniqueName('texts');
    await script(name, [{ hold: true }]);
    const client = testClient();
    const { container } = mount(
      <SyncButton
        client={client}
        endpoint={`/${name}`}
        loadingText="Saving…"
        successText="Saved!"
        showSpinner={false}
        successDurationMs={60_000}
      >
        Save
      </SyncButton>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button } = parts(container);
    await userEvent.click(button);
    await vi.waitFor(() => expect(button.textContent).toBe('Saving…'), wait);
    expect(button.querySelector('.closed-loop-spinner')).toBeNull();
    await vi.waitFor(async () => expect((await stats(name)).requests).toBe(1), wait);
    await release(name);
    await vi.waitFor(() => expect(button.textContent).toBe('Saved!'), wait);
  });

  it('one press to success re-renders the button at most 4 times', async () => {
    const name = uniqueName('renders');
    const client = testClient();
    const commits: string[] = [];
    const { container } = mount(
      <Profiler id="button" onRender={(_id, phase) => commits.push(phase)}>
        <SyncButton client={client} endpoint={`/${name}`} successDurationMs={60_000}>
          Save
        </SyncButton>
      </Profiler>,
    );
    await vi.waitFor(() => parts(container), wait);
    expect(commits).toEqual(['mount']);
    const { button } = parts(container);
    await userEvent.click(button);
    await vi.waitFor(() => expect(button.dataset.state).toBe('success'), wait);
    const updates = commits.filter((phase) => phase !== 'mount').length;
    expect(updates).toBeGreaterThan(0);
    expect(updates).toBeLessThanOrEqual(4);
  });
});
