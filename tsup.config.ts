import { defineConfig } from 'tsup';

// One entry per subpath export; adapters are added here as they land.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  target: 'es2022',
  platform: 'neutral',
  splitting: true,
  sourcemap: true,
  clean: true,
  // tsup's `treeshake: true` (rollup) strips 'use client' directives that the React entry needs.
  treeshake: false,
});
