// Where a size-limit entry's bytes are: bundles each core entry's import from the core's source
// (src/index.ts, which tsup builds into dist/index.js, the file size-limit measures) with esbuild
// (minified, ESM, platform browser) and lists, per source module (dependencies included), its
// minified bytes and its brotli share: what the bundle's brotli size loses without that module's
// code (brotli compresses across modules, so a module's own brotli size would overstate it).
// "(entry)" is esbuild's CommonJS interop (for eventemitter3), "(export list)" the bundle's exports.
// Checks where bytes go for issue 14 (docs/decisions.md, 21); size-limit stays the budget.
//
//   node scripts/size-by-module.mjs [entry name substring ...] [--top N]
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { build, transform } from 'esbuild';

// The package says "sideEffects": false, which lets esbuild drop a whole unused source module even
// when it runs code at load. An app bundles dist/index.js, one module, where only statement-level
// tree shaking applies; this plugin makes the source modules count as having side effects so the
// figures match that.
const likeOneModule = {
  name: 'like-one-module',
  setup(builder) {
    builder.onResolve({ filter: /^\./ }, ({ path, resolveDir }) => {
      const file = resolve(resolveDir, path.replace(/\.js$/, '.ts'));
      return existsSync(file) ? { path: file, sideEffects: true } : undefined;
    });
  },
};

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt === -1 ? 15 : Number(args.splice(topAt, 2)[1]);
const wanted = args;

const brotli = (text) =>
  brotliCompressSync(Buffer.from(text), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;

/** The bundle of one entry, minified but for whitespace so esbuild's `// path` module comments stay. */
async function bundle(entry, minifyWhitespace) {
  const result = await build({
    stdin: {
      contents: entry.import === '*' ? `export * from './src/index.ts';` : `export ${entry.import} from './src/index.ts';`,
      resolveDir: process.cwd(),
      loader: 'js',
    },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    minifySyntax: true,
    minifyIdentifiers: true,
    minifyWhitespace,
    treeShaking: true,
    legalComments: 'none',
    external: entry.ignore ?? [],
    logLevel: 'error',
    plugins: [likeOneModule],
  });
  return result.outputFiles[0].text;
}

/** The bundle split at esbuild's `// path` comments into [module, code] pairs. */
function modules(code) {
  const parts = [];
  let current = '(entry)';
  let lines = [];
  for (const line of code.split('\n')) {
    const marker = /^\/\/ (\S+\.(?:[cm]?js|ts))$/.exec(line);
    // The bundle's own export list comes last; it belongs to no module.
    const next = marker ? marker[1].replace(/^.*node_modules\//, '') : line === 'export {' ? '(export list)' : undefined;
    if (next !== undefined) {
      parts.push([current, lines.join('\n')]);
      current = next;
      lines = [];
    }
    if (!marker) lines.push(line);
  }
  parts.push([current, lines.join('\n')]);
  return parts.filter(([, text]) => text.trim() !== '');
}

/** The code without whitespace; a part that does not parse alone (the export list) stays as it is. */
async function compact(text) {
  try {
    return (await transform(text, { minifyWhitespace: true, loader: 'js', logLevel: 'silent' })).code;
  } catch {
    return text;
  }
}

const entries = JSON.parse(readFileSync('.size-limit.json', 'utf8')).filter(
  (entry) => entry.path === 'dist/index.js' && (wanted.length === 0 || wanted.some((w) => entry.name.includes(w))),
);

for (const entry of entries) {
  const minified = await bundle(entry, true);
  const spaced = await bundle(entry, false);
  const parts = await Promise.all(modules(spaced).map(async ([name, text]) => [name, await compact(text)]));
  const joined = brotli(parts.map(([, text]) => text).join(''));
  const rows = parts.map(([name, text]) => ({
    name,
    minified: text.length,
    brotliShare: joined - brotli(parts.filter(([other]) => other !== name).map(([, t]) => t).join('')),
  }));
  const total = brotli(minified);
  rows.sort((a, b) => b.brotliShare - a.brotliShare);
  console.log(`\n${entry.name}: ${minified.length} B minified, ${total} B brotli\n   share  minified  module`);
  for (const row of rows.slice(0, top)) {
    console.log(`  ${String(row.brotliShare).padStart(6)}  ${String(row.minified).padStart(8)}  ${row.name}`);
  }
  if (rows.length > top) console.log(`  (${rows.length - top} more modules)`);
}
