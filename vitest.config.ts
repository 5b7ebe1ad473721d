import { playwright } from '@vitest/browser-playwright';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

// Debian's Chromium; a test tool's own browser download cannot run on these machines.
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Tests import adapters and the core by their published names; in the repository those are the sources.
const resolve = {
  alias: [
    { find: /^closed-loop$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    { find: /^closed-loop\/express$/, replacement: fileURLToPath(new URL('./adapters/express/index.ts', import.meta.url)) },
    { find: /^closed-loop\/redis$/, replacement: fileURLToPath(new URL('./adapters/redis/index.ts', import.meta.url)) },
    { find: /^closed-loop\/supabase$/, replacement: fileURLToPath(new URL('./adapters/supabase/index.ts', import.meta.url)) },
    { find: /^closed-loop\/react$/, replacement: fileURLToPath(new URL('./adapters/react/index.ts', import.meta.url)) },
    { find: /^closed-loop\/fetch$/, replacement: fileURLToPath(new URL('./adapters/fetch/index.ts', import.meta.url)) },
    { find: /^closed-loop\/hono$/, replacement: fileURLToPath(new URL('./adapters/hono/index.ts', import.meta.url)) },
    { find: /^closed-loop\/service-worker$/, replacement: fileURLToPath(new URL('./adapters/service-worker/index.ts', import.meta.url)) },
  ],
};

// The `react18` project runs the same React tests against React 18, installed in test/react18 by
// scripts/install-react18.mjs: each React specifier (exact match) points there instead of the root's React 19.
const react18 = (path: string): string => fileURLToPath(new URL(`./test/react18/node_modules/${path}`, import.meta.url));
const react18Alias = [
  { find: /^react$/, replacement: react18('react/index.js') },
  { find: /^react\/jsx-runtime$/, replacement: react18('react/jsx-runtime.js') },
  { find: /^react\/jsx-dev-runtime$/, replacement: react18('react/jsx-dev-runtime.js') },
  { find: /^react-dom$/, replacement: react18('react-dom/index.js') },
  { find: /^react-dom\/client$/, replacement: react18('react-dom/client.js') },
];

// A fresh object per project: Vitest names each project's browser instance in place.
const chromium = () => ({
  enabled: true,
  headless: true,
  provider: playwright({
    launchOptions: { executablePath: chromiumPath, args: chromiumArgs },
  }),
  instances: [{ browser: 'chromium' as const }],
});

// closed-loop/react in real Chromium with real React: the hooks' and buttons' tests, once per React
// major. test/react/_server.ts starts the HTTP server they send to (`inject('reactServerUrl')`).
function reactProject(name: 'react19' | 'react18', alias: typeof resolve.alias) {
  return {
    resolve: { alias: [...alias, ...resolve.alias] },
    // Its own cache: the two projects pre-bundle different Reacts under the same names.
    cacheDir: `node_modules/.vite/${name}`,
    optimizeDeps: {
      include: ['react', 'react/jsx-runtime', 'react/jsx-dev-runtime', 'react-dom', 'react-dom/client', '@tanstack/react-query', 'uuid', 'idb'],
    },
    test: {
      name,
      include: ['test/react/**/*.browser.test.tsx'],
      globalSetup: ['test/react/_server.ts'],
      browser: chromium(),
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
          exclude: [...configDefaults.exclude, 'test/**/*.browser.test.ts', 'test/**/*.browser.test.tsx'],
        },
      },
      {
        resolve,
        // Pre-bundled up front: a dependency discovered mid-run makes Vite reload the page.
        optimizeDeps: { include: ['fast-check', 'uuid', 'idb'] },
        test: {
          name: 'browser',
          // The core must run in browsers: its retry, breaker and clock tests run in real Chromium too.
          include: [
            'test/retry/**/*.test.ts',
            'test/breaker/**/*.test.ts',
            'test/errors/**/*.test.ts',
            'test/clock/**/*.test.ts',
            'test/idempotency/**/*.test.ts',
            'test/realtime/**/*.test.ts',
            'test/queue/**/*.test.ts',
            // One level only: test/client/http/ starts Express servers.
            'test/client/*.test.ts',
            'test/**/*.browser.test.ts',
          ],
          // test/realtime/sse-transport.test.ts is Node-only: it starts an HTTP server of its own (the
          // browser's SSE test gets one from globalSetup). test/errors/guards-across-copies.test.ts loads a
          // second copy of the errors, which the browser runner cannot (it says why). test/react/ runs in
          // the react19 and react18 projects.
          exclude: [...configDefaults.exclude, 'test/realtime/sse-transport.test.ts', 'test/errors/guards-across-copies.test.ts', 'test/react/**'],
          // Starts the Express SSE server that sse-transport.browser.test.ts connects to.
          globalSetup: ['test/realtime/sse-browser-server.ts'],
          browser: chromium(),
        },
      },
      reactProject('react19', []),
      reactProject('react18', react18Alias),
    ],
  },
});
