// The HTTP side of the SSE endpoint: what a request asks for, the headers that open a stream, and the
// problem+json answers that refuse one.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { problemAnswer } from 'closed-loop';
import { getRequestId } from './request-id.js';

/** What a stream request asks for. */
export interface StreamRequest {
  /** The topics the stream carries; undefined: every topic the endpoint serves. */
  topics: ReadonlySet<string> | undefined;
  /** Where the client resumes from: the `Last-Event-ID` header, else the `lastEventId` query parameter. */
  lastEventId: string | undefined;
}

/**
 * Reads a GET (or HEAD) request for a stream: `?topics=a,b` narrowed to what the endpoint serves.
 * Answers the request itself, and returns undefined, when it asks for a topic not served.
 */
export function readStreamRequest(
  req: IncomingMessage & { originalUrl?: string },
  res: ServerResponse,
  served: ReadonlySet<string> | undefined,
): StreamRequest | undefined {
  const query = new URL(req.originalUrl ?? req.url ?? '/', 'http://localhost').searchParams;
  let topics: Set<string> | undefined;
  const requested = query
    .getAll('topics')
    .flatMap((value) => value.split(','))
    .map((topic) => topic.trim())
    .filter((topic) => topic !== '');
  if (requested.length > 0 && !requested.includes('*')) topics = new Set(requested);
  if (served !== undefined) {
    if (topics === undefined) topics = new Set(served);
    const unknown = [...topics].filter((topic) => !served.has(topic));
    if (unknown.length > 0) {
      refuse(req, res, 400, `This endpoint does not serve topic(s) ${unknown.map((t) => JSON.stringify(t)).join(', ')}.`);
      return undefined;
    }
    // Every served topic asked for: no per-event filtering needed.
    if (topics.size === served.size) topics = undefined;
  }
  const header = req.headers['last-event-id'];
  const lastEventId = typeof header === 'string' ? header : (query.get('lastEventId') ?? undefined);
  return { topics, lastEventId };
}

/**
 * Sends the headers of an event stream at once: `no-transform` keeps compression middleware from
 * buffering it, `X-Accel-Buffering: no` keeps nginx from doing so. A HEAD request is answered with
 * them alone; returns false then.
 */
export function openStream(req: IncomingMessage, res: ServerResponse): boolean {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  if (req.httpVersionMajor < 2) res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  if (req.method === 'HEAD') {
    res.end();
    return false;
  }
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  return true;
}

/** Answers with a refusal, in the problem+json shape of every closed-loop error answer. */
export function refuse(
  req: IncomingMessage & { originalUrl?: string },
  res: ServerResponse,
  status: number,
  detail: string,
  headers: Record<string, string> = {},
): void {
  const answer = problemAnswer({
    status,
    detail,
    title: STATUS_CODES[status],
    instance: req.originalUrl ?? req.url,
    requestId: getRequestId(req),
  });
  res.statusCode = status;
  for (const [name, value] of Object.entries({ ...headers, ...answer.headers })) res.setHeader(name, value);
  res.end(answer.body);
}
