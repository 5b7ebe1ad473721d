import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

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

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.browser.test.ts'],
        },
      },
      {
        // Pre-bundled up front: a dependency discovered mid-run makes Vite reload the page.
        optimizeDeps: { include: ['fast-check'] },
        test: {
          name: 'browser',
          // The core must run in browsers: its retry, breaker and clock tests run in real Chromium too.
          include: ['test/retry/**/*.test.ts', 'test/breaker/**/*.test.ts', 'test/errors/**/*.test.ts', 'test/clock/**/*.test.ts', 'test/**/*.browser.test.ts'],
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
