/**
 * closed-loop core: the sync client, the offline queue, retry with backoff, circuit breaker,
 * idempotency, the realtime bus, errors and the clock. Framework-free; runs in Node >= 20.19,
 * browsers and workers.
 *
 * @packageDocumentation
 * @module closed-loop
 */

export {
  CircuitBreakerError,
  ClosedLoopError,
  HttpError,
  IDEMPOTENCY_ERROR_STATUS,
  IdempotencyError,
  NetworkError,
  OfflineQueuedError,
  RetryExhaustedError,
  TimeoutError,
  isCircuitBreakerError,
  isClosedLoopError,
  isHttpError,
  isIdempotencyError,
  isNetworkError,
  isOfflineQueuedError,
  isRetryExhaustedError,
  isTimeoutError,
  parseRetryAfter,
} from './errors/errors.js';
export type {
  CircuitState,
  ClosedLoopErrorOptions,
  HttpErrorOptions,
  IdempotencyErrorCode,
  IdempotencyErrorOptions,
} from './errors/errors.js';

export { ManualClock, realClock, unrefTimer } from './clock/clock.js';
export type { Clock, TimerHandle } from './clock/clock.js';

export { computeBackoffDelay } from './retry/backoff.js';
export { retryWithBackoff } from './retry/retry.js';
export { retryPolicyForQueries } from './retry/query-policy.js';
export type { QueryRetryPolicy } from './retry/query-policy.js';
export { isRetryableError, isRetryableStatus } from './retry/should-retry.js';
export type { BackoffOptions, JitterMode, RetryContext, RetryOptions } from './retry/options.js';

export { CircuitBreaker } from './breaker/circuit-breaker.js';
export type {
  CircuitBreakerEvents,
  CircuitBreakerMetrics,
  CircuitBreakerOptions,
  CircuitBreakerSnapshot,
} from './breaker/options.js';

export { createIdempotencyKey, parseIdempotencyKey } from './idempotency/key.js';
export type { ParseIdempotencyKeyOptions } from './idempotency/key.js';
export { fingerprintRequest } from './idempotency/fingerprint.js';
export type { FingerprintInput } from './idempotency/fingerprint.js';
export { MemoryIdempotencyStore } from './idempotency/memory-store.js';
export type { MemoryIdempotencyStoreOptions } from './idempotency/memory-store.js';
export { IdempotencyGuard } from './idempotency/guard.js';
export { asStoreUnavailable } from './idempotency/store-unavailable.js';
export type { IdempotencyBegin, IdempotencyGuardOptions, IdempotencyLease } from './idempotency/guard.js';
export type {
  IdempotencyClaim,
  IdempotencyClaimRequest,
  IdempotencyRecord,
  IdempotencyStore,
  IdempotencyStoreStats,
} from './idempotency/store.js';
// The HTTP rules of idempotency, shared by the server adapters (closed-loop/express, /fetch, /hono)
// and open to an adapter of your own (docs/extending.md).
export { HttpIdempotency } from './idempotency/http/http-idempotency.js';
export type { HttpIdempotencyOptions } from './idempotency/http/options.js';
export { HeldHttpResponse } from './idempotency/http/held-response.js';
export { ResponseCapture } from './idempotency/http/response-capture.js';
export { readStoredResponse, statusHasNoBody, storedBody, toStoredResponse } from './idempotency/http/stored-response.js';
export type { StoredHttpResponse } from './idempotency/http/stored-response.js';
export {
  ALWAYS_REPLAYED_HEADERS,
  BODY_OMITTED_HEADER,
  REPLAYED_HEADER,
  isNeverReplayed,
  pickReplayedHeaders,
  replayHeaders,
  replayedHeaderNames,
  storableHeaders,
} from './idempotency/http/headers.js';
export { LEGACY_KEY_HEADER, keyHeaderNames, readIdempotencyKey, scopedIdempotencyKey } from './idempotency/http/request-key.js';
export { PROBLEM_CONTENT_TYPE, problemAnswer, refusalAnswer, retryAfterSeconds } from './idempotency/http/problem.js';
export type { ProblemAnswer, ProblemDetailsInput, ProblemSource } from './idempotency/http/problem.js';

export { RealtimeSyncService, REALTIME_DESTROYED } from './realtime/service.js';
export type {
  RealtimeChange,
  RealtimeErrorContext,
  RealtimeSubscribeOptions,
  RealtimeSyncServiceEvents,
  RealtimeSyncServiceOptions,
} from './realtime/service.js';
export { getRealtimeSyncService, resetRealtimeSyncService } from './realtime/shared.js';
export { InMemoryTransport } from './realtime/in-memory-transport.js';
export { BroadcastChannelTransport } from './realtime/broadcast-channel-transport.js';
export type {
  ChangeEvent,
  ChangeType,
  RealtimeStatus,
  RealtimeTransport,
  RealtimeTransportListener,
  RecordId,
} from './realtime/types.js';
export { RealtimeObserver } from './realtime/observer.js';
export type { RealtimeObserverOptions, RealtimeObserverState } from './realtime/observer.js';
export { SseTransport } from './realtime/sse-transport.js';
export type { SseTransportHeaders, SseTransportOptions } from './realtime/sse-transport.js';

export { createSyncClient, SYNC_REQUEST_ITEM_TYPE } from './client/sync-client.js';
export type { SyncClient, SyncGetOptions } from './client/sync-client.js';
export { SyncMutation } from './client/mutation.js';
export type {
  SyncMutationHooks,
  SyncMutationListener,
  SyncMutationOptions,
  SyncMutationSend,
  SyncMutationState,
  SyncMutationStatus,
} from './client/mutation.js';
export { RetryBudget } from './client/retry-budget.js';
export type { RetryBudgetOptions, RetryBudgetStats } from './client/retry-budget.js';
export type {
  LoadBalancing,
  QueuedRequest,
  SyncClientOptions,
  SyncClientQueue,
  SyncHeaders,
  SyncHeadersOption,
  SyncMethod,
  SyncQueueItem,
  SyncRequestOptions,
  SyncResponse,
  SyncServerInfo,
} from './client/options.js';

export { OfflineQueue } from './queue/offline-queue.js';
export type {
  AutoSyncOptions,
  OfflineQueueEvents,
  OfflineQueueOptions,
  ProcessOptions,
  ProcessResult,
  QueueAddOptions,
  QueueHandler,
  QueueHandlerContext,
  QueueState,
  QueueStats,
} from './queue/offline-queue.js';
export { MemoryQueueStorage } from './queue/memory-storage.js';
export { LocalStorageQueueStorage } from './queue/local-storage.js';
export type { LocalStorageQueueStorageOptions, WebStorage } from './queue/local-storage.js';
export { IndexedDBQueueStorage } from './queue/indexeddb-storage.js';
export type {
  DeadLetter,
  DeadLetterReason,
  QueueErrorInfo,
  QueueItem,
  QueueItemState,
  QueuePutOptions,
  QueueRecord,
  QueueStorage,
  StoredEntry,
} from './queue/storage.js';
export { InProcessLock, StorageLeaseLock } from './queue/lock.js';
export type { LeaseStore, QueueLock, QueueLockOptions, StorageLeaseLockOptions } from './queue/lock.js';
export { QueueStorageError, isQueueStorageError } from './queue/errors.js';
export type { QueueStorageErrorCode } from './queue/errors.js';
