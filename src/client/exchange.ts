// One request of a sync client to one server, and what its answer means: the headers an attempt
// sends, the fetch, a failure read as abort or network error, a response read as data, an HttpError
// or an ETag cache hit. Not exported.
import { ClosedLoopError, HttpError, NetworkError } from '../errors/errors.js';
import { isKeyInUseBody } from '../internal/failure.js';
import { messageOf } from '../internal/message-of.js';
import type { Call } from './call.js';
import type { ClientConfig } from './config.js';
import { headersRecord, isSafeMethod, mergeHeaders, parseBody } from './http.js';
import type { SyncResponse } from './options.js';
import { CallerAbort, type Server } from './servers.js';

/** The headers of one attempt: the client's (read again each time), the call's, the key, the ETag. */
export async function attemptHeaders(config: ClientConfig, call: Call): Promise<Record<string, string>> {
  const out: Record<string, string> = config.staticHeaders === undefined ? {} : { ...config.staticHeaders };
  if (config.headersFn !== undefined) {
    const produced = await config.headersFn();
    try {
      mergeHeaders(out, produced);
    } catch (cause) {
      throw new ClosedLoopError(`The \`headers\` function returned invalid headers: ${messageOf(cause)}`, 'INVALID_HEADERS', {
        cause,
        retryable: false,
      });
    }
  }
  if (call.headers !== undefined) Object.assign(out, call.headers);
  if (call.body.contentType !== undefined && out['content-type'] === undefined) out['content-type'] = call.body.contentType;
  if (call.key !== undefined) out[config.keyHeader] = call.key;
  call.etagEntry = undefined;
  if (call.method === 'GET' && config.etags !== undefined && out['if-none-match'] === undefined) {
    const entry = config.etags.get(call.cacheKey);
    if (entry !== undefined) {
      out['if-none-match'] = entry.etag;
      call.etagEntry = entry;
    }
  }
  return out;
}

/** One request to one server. */
export async function sendToServer(
  config: ClientConfig,
  fetchFn: typeof globalThis.fetch,
  server: Server,
  call: Call,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<SyncResponse> {
  const init: RequestInit = { method: call.method, headers };
  if (call.body.body !== undefined) init.body = call.body.body;
  if (signal !== undefined) init.signal = signal;
  const url = server.url + call.path;
  server.inFlight++;
  try {
    let response: Response;
    try {
      // Called as a plain function: a browser's fetch refuses a `this` other than the window.
      response = await fetchFn(url, init);
    } catch (error) {
      throw failure(error, call, signal);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw failure(error, call, signal);
    }
    return answer(config, response, text, call);
  } finally {
    server.inFlight--;
  }
}

/** What a failed fetch means: the deadline, the caller's abort, or a network failure. */
function failure(error: unknown, call: Call, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) {
    return call.signal?.aborted ? new CallerAbort(call.signal.reason) : signal.reason;
  }
  return new NetworkError(`Request failed: ${messageOf(error)}`, { cause: error });
}

/** What a response means: the call's answer, or an HttpError; the ETag cache learns from it. */
function answer(config: ClientConfig, response: Response, text: string, call: Call): SyncResponse {
  const status = response.status;
  const headers = headersRecord(response.headers);
  const etags = config.etags;
  if (status === 304 && call.etagEntry !== undefined) {
    const entry = call.etagEntry;
    return {
      status: entry.status,
      headers: { ...entry.headers, ...headers },
      data: entry.data,
      idempotencyKey: call.key,
      replayed: false,
      fromCache: true,
    };
  }
  const ok = status < 400;
  const data = parseBody(text, headers['content-type'], ok);
  if (!ok) {
    throw new HttpError(status, {
      headers,
      body: data,
      now: config.clock.now(),
      // The first request with this key is still running: wait as told, like a 503.
      ...(status === 409 && isKeyInUseBody(data) ? { retryable: true } : {}),
    });
  }
  if (etags !== undefined && status >= 200 && status < 300) {
    if (call.method === 'GET') {
      const etag = headers.etag;
      if (etag !== undefined) etags.set(call.cacheKey, { etag, status, headers, data });
      else etags.delete(call.cacheKey);
    } else if (!isSafeMethod(call.method) && etags.size > 0) {
      etags.deleteUrl(call.path);
    }
  }
  return {
    status,
    headers,
    data,
    idempotencyKey: call.key,
    replayed: headers['idempotent-replayed'] === 'true',
    fromCache: false,
  };
}
