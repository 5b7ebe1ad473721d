// Node only. React Server Components bundlers treat closed-loop/react as client code only if
// 'use client' is in the directive prologue of the file they load, with nothing but 'use strict'
// before it. esbuild keeps it in the ESM build, but tsup's CommonJS splitting puts its helpers in
// front of it; tsup.config.ts moves it back. This builds the entry with that config, both formats.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import ts from 'typescript';
import { afterAll, beforeAll, expect, test } from 'vitest';
import config from '../../tsup.config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let outDir: string;

beforeAll(async () => {
  outDir = mkdtempSync(join(root, 'node_modules', '.closed-loop-react-build-'));
  const options = Array.isArray(config) ? config[0] : config;
  if (typeof options !== 'object' || options === null) throw new Error('tsup.config.ts: expected one options object');
  await build({
    ...options,
    entry: { react: join(root, 'adapters/react/index.ts') },
    outDir,
    dts: false,
    sourcemap: false,
    clean: false,
    silent: true,
    config: false,
  });
}, 120_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** The directives that open the file, in order (its directive prologue). */
function prologue(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false, ts.ScriptKind.JS);
  const directives: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isExpressionStatement(statement) || !ts.isStringLiteral(statement.expression)) break;
    directives.push(statement.expression.text);
  }
  return directives;
}

test.each(['react.js', 'react.cjs'])("%s starts with 'use client' (after 'use strict' only)", (name) => {
  const directives = prologue(join(outDir, name));
  const expected = name.endsWith('.cjs') ? ['use strict', 'use client'] : ['use client'];
  expect(directives.slice(0, expected.length)).toEqual(expected);
});
