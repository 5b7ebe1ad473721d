// Builds the demo page (examples/demo/page) into examples/demo/dist, which server.mjs serves.
// The page imports the package by name, as an app would; here those names point at the package's
// own build in dist/ (Vite does not resolve a package's self-reference).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const dist = (file) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('./page/', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  resolve: {
    alias: [
      { find: /^closed-loop$/, replacement: dist('index.js') },
      { find: /^closed-loop\/react$/, replacement: dist('react.js') },
      { find: /^closed-loop\/service-worker$/, replacement: dist('service-worker.js') },
    ],
  },
  // React's automatic JSX runtime, with no plugin.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('./dist/', import.meta.url)),
    emptyOutDir: true,
    reportCompressedSize: false,
    rolldownOptions: {
      // closed-loop/react starts with 'use client' for React Server Components bundlers; a
      // client-only page has no use for it, and dropping it is right.
      onLog(level, log, handler) {
        if (level === 'warn' && log.code === 'MODULE_LEVEL_DIRECTIVE') return;
        handler(level, log);
      },
    },
  },
});
