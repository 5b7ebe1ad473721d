/** One cached GET answer, revalidated with `If-None-Match`. */
export interface EtagEntry {
  etag: string;
  status: number;
  headers: Record<string, string>;
  data: unknown;
}

/**
 * The ETag cache of a client: the last 2xx answer with an `ETag` for each GET (URL and call
 * headers), least recently used first out once `maxEntries` is reached.
 */
export class EtagCache {
  private readonly entries = new Map<string, EtagEntry>();

  constructor(private readonly maxEntries: number) {}

  get(key: string): EtagEntry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: EtagEntry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every entry whose key is for `url` (any call headers). */
  deleteUrl(url: string): void {
    const prefix = `${url}\n`;
    for (const key of this.entries.keys()) if (key === url || key.startsWith(prefix)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
