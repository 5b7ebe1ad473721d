import { defineConfig } from 'tsup';

// One entry per subpath export. Adapters import the core as 'closed-loop' and it stays external,
// so at run time an adapter uses the very classes the core entry exports (no second copy).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    express: 'adapters/express/index.ts',
    redis: 'adapters/redis/index.ts',
    supabase: 'adapters/supabase/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  target: 'es2022',
  platform: 'neutral',
  external: ['closed-loop'],
  splitting: true,
  sourcemap: true,
  clean: true,
  // tsup's `treeshake: true` (rollup) strips 'use client' directives that the React entry needs.
  treeshake: false,
});
