// The IndexedDB calls IndexedDBQueueStorage makes, as promises. Not exported. (They were made
// through idb, whose general wrapper of every IndexedDB type was about a tenth of the sync client +
// offline queue bundle for these few calls: docs/decisions.md, 21.)

/** The result of `request`, or its error. Resolved in the success event, so a transaction stays active for the next request. */
export function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    // (error is set once the request failed; the fallback only satisfies its `| null`.)
    request.onerror = () => reject(request.error ?? new DOMException('IndexedDB request failed', 'UnknownError'));
  });
}

/**
 * Resolves when `tx` has committed; rejects when it fails or aborts, with its error (an AbortError
 * DOMException when it has none, e.g. on the first failed request, before the abort).
 */
export function transactionDone(tx: IDBTransaction): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (): void => reject(tx.error ?? new DOMException('AbortError', 'AbortError'));
    tx.oncomplete = () => resolve();
    tx.onerror = fail;
    tx.onabort = fail;
  });
}

/** Opens database `name` at `version`; `upgrade` creates what a new or older database lacks. */
export function openDatabase(name: string, version: number, upgrade: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  // In the executor, so a synchronous throw of indexedDB.open rejects like a failed open.
  return new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(name, version);
    request.onupgradeneeded = () => upgrade(request.result);
    requestResult(request).then(resolve, reject);
  });
}
