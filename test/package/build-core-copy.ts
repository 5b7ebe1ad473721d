// Builds the core from src/ into a temporary folder inside node_modules (so the bundle's external
// dependencies resolve), as the published entry is built. For tests that must load the core the
// way a separate copy or a separate process would.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const root = fileURLToPath(new URL('../..', import.meta.url));

export async function buildCoreCopy(format: 'esm' | 'cjs'): Promise<{ dir: string; remove: () => void }> {
  const dir = mkdtempSync(join(root, 'node_modules', `.closed-loop-${format}-copy-`));
  await build({
    entry: { index: join(root, 'src/index.ts') },
    format: [format],
    outDir: dir,
    platform: 'neutral',
    target: 'es2022',
    dts: false,
    sourcemap: false,
    config: false,
    silent: true,
  });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
