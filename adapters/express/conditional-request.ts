// Conditional GET and HEAD (RFC 9110 §13): whether the client's copy is still the current one.
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Whether a GET/HEAD whose response would carry `etag` (and `lastModified`) is answered 304
 * (RFC 9110 §13.1.2 and §13.1.3): `If-None-Match` by weak comparison, or, when absent,
 * `If-Modified-Since` against `Last-Modified`.
 */
export function notModified(
  headers: IncomingHttpHeaders,
  etag: string | undefined,
  lastModified: number | string | string[] | undefined,
): boolean {
  const ifNoneMatch = headers['if-none-match'];
  if (typeof ifNoneMatch === 'string' && ifNoneMatch.trim() !== '') {
    const tags = parseEntityTags(ifNoneMatch);
    if (tags.includes('*')) return true;
    if (etag === undefined) return false;
    const own = opaqueTag(etag);
    return tags.some((tag) => opaqueTag(tag) === own);
  }
  const ifModifiedSince = headers['if-modified-since'];
  if (typeof ifModifiedSince === 'string' && typeof lastModified === 'string') {
    const since = Date.parse(ifModifiedSince);
    const modified = Date.parse(lastModified);
    if (!Number.isNaN(since) && !Number.isNaN(modified)) return modified <= since;
  }
  return false;
}

// The entity tags of an `If-None-Match` list; commas inside quotes do not split.
function parseEntityTags(value: string): string[] {
  const tags: string[] = [];
  const pattern = /\s*((?:W\/)?"[^"]*"|[^,\s]+)\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < value.length && (match = pattern.exec(value)) !== null) {
    tags.push(match[1]!);
  }
  return tags;
}

// Weak comparison: the opaque tags match whatever their `W/` prefix.
function opaqueTag(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}
