import type { Request, Response } from 'express';
import { HeldHttpResponse, type HttpIdempotency, type IdempotencyLease } from 'closed-loop';

// Translation between Node's response methods (writeHead/write/end, with their Node-only argument
// forms) and the core's HeldHttpResponse, which captures, stores and holds the end back.

type Method = (this: Response, ...args: unknown[]) => unknown;

/** Where a wrapped response keeps its held request. */
const HELD = Symbol('closed-loop.idempotency.held');

type Wrapped = Response & { [HELD]?: HeldResponse };

/**
 * The held request of `req`'s response, if the idempotency middleware holds a key for it.
 *
 * @internal
 */
export function heldOf(req: Request): HeldResponse | undefined {
  return (req.res as Wrapped | undefined)?.[HELD];
}

const OPEN = 0;
const ENDING = 1;
const ENDED = 2;

/**
 * A response whose key is held: its writeHead/write/end are wrapped, per response, by own
 * properties that feed the capture and let the end go out once the store has answered. The
 * wrappers are three shared functions that find their request through a symbol on the response,
 * so wrapping allocates nothing but this object. The methods they stand in front of are read from
 * the response when it is wrapped: another middleware's wrapper, or the prototype's method (an APM
 * agent's patch of `http.ServerResponse.prototype` included).
 *
 * @internal
 */
export class HeldResponse extends HeldHttpResponse<Request> {
  /** OPEN, then ENDING while the end waits for the store, then ENDED. */
  private phase = OPEN;
  private endArgs: ArrayLike<unknown> | undefined;
  private laterEnds: Array<ArrayLike<unknown>> | undefined;
  /** Headers passed to writeHead as an argument: not always visible through getHeader(). */
  private head: Map<string, unknown> | undefined;
  /** True while a wrapped method runs: a wrapper reached again from inside it passes the call on. */
  private passing = false;
  private readonly baseWriteHead: Method;
  private readonly baseWrite: Method;
  private readonly baseEnd: Method;

  constructor(rules: HttpIdempotency<Request>, req: Request, lease: IdempotencyLease, readonly res: Response) {
    super(rules, req, lease);
    const methods = res as unknown as Record<'writeHead' | 'write' | 'end', Method>;
    this.baseWriteHead = methods.writeHead;
    this.baseWrite = methods.write;
    this.baseEnd = methods.end;
    (res as Wrapped)[HELD] = this;
    methods.writeHead = writeHead;
    methods.write = write;
    methods.end = end;
  }

  /** Whether a wrapper should pass its call straight on. */
  get bypassed(): boolean {
    return this.passing || this.phase === ENDED;
  }

  writeHead(args: ArrayLike<unknown>): unknown {
    for (let i = 1; i < args.length; i++) {
      const headers = args[i];
      if (typeof headers !== 'object' || headers === null) continue;
      const head = (this.head ??= new Map());
      if (Array.isArray(headers)) {
        if (Array.isArray(headers[0])) for (const [name, value] of headers as unknown[][]) head.set(String(name).toLowerCase(), value);
        else for (let j = 0; j + 1 < headers.length; j += 2) head.set(String(headers[j]).toLowerCase(), headers[j + 1]);
      } else {
        for (const [name, value] of Object.entries(headers)) head.set(name.toLowerCase(), value);
      }
      break;
    }
    return this.pass(this.baseWriteHead, args);
  }

  write(args: ArrayLike<unknown>): unknown {
    // A write after end is a handler bug; while the end waits for the store it must not slip in.
    if (this.phase !== OPEN) return false;
    this.capture(args[0], args[1], true);
    return this.pass(this.baseWrite, args);
  }

  end(args: ArrayLike<unknown>): unknown {
    const res = this.res;
    if (this.phase !== OPEN) {
      // A second end while the first waits for the store goes out after it.
      (this.laterEnds ??= []).push(args);
      return res;
    }
    this.phase = ENDING;
    this.endArgs = args;
    // The last chunk is not copied: it is encoded for the store right away, inside this end().
    this.capture(args[0], args[1], false);
    // The result is stored when the handler ends the response, not on 'finish': a client that
    // went away mid-request still gets its result stored for the retry.
    if (this.finish(res.statusCode)) this.flush();
    return res;
  }

  /** The method a wrapper stands in front of, called on the response. */
  pass(method: Method, args: ArrayLike<unknown>): unknown {
    this.passing = true;
    try {
      return method.apply(this.res, args as unknown[]);
    } finally {
      this.passing = false;
    }
  }

  /** The base method of a wrapper, for calls passed straight on. */
  base(name: 'writeHead' | 'write' | 'end'): Method {
    return name === 'end' ? this.baseEnd : name === 'write' ? this.baseWrite : this.baseWriteHead;
  }

  protected header(name: string): unknown {
    const own = this.head?.get(name);
    return own !== undefined ? own : this.res.getHeader(name);
  }

  protected ready(): void {
    if (this.phase === ENDING) this.flush();
  }

  private flush(): void {
    this.phase = ENDED;
    const res = this.res;
    this.pass(this.baseEnd, this.endArgs!);
    const later = this.laterEnds;
    if (later !== undefined) for (const args of later) if (!res.writableEnded) this.pass(this.baseEnd, args);
  }

  /** Node's chunk forms as the capture takes them: UTF-8 text or bytes. */
  private capture(chunk: unknown, encoding: unknown, copy: boolean): void {
    if (this.omitted || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    if (typeof chunk === 'string') {
      const enc = typeof encoding === 'string' ? encoding.toLowerCase() : 'utf8';
      // Text in another encoding (hex, base64, latin1) is bytes.
      this.add(enc === 'utf8' || enc === 'utf-8' ? chunk : Buffer.from(chunk, enc as BufferEncoding));
    } else if (chunk instanceof Uint8Array) {
      this.add(chunk, copy);
    }
  }
}

// The wrappers: one function per method (not made in a loop), so each call site stays monomorphic.
function writeHead(this: Wrapped, ...args: unknown[]): unknown {
  const held = this[HELD]!;
  return held.bypassed ? held.base('writeHead').apply(this, args) : held.writeHead(args);
}

function write(this: Wrapped, ...args: unknown[]): unknown {
  const held = this[HELD]!;
  return held.bypassed ? held.base('write').apply(this, args) : held.write(args);
}

function end(this: Wrapped, ...args: unknown[]): unknown {
  const held = this[HELD]!;
  return held.bypassed ? held.base('end').apply(this, args) : held.end(args);
}
