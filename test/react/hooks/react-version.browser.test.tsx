// Each React project runs the React it is named after: react19 the root's React 19, react18 the
// React 18 that vitest.config.ts aliases from test/react18 (react, react-dom and the JSX runtime alike).
import React, { useSyncExternalStore } from 'react';
import { version as domVersion } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { expect, test, vi } from 'vitest';
import { wait } from '../buttons/_support.js';

test('the project renders with the React major it is named after', async ({ task }) => {
  // Named `react19 (chromium)` or `react18 (chromium)` by Vitest.
  const project = task.file.projectName ?? '';
  const major = /^react(\d+)\b/.exec(project)?.[1];
  expect(major, `project ${project}`).toMatch(/^1[89]$/);
  expect(React.version.split('.')[0]).toBe(major);
  expect(domVersion).toBe(React.version);

  // The JSX runtime and react-dom/client are the same copy: a hook renders through createRoot.
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  function Version(): React.ReactElement {
    return <span>{useSyncExternalStore(() => () => {}, () => React.version)}</span>;
  }
  root.render(<Version />);
  await vi.waitFor(() => expect(container.textContent).toBe(React.version), wait);
  root.unmount();
  container.remove();
});
