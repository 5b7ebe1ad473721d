// The loading spinner turns with the Web Animations API, and stands still when the user asks for
// reduced motion. A page cannot change the OS setting `prefers-reduced-motion` (nor can these tests
// add a browser command to emulate it), so window.matchMedia is stubbed before mounting: a stand-in
// for the OS setting, which the spinner reads in an effect (never at import or during render).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import { SyncButton } from 'closed-loop/react';
import { mount, parts, release, script, stats, testClient, uniqueName, wait } from './_support.js';

const REDUCED = '(prefers-reduced-motion: reduce)';
const realMatchMedia = window.matchMedia;

/** Stubs the OS setting; returns a function that changes it later (firing `change`). */
function stubReducedMotion(reduce: boolean): (reduce: boolean) => void {
  const listeners = new Set<(event: MediaQueryListEvent) => void>();
  const list = {
    matches: reduce,
    media: REDUCED,
    onchange: null,
    addEventListener: (_type: string, listener: (event: MediaQueryListEvent) => void) => listeners.add(listener),
    removeEventListener: (_type: string, listener: (event: MediaQueryListEvent) => void) => listeners.delete(listener),
    addListener: (listener: (event: MediaQueryListEvent) => void) => listeners.add(listener),
    removeListener: (listener: (event: MediaQueryListEvent) => void) => listeners.delete(listener),
    dispatchEvent: () => false,
  };
  window.matchMedia = (query: string) => (query === REDUCED ? (list as unknown as MediaQueryList) : realMatchMedia.call(window, query));
  return (next) => {
    list.matches = next;
    for (const listener of listeners) listener({ matches: next, media: REDUCED } as MediaQueryListEvent);
  };
}

afterEach(() => {
  window.matchMedia = realMatchMedia;
});

async function loadingSpinner(name: string) {
  await script(name, [{ hold: true }]);
  const client = testClient();
  const { container } = mount(
    <SyncButton client={client} endpoint={`/${name}`} successDurationMs={60_000}>
      Save
    </SyncButton>,
  );
  await vi.waitFor(() => parts(container), wait);
  const { button } = parts(container);
  await userEvent.click(button);
  await vi.waitFor(() => expect(button.querySelector('.closed-loop-spinner')).not.toBeNull(), wait);
  await vi.waitFor(async () => expect((await stats(name)).requests).toBe(1), wait);
  const spinner = button.querySelector<SVGSVGElement>('.closed-loop-spinner')!;
  return { button, spinner };
}

describe('Spinner', () => {
  it('turns (one running animation) when reduced motion is not asked for', async () => {
    stubReducedMotion(false);
    const name = uniqueName('spin');
    const { button, spinner } = await loadingSpinner(name);
    await vi.waitFor(() => expect(spinner.getAnimations()).toHaveLength(1), wait);
    expect(spinner.getAnimations()[0]?.playState).toBe('running');
    expect(spinner.getAttribute('aria-hidden')).toBe('true');
    await release(name);
    await vi.waitFor(() => expect(button.dataset.state).toBe('success'), wait);
    expect(spinner.isConnected).toBe(false);
  });

  it('stands still under prefers-reduced-motion: reduce, and follows a change of the setting', async () => {
    const change = stubReducedMotion(true);
    const name = uniqueName('still');
    const { spinner } = await loadingSpinner(name);
    expect(spinner.getAnimations()).toHaveLength(0);
    change(false);
    expect(spinner.getAnimations()).toHaveLength(1);
    change(true);
    expect(spinner.getAnimations()).toHaveLength(0);
    await release(name);
  });

  it('with the real matchMedia, animates exactly when the browser does not report reduced motion', async () => {
    const name = uniqueName('real');
    const { spinner } = await loadingSpinner(name);
    const reduced = window.matchMedia(REDUCED).matches;
    await vi.waitFor(() => expect(spinner.getAnimations()).toHaveLength(reduced ? 0 : 1), wait);
    await release(name);
  });
});
