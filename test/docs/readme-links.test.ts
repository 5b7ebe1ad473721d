// Every relative link in README.md must lead somewhere: the file exists, a `#L42` (or `#L42-L50`)
// anchor is a line the file has, and a `#heading` anchor is a heading of the Markdown file it names
// (README.md itself for a bare `#heading`), spelled the way GitHub makes heading ids. Links inside
// code blocks and code spans are not links; http(s) and mailto links are not checked here.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

const root = new URL('../../', import.meta.url);

/**
 * Guides being written alongside the README's link to them: skipped while the file is missing,
 * checked like every other link once it exists. Take an entry out when its file has landed.
 */
/** Markdown without fenced code blocks and code spans, so that code is never read as a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered -1, -2 … */
function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, heading] of withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = heading!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link keeps its text
      .replace(/<[^>]+>/g, '')
      .replace(/[`*]/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.add(n === 0 ? base : `${base}-${n}`);
  }
  return ids;
}

const readme = readFileSync(new URL('README.md', root), 'utf8');
const links = [...prose(readme).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
  .map(([, target]) => target!)
  .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));

describe('README links', () => {
  test('the README has relative links to check (the pattern still finds them)', () => {
    expect(links.length).toBeGreaterThan(20);
    expect(links).toContain('docs/client.md');
  });

  test.for([...new Set(links)])('%s', (target) => {
    const hashAt = target.indexOf('#');
    const path = decodeURIComponent(hashAt === -1 ? target : target.slice(0, hashAt));
    const anchor = hashAt === -1 ? undefined : decodeURIComponent(target.slice(hashAt + 1));
    const file = path === '' ? 'README.md' : path;

    expect(existsSync(new URL(file, root)), `${file} exists`).toBe(true);
    if (anchor === undefined) return;
    expect(statSync(new URL(file, root)).isFile(), `${file} is a file, for #${anchor}`).toBe(true);
    const text = readFileSync(new URL(file, root), 'utf8');

    const lines = /^L(\d+)(?:-L(\d+))?$/.exec(anchor);
    if (lines) {
      const count = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
      for (const line of lines.slice(1).filter((l) => l !== undefined)) {
        expect(Number(line), `${file} has a line ${line} (it has ${count})`).toBeGreaterThanOrEqual(1);
        expect(Number(line), `${file} has a line ${line} (it has ${count})`).toBeLessThanOrEqual(count);
      }
      return;
    }
    expect(file.endsWith('.md'), `#${anchor} on ${file}: only Markdown headings and #Lnn lines are checked`).toBe(true);
    expect([...headingIds(text)], `a heading with the id ${anchor} in ${file}`).toContain(anchor);
  });
});
