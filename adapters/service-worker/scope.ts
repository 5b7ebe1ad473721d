// The few browser objects this entry touches, typed by their shape: the entry's types must compile
// with `lib: ["webworker"]` and no DOM types, and TypeScript's libs have no Background Sync types
// (SyncEvent, SyncManager, PeriodicSyncManager) at all.

/** A `sync` or `periodicsync` event, as far as {@link handleBackgroundSync} reads it. */
export interface SyncEventLike {
  /** The tag the page registered. */
  readonly tag: string;
  /** True on the browser's last try of this sync (`sync` only). */
  readonly lastChance?: boolean;
  /** Keeps the worker alive until the promise settles; a rejection asks the browser to try again later. */
  waitUntil(promise: Promise<unknown>): void;
}

/** A window the worker can post to. */
export interface WindowClientLike {
  /** Posts a structured-cloneable message to the window. */
  postMessage(message: unknown): void;
}

/**
 * The service worker's global scope, as far as {@link handleBackgroundSync} uses it; the default is
 * `globalThis` (`self`), which fits.
 */
export interface ServiceWorkerScopeLike {
  /** Listens to `sync` and `periodicsync` events. */
  addEventListener(type: 'sync' | 'periodicsync', listener: (event: SyncEventLike) => void): void;
  /** Stops listening. */
  removeEventListener(type: 'sync' | 'periodicsync', listener: (event: SyncEventLike) => void): void;
  /** The windows of this origin. */
  readonly clients: {
    /** Lists the windows (controlled or not: a page opened before the worker took over counts too). */
    matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<readonly WindowClientLike[]>;
  };
}

/** A `SyncManager` (`registration.sync`): one-off Background Sync, where the browser has it. */
export interface SyncManagerLike {
  /** Asks for a `sync` event with `tag` once the network is there; one pending request per tag. */
  register(tag: string): Promise<void>;
}

/** A `PeriodicSyncManager` (`registration.periodicSync`), where the browser has it. */
export interface PeriodicSyncManagerLike {
  /** Asks for `periodicsync` events with `tag`, at most every `minInterval` ms. */
  register(tag: string, options: { minInterval: number }): Promise<void>;
}

/** A `ServiceWorkerRegistration`, as far as {@link registerBackgroundSync} uses it. */
export interface SyncRegistrationLike {
  /** Missing where the browser has no Background Sync (Firefox, Safari). */
  readonly sync?: SyncManagerLike;
  /** Missing where the browser has no Periodic Background Sync. */
  readonly periodicSync?: PeriodicSyncManagerLike;
}

/** `navigator.serviceWorker`, as far as {@link registerBackgroundSync} uses it. */
export interface ServiceWorkerContainerLike {
  /** Resolves with the active registration (never, while no worker is registered). */
  readonly ready: Promise<SyncRegistrationLike>;
}

/** `navigator.permissions`, as far as {@link registerBackgroundSync} uses it. */
export interface PermissionsLike {
  /** The state of a permission by name. */
  query(descriptor: { name: string }): Promise<{
    /** `'granted'`, `'denied'` or `'prompt'`. */
    readonly state: string;
  }>;
}
