import type { ServerResponse } from 'node:http';

/** One open stream. */
export interface SseStream {
  readonly res: ServerResponse;
  /** undefined: every topic. */
  readonly topics: ReadonlySet<string> | undefined;
  queue: string[];
  queuedChars: number;
  /** The position the client's last event id stands for. */
  position: number;
  /** Waiting for 'drain': nothing is written until then. */
  blocked: boolean;
  /** How much may wait: `maxQueuedBytes`, plus the replay until the socket has taken it. */
  limit: number;
  closed: boolean;
}

/**
 * The open streams and their writing. Writes are batched: each stream has a queue, written with one
 * `res.write` per event-loop turn, so fanning an event out to many clients costs one string per
 * event plus one write per client per turn. A stream whose socket does not take data queues; past
 * its limit it is destroyed (the client resumes with `Last-Event-ID`).
 */
export class SseStreams {
  private readonly open = new Set<SseStream>();
  private readonly dirty = new Set<SseStream>();
  private flushScheduled = false;

  /**
   * @param maxQueuedBytes - how much one stream may have waiting
   * @param onEmpty - called when the last stream goes
   */
  constructor(
    private readonly maxQueuedBytes: number,
    private readonly onEmpty: () => void,
  ) {}

  /** How many streams are open. */
  get size(): number {
    return this.open.size;
  }

  /** The open streams. */
  values(): IterableIterator<SseStream> {
    return this.open.values();
  }

  /**
   * Opens a stream on `res` (headers already sent) that starts with `opening`. A replay is as large
   * as the buffer allows: it does not count against the backpressure limit, or a client far behind
   * would be dropped on every resume.
   */
  add(res: ServerResponse, topics: ReadonlySet<string> | undefined, position: number, opening: string): SseStream {
    const stream: SseStream = {
      res,
      topics,
      queue: [],
      queuedChars: 0,
      position,
      blocked: false,
      limit: this.maxQueuedBytes + opening.length,
      closed: false,
    };
    this.open.add(stream);
    res.on('close', () => this.drop(stream, false));
    res.on('error', () => this.drop(stream, true));
    if (opening !== '') this.enqueue(stream, opening);
    return stream;
  }

  /** Queues `chunk` for the next write; drops a stream that has too much waiting. */
  enqueue(stream: SseStream, chunk: string): void {
    if (stream.closed) return;
    stream.queue.push(chunk);
    stream.queuedChars += chunk.length;
    if (stream.queuedChars + stream.res.writableLength > stream.limit) {
      // It does not read: drop it rather than buffer without bound. It resumes with Last-Event-ID.
      this.drop(stream, true);
      return;
    }
    if (stream.blocked) return;
    this.dirty.add(stream);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushAll);
    }
  }

  /** Writes what was queued and ends every stream. */
  endAll(): void {
    for (const stream of [...this.open]) {
      this.flush(stream);
      this.drop(stream, false);
      stream.res.end();
    }
  }

  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    for (const stream of this.dirty) this.flush(stream);
    this.dirty.clear();
  };

  private flush(stream: SseStream): void {
    if (stream.closed || stream.blocked || stream.queue.length === 0) return;
    const chunk = stream.queue.length === 1 ? stream.queue[0]! : stream.queue.join('');
    stream.queue = [];
    stream.queuedChars = 0;
    if (stream.res.write(chunk)) {
      stream.limit = this.maxQueuedBytes;
    } else {
      stream.blocked = true;
      stream.res.once('drain', () => {
        stream.blocked = false;
        stream.limit = this.maxQueuedBytes;
        this.flush(stream);
      });
    }
  }

  private drop(stream: SseStream, destroy: boolean): void {
    if (stream.closed) return;
    stream.closed = true;
    this.open.delete(stream);
    this.dirty.delete(stream);
    stream.queue = [];
    stream.queuedChars = 0;
    if (destroy) stream.res.destroy();
    if (this.open.size === 0) this.onEmpty();
  }
}
