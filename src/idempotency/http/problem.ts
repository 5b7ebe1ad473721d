/**
 * The `Content-Type` of every problem answer closed-loop writes:
 * `application/problem+json; charset=utf-8`.
 *
 * @category Idempotency
 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** What {@link problemAnswer} writes. @category Idempotency */
export interface ProblemDetailsInput {
  /** The HTTP status, also the `status` member. */
  status: number;
  /** A sentence for a person: what went wrong with this request. */
  detail: string;
  /** A machine-readable code (`KEY_IN_USE`, an error's own code). Left out when absent. */
  code?: string | undefined;
  /** An absolute URI naming the problem type; anything else is `'about:blank'`, the default. */
  type?: string | undefined;
  /**
   * The title. Default: the status phrase for the statuses closed-loop's refusals use (400, 409,
   * 422, 500, 503), else `'Error'`.
   */
  title?: string | undefined;
  /** The request's path and query. Left out when absent. */
  instance?: string | undefined;
  /** The request id, when one was given to the request. Left out when absent. */
  requestId?: string | undefined;
  /** Sets `Retry-After`, in whole seconds rounded up, at least 1. */
  retryAfterMs?: number | undefined;
  /** The error's stack, for answers outside production. Left out when absent. */
  stack?: string | undefined;
}

/** A problem answer, ready for any server to send. @category Idempotency */
export interface ProblemAnswer {
  /** The HTTP status. */
  status: number;
  /** `Content-Type`, `Cache-Control: no-store`, `X-Content-Type-Options: nosniff` and, when asked, `Retry-After`. */
  headers: Record<string, string>;
  /** The JSON text of the problem details object. */
  body: string;
}

/** The fields of an error (an `IdempotencyError`, or any with a status and code) that a problem answer needs. @category Idempotency */
export interface ProblemSource {
  /** The HTTP status. */
  readonly status: number;
  /** The code. */
  readonly code: string;
  /** The detail. */
  readonly message: string;
  /** When a retry may succeed, in ms. */
  readonly retryAfterMs?: number | undefined;
}

const ABSOLUTE_URI = /^[a-z][a-z0-9+.-]*:\S+$/i;

/**
 * An RFC 9457 problem answer (`application/problem+json`): the members `type`, `title`,
 * `status`, `detail`, then `instance`, `code`, `requestId` and `stack` when given. This is the one
 * writer of problem answers: the idempotency adapters' refusals and `errorHandler()` from
 * `closed-loop/express` both use it, so every error a client gets has the same shape.
 *
 * @example
 * ```ts
 * const answer = problemAnswer({ status: 404, detail: 'No order 9', instance: '/orders/9' })
 * return new Response(answer.body, { status: answer.status, headers: answer.headers })
 * ```
 * @param input - the members and `Retry-After`
 * @returns the status, the headers and the body to send
 * @category Idempotency
 */
export function problemAnswer(input: ProblemDetailsInput): ProblemAnswer {
  const { status } = input;
  const problem: Record<string, unknown> = {
    type: input.type !== undefined && ABSOLUTE_URI.test(input.type) ? input.type : 'about:blank',
    title: input.title || (TITLES[status] ?? 'Error'),
    status,
    detail: input.detail,
  };
  if (input.instance !== undefined) problem.instance = input.instance;
  if (input.code !== undefined) problem.code = input.code;
  if (input.requestId !== undefined) problem.requestId = input.requestId;
  if (input.stack !== undefined) problem.stack = input.stack;
  const headers: Record<string, string> = {
    'Content-Type': PROBLEM_CONTENT_TYPE,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
  const retryAfter = input.retryAfterMs;
  if (retryAfter !== undefined && Number.isFinite(retryAfter) && retryAfter >= 0) headers['Retry-After'] = retryAfterSeconds(retryAfter);
  return { status, headers, body: JSON.stringify(problem) };
}

/**
 * The problem answer to an error with a status and a code, typically an `IdempotencyError`: its
 * status, its message as `detail`, its code, and `Retry-After` for `KEY_IN_USE`.
 *
 * @param error - the refusal
 * @param context - the request's `instance` (path and query) and `requestId`, when known
 * @category Idempotency
 */
export function refusalAnswer(error: ProblemSource, context: { instance?: string | undefined; requestId?: string | undefined } = {}): ProblemAnswer {
  return problemAnswer({
    status: error.status,
    detail: error.message,
    code: error.code,
    retryAfterMs: error.retryAfterMs,
    instance: context.instance,
    requestId: context.requestId,
  });
}

/**
 * A `Retry-After` value: `ms` in whole seconds, rounded up, at least 1 (a client told 0 would
 * retry at once, into the same answer).
 *
 * @param ms - the wait in ms
 * @category Idempotency
 */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

// The statuses closed-loop's own refusals use. Other titles are given by the caller (errorHandler()
// passes Node's status phrases), which keeps the core free of a table of every status.
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  409: 'Conflict',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
