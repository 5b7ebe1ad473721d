// `npm run demo`'s build step: the package (tsup, into dist/) when its build is missing or older
// than its sources, then the demo page (Vite, into examples/demo/dist/). It says what it does and
// what it skips, and why.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ENTRIES = ['index', 'express', 'redis', 'supabase', 'react', 'service-worker'];
const OUTPUTS = ENTRIES.flatMap((e) => [`dist/${e}.js`, `dist/${e}.cjs`, `dist/${e}.d.ts`, `dist/${e}.d.cts`]);
const INPUTS = ['src', 'adapters', 'tsup.config.ts', 'package.json', 'tsconfig.json'];

/** The newest file under `path` (a file or a folder), as [mtimeMs, path]. */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return [stat.mtimeMs, path];
  let best = [0, path];
  for (const name of readdirSync(path)) {
    const found = newest(join(path, name));
    if (found[0] > best[0]) best = found;
  }
  return best;
}

/** Why the package must be built, or undefined when dist/ is newer than every source. */
function staleReason() {
  const missing = OUTPUTS.find((file) => !existsSync(join(root, file)));
  if (missing) return `${missing} is missing`;
  const oldestOutput = Math.min(...OUTPUTS.map((file) => statSync(join(root, file)).mtimeMs));
  const [time, source] = INPUTS.map((p) => join(root, p)).filter(existsSync).map(newest).sort((a, b) => b[0] - a[0])[0];
  if (time > oldestOutput) return `${relative(root, source)} is newer than dist/`;
  return undefined;
}

const reason = staleReason();
if (reason) {
  console.log(`demo: building the package (${reason}): npm run build`);
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
} else {
  console.log('demo: dist/ is newer than src/, adapters/ and the build config: the package build is up to date');
}

console.log('demo: building the page: vite build --config examples/demo/vite.config.mjs');
const started = Date.now();
const { build } = await import('vite');
await build({ configFile: fileURLToPath(new URL('./vite.config.mjs', import.meta.url)) });
console.log(`demo: page built in ${Date.now() - started} ms`);

// The service worker: one classic script, served from the root so that its scope is the whole demo.
// It imports the package by name, as an app's worker would; the names point at dist/ as for the page.
console.log('demo: building the service worker: esbuild examples/demo/page/sw.ts -> examples/demo/dist/sw.js');
const esbuild = await import('esbuild');
await esbuild.build({
  entryPoints: [fileURLToPath(new URL('./page/sw.ts', import.meta.url))],
  outfile: fileURLToPath(new URL('./dist/sw.js', import.meta.url)),
  bundle: true,
  format: 'iife',
  minify: true,
  target: 'es2022',
  logLevel: 'warning',
  alias: {
    'closed-loop': join(root, 'dist/index.js'),
    'closed-loop/service-worker': join(root, 'dist/service-worker.js'),
  },
});
