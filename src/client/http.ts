// Request and response plumbing of the sync client: header lists, bodies, URLs. Not exported.
import { ClosedLoopError } from '../errors/errors.js';
import type { SyncHeaders, SyncMethod } from './options.js';

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']);
const SAFE: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Upper-cases and checks a method; TypeError for anything the client does not send. */
export function checkMethod(method: unknown): SyncMethod {
  const upper = typeof method === 'string' ? method.toUpperCase() : undefined;
  if (upper === undefined || !METHODS.has(upper)) {
    throw new TypeError(
      `closed-loop: method must be one of GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE; got ${String(method)}`,
    );
  }
  return upper as SyncMethod;
}

/** GET, HEAD and OPTIONS change nothing, so they are retried without a key. */
export function isSafeMethod(method: SyncMethod): boolean {
  return SAFE.has(method);
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** Checks a call's path: relative to the base URL (an absolute URL would bypass failover). */
export function checkPath(path: unknown): string {
  if (typeof path !== 'string') throw new TypeError(`closed-loop: path must be a string, got ${typeof path}`);
  if (SCHEME.test(path) || path.startsWith('//')) {
    throw new TypeError(`closed-loop: path must be relative to the client's baseUrl, got ${path}`);
  }
  if (path === '' || path.startsWith('/') || path.startsWith('?')) return path;
  return `/${path}`;
}

/**
 * Parses the `baseUrl` option into absolute http(s) URLs without a trailing slash. A relative URL is
 * resolved against the page's `location` where there is one.
 */
export function parseBaseUrls(value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? (value as unknown[]) : undefined;
  if (list === undefined || list.length === 0) {
    throw new TypeError('closed-loop: `baseUrl` must be a URL or a non-empty list of URLs');
  }
  const base = (globalThis as { location?: { href?: unknown } }).location?.href;
  return list.map((entry) => {
    if (typeof entry !== 'string' || entry.trim() === '') {
      throw new TypeError(`closed-loop: \`baseUrl\` entries must be non-empty strings, got ${String(entry)}`);
    }
    let url: URL;
    try {
      url = typeof base === 'string' ? new URL(entry, base) : new URL(entry);
    } catch (cause) {
      throw new TypeError(`closed-loop: \`baseUrl\` is not a valid URL: ${entry}`, { cause });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`closed-loop: \`baseUrl\` must be an http(s) URL, got ${entry}`);
    }
    if (url.search !== '' || url.hash !== '') {
      throw new TypeError(`closed-loop: \`baseUrl\` must not have a query or a fragment, got ${entry}`);
    }
    return url.href.replace(/\/+$/, '');
  });
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
const BAD_VALUE = /[\r\n\0]/;

/** Checks a header name (an RFC 9110 token). */
export function checkHeaderName(name: string): string {
  if (!TOKEN.test(name)) throw new TypeError(`closed-loop: invalid header name ${JSON.stringify(name)}`);
  return name.toLowerCase();
}

/**
 * Copies headers into `out` with lower-cased names, checking names and values so that fetch never
 * refuses them (fetch rejects bad headers with the same TypeError as a network failure).
 */
export function mergeHeaders(out: Record<string, string>, headers: SyncHeaders | undefined): Record<string, string> {
  if (headers === undefined || headers === null) return out;
  if (typeof headers !== 'object') {
    throw new TypeError(`closed-loop: headers must be an object, a Headers or a list of pairs, got ${typeof headers}`);
  }
  if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function') {
    (headers as Headers).forEach((value, name) => {
      out[name.toLowerCase()] = value;
    });
    return out;
  }
  if (Array.isArray(headers)) {
    for (const pair of headers as ReadonlyArray<readonly [string, string]>) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError('closed-loop: header pairs must be [name, value]');
      setHeader(out, pair[0], pair[1]);
    }
    return out;
  }
  for (const name of Object.keys(headers)) {
    const value = (headers as Record<string, unknown>)[name];
    if (value !== undefined) setHeader(out, name, value);
  }
  return out;
}

function setHeader(out: Record<string, string>, name: unknown, value: unknown): void {
  if (typeof name !== 'string') throw new TypeError('closed-loop: header names must be strings');
  const text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
  if (text === undefined || BAD_VALUE.test(text)) {
    throw new TypeError(`closed-loop: invalid value for header ${JSON.stringify(name)}`);
  }
  out[checkHeaderName(name)] = text;
}

/** A stable text for a set of call headers, for the dedupe and ETag keys. */
export function headersKey(headers: Record<string, string> | undefined): string {
  if (headers === undefined) return '';
  const names = Object.keys(headers);
  if (names.length === 0) return '';
  names.sort();
  let key = '';
  for (const name of names) key += `${name}:${headers[name]}\n`;
  return key;
}

/** A request body ready for fetch, and what it takes to store it in a queue. */
export interface EncodedBody {
  /** What fetch sends. */
  body: BodyInit | undefined;
  /** The content type the client sets (JSON), unless the call set its own. */
  contentType: string | undefined;
  /** Whether the body can be stored in an offline queue (none, text or JSON). */
  storable: boolean;
}

const NO_BODY: EncodedBody = { body: undefined, contentType: undefined, storable: true };

/**
 * Encodes a body once per call, so every attempt sends the same bytes: strings, Blobs, buffers,
 * FormData and URLSearchParams as they are, anything else as JSON.
 */
export function encodeBody(value: unknown): EncodedBody {
  if (value === undefined) return NO_BODY;
  if (typeof value === 'string') return { body: value, contentType: undefined, storable: true };
  if (isBinaryBody(value)) return { body: value as BodyInit, contentType: undefined, storable: false };
  if (typeof ReadableStream !== 'undefined' && value instanceof ReadableStream) {
    throw new TypeError('closed-loop: a stream body cannot be sent again on a retry; pass the data itself');
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (cause) {
    throw new TypeError('closed-loop: the body cannot be serialised as JSON', { cause });
  }
  if (json === undefined) throw new TypeError(`closed-loop: the body cannot be serialised as JSON (${typeof value})`);
  return { body: json, contentType: 'application/json', storable: true };
}

function isBinaryBody(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return true;
  const g = globalThis as { Blob?: unknown; FormData?: unknown; URLSearchParams?: unknown };
  return (
    (typeof g.Blob === 'function' && value instanceof (g.Blob as typeof Blob)) ||
    (typeof g.FormData === 'function' && value instanceof (g.FormData as typeof FormData)) ||
    (typeof g.URLSearchParams === 'function' && value instanceof (g.URLSearchParams as typeof URLSearchParams))
  );
}

/** Response headers as a plain object with lower-cased names. */
export function headersRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

const JSON_TYPE = /[/+]json\s*(;|$)/i;

/**
 * Parses a body by its content type: JSON for `application/json` and `+json` types, text
 * otherwise, `undefined` when empty. A 2xx answer that claims JSON but is not fails with a
 * non-retryable error (the server answered; sending again would not fix it); an error answer keeps
 * its text.
 */
export function parseBody(text: string, contentType: string | undefined, ok: boolean): unknown {
  if (text === '') return undefined;
  if (contentType === undefined || !JSON_TYPE.test(contentType)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    if (!ok) return text;
    throw new ClosedLoopError('The response claims to be JSON but is not', 'INVALID_RESPONSE', {
      cause,
      retryable: false,
    });
  }
}
