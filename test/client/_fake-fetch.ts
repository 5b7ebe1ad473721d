// A scripted fetch for the client tests that need no server: it records every request and answers
// from a responder. Runs in Node and in Chromium. Not a test file.

/** One request as the fake fetch saw it. */
export interface SeenRequest {
  url: string;
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal | undefined;
}

/** What a responder returns: a Response, a status (empty body), or throws for a network failure. */
export type Responder = (request: SeenRequest, index: number) => Response | number | Promise<Response | number>;

/** A fetch function whose requests are recorded in `calls`. */
export interface FakeFetch {
  fetch: typeof globalThis.fetch;
  calls: SeenRequest[];
}

/** Builds a fake fetch answering with `responder`. */
export function fakeFetch(responder: Responder): FakeFetch {
  const calls: SeenRequest[] = [];
  const fetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const parsed = new URL(url);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const seen: SeenRequest = {
      url,
      origin: parsed.origin,
      path: parsed.pathname + parsed.search,
      method: init.method ?? 'GET',
      headers,
      body: typeof init.body === 'string' ? init.body : undefined,
      signal: init.signal ?? undefined,
    };
    calls.push(seen);
    if (init.signal?.aborted) throw init.signal.reason;
    const answer = await responder(seen, calls.length - 1);
    return typeof answer === 'number' ? respond(null, { status: answer }) : answer;
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

/**
 * A Response whose body reads within a microtask. A browser reads a real Response body through its
 * stream machinery, which can take longer than one macrotask; a test that steps a ManualClock needs
 * each attempt to finish before the clock moves on.
 */
class QuickResponse extends Response {
  readonly #text: string;
  constructor(body: string | null, init: ResponseInit) {
    super(body, init);
    this.#text = body ?? '';
  }
  override text(): Promise<string> {
    return Promise.resolve(this.#text);
  }
}

/** A response with a text body (or none) that reads at once. */
export function respond(body: string | null, init: ResponseInit = {}): Response {
  return new QuickResponse(body, init);
}

/** A JSON response. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return respond(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** What fetch throws when the connection fails (a TypeError, as in browsers and Node). */
export function connectionRefused(): never {
  throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
}

/** A fetch answer that never comes unless the request is aborted. */
export function hangUntilAborted(request: SeenRequest): Promise<Response> {
  return new Promise((_, reject) => {
    const signal = request.signal;
    if (signal === undefined) return;
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** A promise with its resolve and reject exposed. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (reason: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks run (a few macrotask turns). */
export async function flush(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** Settles a promise into a value or an error, so a test can wait without a rejection escaping. */
export function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}
