// Bundles a TypeScript fixture server from the sources (tsconfig `paths` map 'closed-loop' to
// them) into one ESM file that a test runs as a child process with `process.execPath`. Node-only.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A bundled fixture: the script to run, and how to delete it. */
export interface BundledFixture {
  script: string;
  remove(): void;
}

/**
 * @param name - the bundle's file name, without extension
 * @param source - the fixture's path from the repository root
 */
export async function bundleFixture(name: string, source: string): Promise<BundledFixture> {
  // Inside node_modules so the bundle's externals (express, ioredis…) resolve from the repo.
  const dir = mkdtempSync(join(root, 'node_modules', `.closed-loop-${name}-`));
  await build({
    entry: { [name]: join(root, source) },
    format: ['esm'],
    outDir: dir,
    outExtension: () => ({ js: '.mjs' }),
    platform: 'node',
    target: 'node20',
    tsconfig: join(root, 'tsconfig.json'),
    external: ['express', 'ioredis'],
    dts: false,
    sourcemap: false,
    config: false,
    silent: true,
  });
  return { script: join(dir, `${name}.mjs`), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
