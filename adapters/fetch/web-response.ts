import { HeldHttpResponse, statusHasNoBody } from 'closed-loop';
import { madeFrom } from './made-response.js';

// Translation between a web Response and the core's HeldHttpResponse: the body is read once, each
// chunk both sent on and captured, and the end of the body waits until the store has answered.

/** What a read gives back when the body has nothing ready yet. */
const NOT_YET = Symbol('not yet');

/**
 * A request holding its key, whose handler answers with a web `Response`.
 *
 * @internal
 */
export class WebHeldResponse<Req> extends HeldHttpResponse<Req> {
  /** The response's headers by lower-case name, read once (Headers.get is slow on some runtimes). */
  private byName: Record<string, string> = Object.create(null) as Record<string, string>;
  /** Its `Set-Cookie` values, the one header a `Headers` keeps apart. */
  private cookies: string[] | undefined;
  private whenReady: (() => void) | undefined;

  /**
   * The response the client gets for the handler's `response`: the same status and headers, and
   * a body read once, sent on and captured. A body that is all there at once (one made from text or
   * bytes, the common case) goes out as bytes once stored; any other is streamed through, chunk by
   * chunk, and its end waits for the store. A client that goes away mid-body does not stop the
   * capture: the rest is read and stored. A body that breaks off releases the key.
   */
  async respond(response: Response): Promise<Response> {
    const status = response.status;
    // Response.error(): a network error, nothing to store.
    if (status === 0) {
      this.abandon();
      return response;
    }
    // Text or bytes the server's Response holds as given: stored, and that Response goes out as it is.
    const made = madeFrom(response);
    if (made !== undefined) {
      if (made.headers === undefined) this.readHeaders(response.headers);
      else this.byName = made.headers;
      if (made.body !== null && !statusHasNoBody(status)) this.add(made.body);
      if (!this.finish(status)) await this.ready$();
      return response;
    }
    const headers = this.readHeaders(response.headers);
    const body = response.body;
    if (body === null || statusHasNoBody(status)) {
      if (!this.finish(status)) await this.ready$();
      return response;
    }
    let reader: ReadableStreamDefaultReader<Uint8Array>;
    try {
      reader = body.getReader();
    } catch {
      // Someone else reads it (a locked stream): it cannot be captured.
      this.abandon();
      return response;
    }
    // No statusText: HTTP/2 and later have none, and reading it costs @hono/node-server a copy of
    // the whole response.
    const init = { status, headers };
    // What the body has ready now. A handler's text or bytes are all there within a tick.
    const ready: Uint8Array[] = [];
    let size = 0;
    let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined = reader.read();
    try {
      // Past maxResponseBytes it is a large body: it is streamed rather than gathered.
      while (size <= this.maxBytes) {
        const result = await Promise.race([pending, nextTick()]);
        if (result === NOT_YET) break;
        if (result.done) {
          for (const chunk of ready) this.add(chunk);
          // Joined once, for the client and the store alike (within maxBytes, so all captured).
          const whole = this.capturedBody()!;
          if (!this.finish(status)) await this.ready$();
          return new Response(whole as BodyInit, init);
        }
        ready.push(result.value);
        size += result.value.byteLength;
        pending = reader.read();
      }
    } catch (error) {
      this.abandon();
      throw error;
    }
    return new Response(this.stream(reader, ready, pending, status), init);
  }

  protected header(name: string): unknown {
    return name === 'set-cookie' ? this.cookies : this.byName[name];
  }

  /**
   * Reads the handler's headers once, for the store and for the response sent on: a plain record
   * when there is no `Set-Cookie` (the common case; @hono/node-server writes a record as it is,
   * where a `Headers` is copied into one again), else the `Headers` as they are.
   */
  private readHeaders(headers: Headers): Headers | Record<string, string> {
    const byName = this.byName;
    for (const [name, value] of headers) {
      if (name === 'set-cookie') (this.cookies ??= []).push(value);
      else byName[name] = value;
    }
    return this.cookies === undefined ? byName : headers;
  }

  protected ready(): void {
    const resolve = this.whenReady;
    this.whenReady = undefined;
    resolve?.();
  }

  /** Resolves once an end that `finish` held back may go out. */
  private ready$(): Promise<void> {
    return new Promise((resolve) => {
      this.whenReady = resolve;
    });
  }

  /** The rest of the body, pulled as the client reads it: each chunk captured and passed on. */
  private stream(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    first: Uint8Array[],
    pending: Promise<ReadableStreamReadResult<Uint8Array>>,
    status: number,
  ): ReadableStream<Uint8Array> {
    let next: Promise<ReadableStreamReadResult<Uint8Array>> | undefined = pending;
    const read = (): Promise<ReadableStreamReadResult<Uint8Array>> => {
      const result = next ?? reader.read();
      next = undefined;
      return result;
    };
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          for (const chunk of first) {
            this.add(chunk);
            controller.enqueue(chunk);
          }
        },
        pull: async (controller) => {
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await read();
          } catch (error) {
            this.abandon();
            controller.error(error);
            return;
          }
          if (result.done) {
            if (!this.finish(status)) await this.ready$();
            controller.close();
            return;
          }
          this.add(result.value);
          controller.enqueue(result.value);
        },
        // The client went away: the handler's body is still read to its end and stored, so the
        // client's retry is replayed.
        cancel: async () => {
          try {
            for (;;) {
              const result = await read();
              if (result.done) break;
              this.add(result.value);
            }
          } catch {
            this.abandon();
            return;
          }
          this.finish(status);
        },
      },
      { highWaterMark: 0 },
    );
  }
}

/** A promise that resolves with NOT_YET after a couple of microtask turns. */
function nextTick(): Promise<typeof NOT_YET> {
  return Promise.resolve().then(() => Promise.resolve(NOT_YET));
}
