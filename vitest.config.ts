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
  ],
};

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.browser.test.ts'],
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
          // Node-only: it starts an HTTP server of its own (the browser's SSE test gets one from globalSetup).
          exclude: [...configDefaults.exclude, 'test/realtime/sse-transport.test.ts'],
          // Starts the Express SSE server that sse-transport.browser.test.ts connects to.
          globalSetup: ['test/realtime/sse-browser-server.ts'],
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: { executablePath: chromiumPath, args: chromiumArgs },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
