import { describe, expect, test } from 'vitest';
import * as core from '../../src/index.js';
import {
  ClosedLoopError,
  HttpError,
  NetworkError,
  TimeoutError,
  isClosedLoopError,
  isHttpError,
  isNetworkError,
  isTimeoutError,
} from '../../src/index.js';
import { guards, instances } from './_guards.js';

describe('each guard recognises its own class and no other', () => {
  const made = instances(core);
  for (const [guardName, guard] of Object.entries(guards)) {
    test(`is${guardName}`, () => {
      for (const [kind, error] of Object.entries(made)) expect(guard(error), `${guardName} on ${kind}`).toBe(kind === guardName);
      expect(guard(new ClosedLoopError('base', 'BASE'))).toBe(false);
    });
  }

  test('isClosedLoopError recognises every closed-loop error', () => {
    for (const error of Object.values(made)) expect(isClosedLoopError(error)).toBe(true);
    expect(isClosedLoopError(new ClosedLoopError('base', 'BASE'))).toBe(true);
  });

  test('every guard is exported from the package', () => {
    for (const name of ['isClosedLoopError', ...Object.keys(guards).map((k) => `is${k}`)]) {
      expect(typeof (core as Record<string, unknown>)[name]).toBe('function');
    }
  });
});

describe('guards recognise subclasses', () => {
  class NotFoundError extends HttpError {
    constructor() {
      super(404);
      this.name = 'NotFoundError';
    }
  }
  class AppTimeout extends TimeoutError {}
  class AppError extends ClosedLoopError {}

  test('a subclass passes its parent guards and nothing else', () => {
    const error = new NotFoundError();
    expect(isHttpError(error)).toBe(true);
    expect(isClosedLoopError(error)).toBe(true);
    expect(isNetworkError(error)).toBe(false);
    expect(isTimeoutError(new AppTimeout(5))).toBe(true);
    expect(isHttpError(new AppTimeout(5))).toBe(false);
    expect(isClosedLoopError(new AppError('a', 'APP'))).toBe(true);
    expect(isHttpError(new AppError('a', 'APP'))).toBe(false);
  });

  test('a subclass does not change its parent\'s brand', () => {
    class Sub extends NetworkError {}
    expect(isNetworkError(new Sub())).toBe(true);
    expect(isTimeoutError(new NetworkError())).toBe(false);
    expect(isNetworkError(new NetworkError())).toBe(true);
  });
});

describe('guards say no to everything else', () => {
  const others: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['null', null],
    ['a string', 'HttpError'],
    ['a number', 500],
    ['a boolean', true],
    ['a symbol', Symbol('x')],
    ['a function', () => undefined],
    ['a plain Error', new Error('x')],
    ['a TypeError', new TypeError('x')],
    ['an empty object', {}],
    ['a look-alike', { name: 'HttpError', status: 500, code: 'HTTP_ERROR', message: 'HTTP 500' }],
    ['an object with a string brand', { [Symbol.for('closed-loop.error')]: 'HttpError' }],
    ['a DOMException', new DOMException('aborted', 'AbortError')],
  ];
  test.each(others)('%s', (_label, value) => {
    expect(isClosedLoopError(value)).toBe(false);
    for (const guard of Object.values(guards)) expect(guard(value)).toBe(false);
  });
});
