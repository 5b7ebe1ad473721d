// Browser-only helpers: "tabs" as same-origin iframes. Each iframe is its own JavaScript realm with
// its own copy of the library (module instances are per document), sharing IndexedDB, localStorage
// and navigator.locks with the test page, as real tabs of one origin do. Reloading an iframe kills
// its realm mid-work, like a tab reload or crash: pending promises never settle, its Web Locks are
// released and its IndexedDB connection closes.
import { deleteDB } from 'idb';
import { vi } from 'vitest';

type Library = typeof import('../../src/index.js');

export interface Tab {
  readonly iframe: HTMLIFrameElement;
  /** The library as loaded in this tab's realm (a different copy from the test's own import). */
  readonly lib: Library;
  /** The tab's window, for realm-specific setup (e.g. deleting its `navigator.locks`). */
  readonly window: Window & typeof globalThis;
  /** Reloads the tab (its realm dies; pending work is lost) and resolves with the new realm's library. */
  reload(): Promise<Library>;
  close(): void;
}

const tabs = new Set<Tab>();
let counter = 0;

export async function openTab(): Promise<Tab> {
  const iframe = document.createElement('iframe');
  const token = `tab-${++counter}-${Math.random().toString(36).slice(2)}`;
  const moduleUrl = new URL('/src/index.ts', location.origin).href;
  // Vitest's browser mode rewrites every dynamic import() in the modules it serves into a call on its
  // runner object, which only the test page defines: lend it to the tab.
  iframe.srcdoc = `<!doctype html><script type="module">
    window.__vitest_browser_runner__ ??= window.parent.__vitest_browser_runner__;
    const lib = await import(${JSON.stringify(moduleUrl)});
    window.__lib = lib;
    window.parent.postMessage(${JSON.stringify(token)}, '*');
  </script>`;
  const loaded = (): Promise<Library> =>
    new Promise<Library>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the tab did not load the library in time')), 20_000);
      const onMessage = (event: MessageEvent): void => {
        if (event.data !== token || event.source !== iframe.contentWindow) return;
        window.removeEventListener('message', onMessage);
        clearTimeout(timer);
        resolve((iframe.contentWindow as unknown as { __lib: Library }).__lib);
      };
      window.addEventListener('message', onMessage);
    });
  const ready = loaded();
  document.body.append(iframe);
  let lib = await ready;
  const tab: Tab = {
    iframe,
    get lib() {
      return lib;
    },
    get window() {
      return iframe.contentWindow as Window & typeof globalThis;
    },
    async reload() {
      const next = loaded();
      iframe.contentWindow!.location.reload();
      lib = await next;
      return lib;
    },
    close() {
      iframe.remove();
      tabs.delete(tab);
    },
  };
  tabs.add(tab);
  return tab;
}

export function closeAllTabs(): void {
  for (const tab of [...tabs]) tab.close();
}

const databases = new Set<string>();

/** A fresh IndexedDB database name, deleted by {@link deleteDatabases}. */
export function uniqueDbName(prefix = 'closed-loop-test'): string {
  const name = `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  databases.add(name);
  return name;
}

export async function deleteDatabases(): Promise<void> {
  for (const name of [...databases]) {
    databases.delete(name);
    await deleteDB(name).catch(() => undefined);
  }
}

/** Counts calls per item id (and remembers the keys each call carried). */
export function deliveryLog() {
  const byId = new Map<string, string[]>();
  let running = 0;
  let mostAtOnce = 0;
  return {
    record(item: { id: string; idempotencyKey: string }) {
      const keys = byId.get(item.id) ?? [];
      keys.push(item.idempotencyKey);
      byId.set(item.id, keys);
    },
    enter() {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
    },
    leave() {
      running--;
    },
    get byId() {
      return byId;
    },
    get mostAtOnce() {
      return mostAtOnce;
    },
    get calls() {
      let total = 0;
      for (const keys of byId.values()) total += keys.length;
      return total;
    },
  };
}

/** Waits until `check` passes (real I/O: bounded). */
export async function eventually(check: () => unknown, timeout = 15_000): Promise<void> {
  await vi.waitFor(async () => {
    await check();
  }, { timeout, interval: 20 });
}

