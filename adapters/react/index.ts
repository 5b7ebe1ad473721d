/**
 * `closed-loop/react`: hooks and buttons that render the core's observers. `useSyncMutation` shows
 * a mutation sent by the sync client (pending with its attempt, queued offline, success, error),
 * `SyncButton` and its variants wrap it in an accessible button, `useOfflineSync` shows and flushes
 * the offline queue, and `useRealtime` renders a topic of the realtime bus. Retry, queueing and
 * deduplication all happen in the core; these only render it. `<SyncProvider>` hands them the client,
 * queue and realtime service. Safe to render on the server; React 18 and 19 (`react` is an optional
 * peer dependency).
 *
 * @module closed-loop/react
 */
// The first statement: every export is a client component or hook. (This comment and the one above
// may precede it; TypeDoc reads the module comment only at the very top of the file.)
'use client';

export { SyncProvider } from './context.js';
export type { SyncProviderProps } from './context.js';
export { useSyncMutation } from './use-sync-mutation.js';
export type { UseSyncMutationOptions, UseSyncMutationResult } from './use-sync-mutation.js';
export { useOfflineSync } from './use-offline-sync.js';
export type { UseOfflineSyncResult } from './use-offline-sync.js';
export { useRealtime } from './use-realtime.js';
export type { UseRealtimeOptions, UseRealtimeResult } from './use-realtime.js';
export { SyncButton } from './sync-button.js';
export type { SyncButtonComponent, SyncButtonMutationConfig, SyncButtonProps, SyncButtonState } from './sync-button.js';
export { SyncButtonWithConfirm } from './sync-button-with-confirm.js';
export type { SyncButtonWithConfirmComponent, SyncButtonWithConfirmProps } from './sync-button-with-confirm.js';
export { SyncButtonWithProgress } from './sync-button-with-progress.js';
export type { SyncButtonWithProgressComponent, SyncButtonWithProgressProps } from './sync-button-with-progress.js';
