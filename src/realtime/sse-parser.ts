// The `text/event-stream` format, read incrementally: what SseTransport's streaming fetch (and tests
// of the server side) parse a response body with.

/** One event dispatched by {@link SseParser}. */
export interface SseMessage {
  /** The `event:` field, or `'message'` when the frame had none. */
  type: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The stream's last event id at dispatch (set by this or an earlier frame's `id:`). */
  lastEventId: string;
}

/**
 * An incremental parser of the `text/event-stream` format as the HTML standard defines it: fields
 * `id`, `event`, `data` (several lines join with `\n`) and `retry`, comment lines (`:`), line ends
 * CRLF, LF or CR, a leading BOM, and chunks split anywhere (even between CR and LF). A frame without
 * data dispatches nothing but still sets {@link SseParser.lastEventId}; an unfinished frame at the end
 * of the stream is never dispatched.
 */
export class SseParser {
  /** The last event id of the stream so far: what a reconnect sends as `Last-Event-ID`. */
  lastEventId: string;
  private idBuffer: string;
  private data = '';
  private eventType = '';
  private line = '';
  private skipLineFeed = false;
  private started = false;

  /**
   * @param onMessage - called for every dispatched event
   * @param onRetry - called with the value of a valid `retry:` field, in ms
   * @param lastEventId - the last event id to start from (a resumed stream keeps it until the server sets another)
   */
  constructor(
    private readonly onMessage: (message: SseMessage) => void,
    private readonly onRetry?: (ms: number) => void,
    lastEventId = '',
  ) {
    this.lastEventId = lastEventId;
    this.idBuffer = lastEventId;
  }

  /**
   * Feeds the next piece of decoded text.
   *
   * @param chunk - text as it arrived; may end anywhere
   */
  push(chunk: string): void {
    let start = 0;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) start = 1;
    }
    if (this.skipLineFeed && chunk.length > start) {
      this.skipLineFeed = false;
      if (chunk.charCodeAt(start) === 10) start++;
    }
    for (let i = start; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.line === '' ? chunk.slice(start, i) : this.line + chunk.slice(start, i);
      this.line = '';
      if (c === 13) {
        if (i + 1 < chunk.length) {
          if (chunk.charCodeAt(i + 1) === 10) i++;
        } else {
          this.skipLineFeed = true;
        }
      }
      start = i + 1;
      this.processLine(line);
    }
    if (start < chunk.length) this.line += chunk.slice(start);
  }

  private processLine(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' a comment
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case 'data':
        this.data += `${value}\n`;
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.idBuffer = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.onRetry?.(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    this.lastEventId = this.idBuffer;
    if (this.data === '') {
      this.eventType = '';
      return;
    }
    const message: SseMessage = {
      type: this.eventType === '' ? 'message' : this.eventType,
      data: this.data.slice(0, -1),
      lastEventId: this.lastEventId,
    };
    this.data = '';
    this.eventType = '';
    this.onMessage(message);
  }
}
