// Shared by the button tests: the test server's control routes (test/react/_server.ts), a real sync
// client against it, and mounting with a real React root.
import type { ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, inject } from 'vitest';
import { createSyncClient, type SyncClientOptions } from 'closed-loop';

export const server = inject('reactServerUrl');
export const wait = { timeout: 5000, interval: 5 };

/** One scripted answer of /api/:name. */
export type Step = { status: number; body?: unknown } | { hold: true; status?: number };

/** What /control/stats/:name reports. */
export interface Stats {
  requests: number;
  effects: number;
  keys: string[];
  replays: number;
  requestKeys: Array<string | null>;
}

let counter = 0;
/** A route name no other test (or run of this one) uses. */
export function uniqueName(label: string): string {
  counter++;
  return `${label}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function script(name: string, steps: Step[]): Promise<void> {
  const response = await fetch(`${server}/control/script/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(steps),
  });
  if (!response.ok) throw new Error(`script ${name}: ${response.status}`);
}

export async function release(name: string): Promise<number> {
  const response = await fetch(`${server}/control/release/${name}`, { method: 'POST' });
  return ((await response.json()) as { released: number }).released;
}

export async function stats(name: string): Promise<Stats> {
  const response = await fetch(`${server}/control/stats/${name}`);
  return (await response.json()) as Stats;
}

/** A real client of the test server; retries wait 1 ms so the tests do not wait on backoff. */
export function testClient(options: Partial<SyncClientOptions> = {}) {
  return createSyncClient({
    baseUrl: `${server}/api`,
    retry: { initialDelayMs: 1, maxDelayMs: 5, jitter: 'none' },
    ...options,
  });
}

/**
 * A fetch that fails like a dropped network (TypeError) while `offline` is set: a page cannot switch
 * `navigator.onLine` itself. Records the Idempotency-Key of every call it sees.
 */
export function switchableFetch() {
  const state = { offline: false, keys: [] as string[] };
  const fetchFn: typeof fetch = (input, init) => {
    const key = new Headers(init?.headers).get('idempotency-key');
    if (key !== null) state.keys.push(key);
    if (state.offline) return Promise.reject(new TypeError('Failed to fetch'));
    return fetch(input, init);
  };
  return { state, fetch: fetchFn };
}

const mounted: Array<{ root: Root; container: HTMLElement }> = [];
afterEach(() => {
  for (const { root, container } of mounted.splice(0)) {
    root.unmount();
    container.remove();
  }
});

/** Renders `node` into a fresh container in the page; unmounted after the test. */
export function mount(node: ReactNode): { container: HTMLElement; root: Root } {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  root.render(node);
  mounted.push({ root, container });
  return { container, root };
}

/** The button and its status region in `container` (once React has rendered them). */
export function parts(container: HTMLElement): { button: HTMLButtonElement; status: HTMLElement } {
  const button = container.querySelector<HTMLButtonElement>('button.closed-loop-button');
  const status = container.querySelector<HTMLElement>('[role="status"]');
  if (button === null || status === null) throw new Error('the SyncButton is not rendered yet');
  return { button, status };
}
