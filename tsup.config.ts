import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
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

/**
 * ESM-only packages the core imports (p-retry, and is-network-error, which p-retry imports). Node
 * 20.19+ can `require()` them, but Jest's module runtime cannot (on Node < 24.9 it throws "Must use
 * import to load ES Module"), nor can other CommonJS loaders without require(esm). So the CommonJS
 * build of the core carries its own copy of them; the ESM build leaves them external, to be
 * installed once and shared with the app. Both are MIT licensed; their notices go into index.cjs.
 */
const ESM_ONLY_DEPENDENCIES = ['p-retry', 'is-network-error'];

// Resolved from the repository, and is-network-error (p-retry's own dependency) from p-retry's folder.
const requireFromRoot = createRequire(join(process.cwd(), 'package.json'));
const resolvePaths = [process.cwd(), dirname(requireFromRoot.resolve('p-retry'))];

/** The license notice of each bundled package, read from its installed copy, as one comment. */
function bundledLicenses(names: string[]): string {
  const notices = names.map((name) => {
    const dir = dirname(requireFromRoot.resolve(name, { paths: resolvePaths }));
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; license: string };
    if (pkg.license !== 'MIT') throw new Error(`tsup.config.ts: ${name} is ${pkg.license}, not MIT: review before bundling it`);
    const license = readdirSync(dir).find((file) => /^licen[sc]e(\.md|\.txt)?$/i.test(file));
    if (!license) throw new Error(`tsup.config.ts: no license file in ${dir}`);
    const text = readFileSync(join(dir, license), 'utf8').trim().replaceAll('*/', '* /');
    return `${pkg.name}@${pkg.version} (bundled into this file):\n\n${text}`;
  });
  return `/*!\n${notices.join('\n\n')}\n*/`;
}

const entries = {
  index: 'src/index.ts',
  express: 'adapters/express/index.ts',
  redis: 'adapters/redis/index.ts',
  supabase: 'adapters/supabase/index.ts',
  react: 'adapters/react/index.ts',
  fetch: 'adapters/fetch/index.ts',
  hono: 'adapters/hono/index.ts',
  'service-worker': 'adapters/service-worker/index.ts',
};
const { index, ...adapters } = entries;

const shared = {
  target: 'es2022',
  platform: 'neutral',
  external: ['closed-loop', 'react', 'react-dom', 'hono'],
  splitting: true,
  sourcemap: true,
  // tsup's `treeshake: true` (rollup) strips 'use client' directives that the React entry needs.
  treeshake: false,
} satisfies Options;

// One entry per subpath export. Adapters import the core as 'closed-loop' and it stays external in
// both formats, so at run time an adapter uses the very classes the core entry exports (no second
// copy). tsup runs these three builds at the same time, so only the first one writes declarations
// (of every entry, both formats) and cleans dist/, leaving the core's files to the other two. The
// first one also builds both formats with the 'use client' plugin: test/package/react-use-client
// builds the React entry with it.
export default defineConfig([
  {
    ...shared,
    entry: adapters,
    format: ['esm', 'cjs'],
    dts: { entry: entries, compilerOptions: { ignoreDeprecations: '6.0' } },
    clean: ['!index.*'],
    plugins: [useClientFirst(['react'])],
  },
  { ...shared, entry: { index }, format: ['esm'] },
  {
    ...shared,
    entry: { index },
    format: ['cjs'],
    noExternal: ESM_ONLY_DEPENDENCIES,
    footer: { js: bundledLicenses(ESM_ONLY_DEPENDENCIES) },
  },
]);
