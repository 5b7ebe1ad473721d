import { createContext, useContext, useMemo, type ReactElement, type ReactNode } from 'react';
import type { OfflineQueue, RealtimeSyncService, SyncClient } from 'closed-loop';

/** Props of {@link SyncProvider}. @category Provider */
export interface SyncProviderProps {
  /** The client every hook and button below sends with, unless given its own `client`. */
  client: SyncClient;
  /** The realtime service `useRealtime` reads, unless given its own `service`. */
  realtime?: RealtimeSyncService | undefined;
  /** The offline queue `useOfflineSync` shows, unless given its own. */
  queue?: OfflineQueue | undefined;
  /** The part of the app that uses them. */
  children?: ReactNode;
}

/** What the provider hands down: the objects themselves, the hooks make their observers. */
interface SyncContextValue {
  client?: SyncClient | undefined;
  realtime?: RealtimeSyncService | undefined;
  queue?: OfflineQueue | undefined;
}

// Outside a provider the hooks see an empty value and need their explicit arguments.
const SyncContext = createContext<SyncContextValue>({});
SyncContext.displayName = 'SyncContext';

/**
 * Gives the hooks and buttons below it their sync client, and optionally a realtime service and an
 * offline queue. A hook's own `client` (or `service`, `queue`) argument wins over the provider's.
 *
 * @example
 * ```tsx
 * <SyncProvider client={api} realtime={live} queue={queue}>
 *   <App />
 * </SyncProvider>
 * ```
 * @category Provider
 */
export function SyncProvider({ client, realtime, queue, children }: SyncProviderProps): ReactElement {
  // A new value only when one of the objects changes, so consumers do not re-render for nothing.
  const value = useMemo<SyncContextValue>(() => ({ client, realtime, queue }), [client, realtime, queue]);
  // `.Provider` rather than React 19's `<SyncContext value>`: React 18 is supported too.
  return <SyncContext.Provider value={value}>{children}</SyncContext.Provider>;
}

/**
 * The provider's objects (an empty object outside a provider).
 *
 * @internal
 */
export function useSyncContext(): SyncContextValue {
  return useContext(SyncContext);
}

/**
 * The explicit argument if given, else the provider's; throws an Error naming both ways to give it.
 *
 * @internal
 */
export function pick<T>(explicit: T | undefined, provided: T | undefined, hook: string, prop: string, providerProp: string): T {
  const value = explicit ?? provided;
  if (value === undefined || value === null) {
    throw new Error(
      `closed-loop/react: ${hook} needs a \`${prop}\`: pass one to ${hook}, or render it inside <SyncProvider ${providerProp}={...}>`,
    );
  }
  return value;
}
