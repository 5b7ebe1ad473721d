import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { defineConfig, type Options } from 'tsup';

type Plugin = NonNullable<Options['plugins']>[number];

const USE_CLIENT = '"use client";';

/**
 * Keeps `'use client'` the first statement of the React entry in both builds (only `'use strict'`
 * may precede it), as React Server Components bundlers require. esbuild keeps the entry's directive,
 * but tsup's CommonJS code splitting (sucrase) writes its helpers on the first line in front of it;
 * this moves it back after the build. It only moves text within line 1, so the source map still holds.
 */
function useClientFirst(entries: string[]): Plugin {
  const names = new Set(entries.flatMap((entry) => [`${entry}.js`, `${entry}.cjs`]));
  return {
    name: 'use-client-first',
    buildEnd({ writtenFiles }) {
      for (const { name } of writtenFiles) {
        if (!names.has(basename(name))) continue;
        writeFileSync(name, moveUseClientFirst(readFileSync(name, 'utf8'), name));
      }
    },
  };
}

/** The code with `"use client";` as its first directive (after `"use strict";`, if any). */
function moveUseClientFirst(code: string, label = 'the bundle'): string {
  const strict = /^"use strict";\s*/.exec(code)?.[0] ?? '';
  if (code.startsWith(USE_CLIENT, strict.length)) return code;
  const at = code.indexOf(USE_CLIENT);
  if (at === -1 || code.lastIndexOf('\n', at) !== -1) {
    throw new Error(`tsup.config.ts: no "use client" directive on the first line of ${label}`);
  }
  return strict + USE_CLIENT + code.slice(strict.length, at) + code.slice(at + USE_CLIENT.length);
}

// One entry per subpath export. Adapters import the core as 'closed-loop' and it stays external,
// so at run time an adapter uses the very classes the core entry exports (no second copy).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    express: 'adapters/express/index.ts',
    redis: 'adapters/redis/index.ts',
    supabase: 'adapters/supabase/index.ts',
    react: 'adapters/react/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  target: 'es2022',
  platform: 'neutral',
  external: ['closed-loop', 'react', 'react-dom'],
  splitting: true,
  sourcemap: true,
  clean: true,
  // tsup's `treeshake: true` (rollup) strips 'use client' directives that the React entry needs.
  treeshake: false,
  plugins: [useClientFirst(['react'])],
});
