import { IdempotencyError, isIdempotencyError } from '../errors/errors.js';

/**
 * What a failure of an {@link IdempotencyStore} becomes for its callers: an `IdempotencyError`
 * passes through as it is (a store may already have said what went wrong), anything else becomes
 * an `IdempotencyError` `STORE_UNAVAILABLE` (HTTP 503) with the failure as `cause`. The guard
 * wraps every store call with it; a store of your own can use it to give its failures a message
 * that says where they happened.
 *
 * @example
 * ```ts
 * try {
 *   await pool.query(sql, values)
 * } catch (error) {
 *   throw asStoreUnavailable(error, `The idempotency claim failed in Postgres: ${String(error)}`)
 * }
 * ```
 * @param error - what the store threw or rejected with
 * @param message - the message of a new error; default "The idempotency store is unavailable"
 * @category Idempotency
 */
export function asStoreUnavailable(error: unknown, message?: string): IdempotencyError {
  return isIdempotencyError(error) ? error : new IdempotencyError('STORE_UNAVAILABLE', message, { cause: error });
}
