// The README and the guides show code from tested files: each ```tsx block that follows a
// `<!-- example: PATH -->` marker must be the `#region readme` part of PATH, character for character.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

const root = new URL('../../', import.meta.url);
const documents = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const blocks = documents.flatMap((doc) =>
  [...readFileSync(new URL(doc, root), 'utf8').matchAll(/<!-- example: (\S+) -->\s*```tsx\n([\s\S]*?)```/g)].map(([, path, code]) => ({
    doc,
    path: path!,
    code: code!,
  })),
);

function region(path: string): string {
  const text = readFileSync(new URL(path, root), 'utf8');
  const match = /\/\/ #region readme\n([\s\S]*?)\/\/ #endregion readme\n/.exec(text);
  if (match === null) throw new Error(`${path} has no // #region readme … // #endregion readme`);
  return match[1]!;
}

describe('README examples', () => {
  test('the README shows the React quick start; docs/react.md the TanStack Query recipe', () => {
    expect(blocks.map((b) => `${b.doc} ${b.path}`)).toEqual(
      expect.arrayContaining(['README.md examples/react/quick-start.tsx', 'docs/react.md examples/react/tanstack-query.tsx']),
    );
  });

  test.each(blocks.map((b) => [b.doc, b.path, b.code]))('%s shows %s as it is', (_doc, path, code) => {
    expect(code).toBe(region(path));
  });
});
