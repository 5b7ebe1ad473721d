// The page of bench/react-renders.mjs: one button at a time, in a <Profiler>, that logs every commit.
// Bundled twice by the bench (React 19 from the root, React 18 from test/react18); `closed-loop` and
// `closed-loop/react` come from dist/, as an app gets them from the package.
//
// The bench (in Node, through Playwright) calls `window.rendersBench.mount(spec)`, clicks the button
// with a real click, waits for `window.rendersBench.finished()` and reads `window.rendersBench.log()`.
// Every commit of the button's subtree is logged with the button's data-state in the DOM at that
// commit and the mutation's state (SyncButton: the core observer's getState(); TanStack: the status
// its last render saw), so the bench can say which transition each re-render comes from.

import { Profiler, useEffect, version as reactVersion } from 'react';
import { version as reactDomVersion } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider, useMutation } from '@tanstack/react-query';
import { createSyncClient } from 'closed-loop';
import { SyncButton, SyncButtonWithProgress, SyncProvider } from 'closed-loop/react';

const BODY = { sku: 'A1' };

let root;
let container;
let run;

/** What the TanStack button rendered last: read at its commit. */
let tanstackRendered;

/** The run's log: every Profiler commit of the button, and the click. */
function newRun(spec) {
  return { spec, commits: [], clickAt: undefined, mutations: [], successAt: undefined, idleAt: undefined };
}

function buttonElement() {
  return container.querySelector('button');
}

/** The observed state at a commit: the button in the DOM, and the mutation behind it. */
function snapshot() {
  const button = buttonElement();
  const entry = {
    domState: button?.getAttribute('data-state') ?? null,
    text: button?.textContent ?? null,
  };
  if (run.spec.kind === 'tanstack') {
    entry.status = tanstackRendered?.status;
  } else {
    const mutation = run.mutations[run.mutations.length - 1];
    const state = mutation?.getState();
    entry.status = state?.status;
    entry.attempt = state?.attempt;
    entry.maxAttempts = state?.maxAttempts;
  }
  return entry;
}

function onRender(_id, phase) {
  const entry = { phase, afterClick: run.clickAt !== undefined, ...snapshot() };
  run.commits.push(entry);
  if (!entry.afterClick) return;
  if (run.successAt === undefined && entry.domState === 'success') run.successAt = run.commits.length - 1;
  else if (run.successAt !== undefined && run.idleAt === undefined && entry.domState === 'idle') {
    run.idleAt = run.commits.length - 1;
  }
}

/** The sync client of one run: fresh, so no breaker or retry state carries over between runs. */
function syncClient() {
  const client = createSyncClient({ baseUrl: location.origin, retry: { initialDelayMs: 1, jitter: 'none' } });
  // Observe the mutation observers the buttons make, to read their state at each commit.
  const mutation = client.mutation.bind(client);
  client.mutation = (...args) => {
    const observer = mutation(...args);
    run.mutations.push(observer);
    return observer;
  };
  return client;
}

/** A button on TanStack Query's useMutation, its mutationFn the sync client's post; it shows its own state. */
function TanstackButton({ client, endpoint, successDurationMs }) {
  const mutation = useMutation({ mutationFn: (body) => client.post(endpoint, body) });
  tanstackRendered = mutation;
  const { status, reset, isPending, isSuccess } = mutation;
  // Success shows for a while, then idle again, like the SyncButton's successDurationMs.
  useEffect(() => {
    if (status !== 'success' && status !== 'error') return undefined;
    const timer = setTimeout(reset, successDurationMs);
    return () => clearTimeout(timer);
  }, [status, reset, successDurationMs]);
  const state = isPending ? 'loading' : status;
  return (
    <>
      <button
        type="button"
        data-state={state}
        aria-busy={isPending}
        aria-disabled={isPending}
        onClick={() => {
          if (!isPending) mutation.mutate(BODY);
        }}
      >
        {isPending ? 'Buying…' : 'Buy'}
      </button>
      <span role="status" aria-live="polite">
        {isSuccess ? 'Done.' : status === 'error' ? 'Something went wrong.' : null}
      </span>
    </>
  );
}

function App({ spec, client, queryClient }) {
  const { kind, endpoint, successDurationMs } = spec;
  let button;
  if (kind === 'sync-button') {
    button = (
      <SyncButton endpoint={endpoint} body={BODY} successDurationMs={successDurationMs}>
        Buy
      </SyncButton>
    );
  } else if (kind === 'sync-button-progress') {
    button = (
      <SyncButtonWithProgress endpoint={endpoint} body={BODY} successDurationMs={successDurationMs}>
        Buy
      </SyncButtonWithProgress>
    );
  } else if (kind === 'tanstack') {
    button = <TanstackButton client={client} endpoint={endpoint} successDurationMs={successDurationMs} />;
  } else {
    throw new Error(`unknown kind ${kind}`);
  }
  const profiled = (
    <Profiler id={kind} onRender={onRender}>
      {button}
    </Profiler>
  );
  return (
    <SyncProvider client={client}>
      {queryClient === undefined ? profiled : <QueryClientProvider client={queryClient}>{profiled}</QueryClientProvider>}
    </SyncProvider>
  );
}

function unmount() {
  root?.unmount();
  container?.remove();
  root = undefined;
  container = undefined;
}

window.rendersBench = {
  versions: { react: reactVersion, reactDom: reactDomVersion },
  /** A fresh root, client (and QueryClient) with one button; resolves once it is mounted and idle. */
  async mount(spec) {
    unmount();
    run = newRun(spec);
    container = document.createElement('div');
    container.id = 'case';
    document.body.append(container);
    // Real clicks: mark where the click is, in the capture phase, before React handles it.
    container.addEventListener(
      'click',
      () => {
        if (run.clickAt === undefined) run.clickAt = run.commits.length;
      },
      { capture: true },
    );
    const client = syncClient();
    const queryClient = spec.kind === 'tanstack' ? new QueryClient() : undefined;
    root = createRoot(container);
    root.render(<App spec={spec} client={client} queryClient={queryClient} />);
    // Mounted (the mount commit logged) and nothing pending.
    for (let i = 0; i < 100 && buttonElement()?.getAttribute('data-state') !== 'idle'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (buttonElement()?.getAttribute('data-state') !== 'idle') throw new Error('the button did not mount idle');
    await new Promise((resolve) => setTimeout(resolve, 20));
  },
  /** Success shown and idle again. */
  finished() {
    return run !== undefined && run.idleAt !== undefined;
  },
  log() {
    return {
      commits: run.commits,
      clickAt: run.clickAt,
      successAt: run.successAt,
      idleAt: run.idleAt,
      mutations: run.mutations.length,
    };
  },
  unmount,
};
