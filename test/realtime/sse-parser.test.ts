// The SSE wire-format parser SseTransport reads streams with, checked against the HTML standard's
// parsing rules, including chunks split at every possible place.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SseMessage, SseParser } from '../../src/realtime/sse-parser.js';

function parse(chunks: string[], startId = ''): { messages: SseMessage[]; retries: number[]; parser: SseParser } {
  const messages: SseMessage[] = [];
  const retries: number[] = [];
  const parser = new SseParser((m) => messages.push(m), (ms) => retries.push(ms), startId);
  for (const chunk of chunks) parser.push(chunk);
  return { messages, retries, parser };
}

describe('SseParser', () => {
  it('dispatches id and data at a blank line', () => {
    const { messages, parser } = parse(['id: 1\ndata: {"a":1}\n\n']);
    expect(messages).toEqual([{ type: 'message', data: '{"a":1}', lastEventId: '1' }]);
    expect(parser.lastEventId).toBe('1');
  });

  it('joins several data lines with \\n and names events by the event field', () => {
    const { messages } = parse(['event: resync\ndata: one\ndata:two\ndata\ndata:  three\n\n']);
    expect(messages).toEqual([{ type: 'resync', data: 'one\ntwo\n\n three', lastEventId: '' }]);
  });

  it('accepts LF, CRLF and CR line ends, also mixed', () => {
    const { messages } = parse(['data: a\r\n\r\ndata: b\r\rdata: c\n\ndata: d\r\n\n']);
    expect(messages.map((m) => m.data)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('treats a CR at the end of one chunk and an LF at the start of the next as one line end', () => {
    // Were the split CRLF two line ends, each would also end a frame and dispatch early.
    const { messages } = parse(['data: a\r', '\ndata: b\r', '\n\r', '\ndata: c\r', '\n\r\n']);
    expect(messages).toEqual([{ type: 'message', data: 'a\nb', lastEventId: '' }, { type: 'message', data: 'c', lastEventId: '' }]);
  });

  it('ignores comments, unknown fields and a leading BOM', () => {
    const { messages } = parse(['\uFEFF: heartbeat\n', ':\n\nfoo: bar\ndata: x\n: inside\n\n']);
    expect(messages).toEqual([{ type: 'message', data: 'x', lastEventId: '' }]);
  });

  it('removes exactly one space after the colon', () => {
    const { messages } = parse(['data:   spaced \n\n']);
    expect(messages[0]!.data).toBe('  spaced ');
  });

  it('sets the last event id on a frame without data, without dispatching', () => {
    const { messages, parser } = parse(['id: 7\n\n', 'id: 8\nevent: cursor\n\n']);
    expect(messages).toEqual([]);
    expect(parser.lastEventId).toBe('8');
  });

  it('keeps the last event id across frames without an id, and ignores ids containing NUL', () => {
    const { messages } = parse(['id: a\ndata: 1\n\ndata: 2\n\nid: b\0c\ndata: 3\n\n']);
    expect(messages.map((m) => m.lastEventId)).toEqual(['a', 'a', 'a']);
  });

  it('starts from the id it was given and lets an empty id field reset it', () => {
    const { messages } = parse(['data: 1\n\nid\ndata: 2\n\n'], 'resume-from');
    expect(messages.map((m) => m.lastEventId)).toEqual(['resume-from', '']);
  });

  it('reports retry only for all-digit values', () => {
    const { retries } = parse(['retry: 2500\nretry: 1e3\nretry: -5\nretry: 12ms\nretry:300\n\n']);
    expect(retries).toEqual([2500, 300]);
  });

  it('never dispatches an unfinished frame, and does not apply its id', () => {
    const { messages, parser } = parse(['id: 1\ndata: done\n\nid: 2\ndata: half']);
    expect(messages.map((m) => m.data)).toEqual(['done']);
    expect(parser.lastEventId).toBe('1');
  });

  it('gives the same events however the stream is split into chunks', () => {
    const stream =
      '\uFEFFretry: 10\r\n: hi\r\nid: e1\r\ndata: {"n":1}\r\n\r\nid: e2\ndata: line1\ndata: line2\n\n' +
      'event: resync\rid: e3\rdata: {}\r\r:\n\nid: e4\nevent: cursor\ndata:\n\nid: é5\ndata: ünïcode ✓\n\n';
    const whole = parse([stream]);
    expect(whole.messages.map((m) => m.data)).toEqual(['{"n":1}', 'line1\nline2', '{}', '', 'ünïcode ✓']);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        const chunks: string[] = [];
        let from = 0;
        for (const cut of sorted) {
          chunks.push(stream.slice(from, cut));
          from = cut;
        }
        chunks.push(stream.slice(from));
        const split = parse(chunks);
        expect(split.messages).toEqual(whole.messages);
        expect(split.retries).toEqual(whole.retries);
        expect(split.parser.lastEventId).toBe('é5');
      }),
      { numRuns: 300 },
    );
  });
});
