// SyncButtonWithConfirm in real Chromium against the real test server: the press opens a native
// modal dialog with the focus inside it; cancel and Escape send nothing, confirm sends one mutation,
// and the focus returns to the button when the dialog closes.
import { describe, expect, it, vi } from 'vitest';
import { userEvent } from 'vitest/browser';
import { SyncButtonWithConfirm } from 'closed-loop/react';
import { mount, parts, release, script, stats, testClient, uniqueName, wait } from './_support.js';

function dialogParts(container: HTMLElement) {
  const dialog = container.querySelector('dialog');
  const cancel = container.querySelector<HTMLButtonElement>('.closed-loop-dialog-cancel');
  const confirm = container.querySelector<HTMLButtonElement>('.closed-loop-dialog-confirm');
  if (dialog === null || cancel === null || confirm === null) throw new Error('no dialog rendered');
  return { dialog, cancel, confirm };
}

describe('SyncButtonWithConfirm', () => {
  it('is an accessible modal dialog: labelled, described, focus inside while open', async () => {
    const client = testClient();
    const { container } = mount(
      <SyncButtonWithConfirm client={client} endpoint="/unused" confirmMessage="Delete this order?">
        Delete
      </SyncButtonWithConfirm>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button } = parts(container);
    const { dialog, cancel, confirm } = dialogParts(container);
    expect(dialog.open).toBe(false);
    expect(cancel.textContent).toBe('Cancel');
    expect(confirm.textContent).toBe('Confirm');

    await userEvent.click(button);
    expect(dialog.open).toBe(true);
    expect(dialog.matches(':modal')).toBe(true);
    expect(document.getElementById(dialog.getAttribute('aria-labelledby')!)?.textContent).toBe('Delete');
    expect(document.getElementById(dialog.getAttribute('aria-describedby')!)?.textContent).toBe('Delete this order?');
    expect(document.activeElement).toBe(cancel);
    expect(dialog.contains(document.activeElement)).toBe(true);
    expect(button.dataset.state).toBe('idle');
    await userEvent.click(cancel);
    expect(dialog.open).toBe(false);
  });

  it('cancel sends nothing, Escape cancels, confirm sends one; focus returns to the button each time', async () => {
    const name = uniqueName('confirm');
    const client = testClient();
    const onSuccess = vi.fn();
    const { container } = mount(
      <SyncButtonWithConfirm
        client={client}
        endpoint={`/${name}`}
        body={{ id: 3 }}
        confirmMessage="Really?"
        confirmText="Yes, delete"
        cancelText="Keep it"
        successDurationMs={60_000}
        onSuccess={onSuccess}
      >
        Delete
      </SyncButtonWithConfirm>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button } = parts(container);
    const { dialog, cancel, confirm } = dialogParts(container);
    expect(cancel.textContent).toBe('Keep it');
    expect(confirm.textContent).toBe('Yes, delete');

    // Cancel.
    await userEvent.click(button);
    expect(dialog.open).toBe(true);
    await userEvent.click(cancel);
    await vi.waitFor(() => expect(document.activeElement).toBe(button), wait);
    expect(dialog.open).toBe(false);
    expect(button.dataset.state).toBe('idle');

    // Escape: the dialog's cancel event.
    await userEvent.click(button);
    expect(dialog.open).toBe(true);
    expect(dialog.contains(document.activeElement)).toBe(true);
    await userEvent.keyboard('{Escape}');
    await vi.waitFor(() => expect(dialog.open).toBe(false), wait);
    await vi.waitFor(() => expect(document.activeElement).toBe(button), wait);
    expect(button.dataset.state).toBe('idle');

    // Confirm.
    await userEvent.click(button);
    expect(dialog.open).toBe(true);
    await userEvent.click(confirm);
    expect(dialog.open).toBe(false);
    await vi.waitFor(() => expect(button.dataset.state).toBe('success'), wait);
    await vi.waitFor(() => expect(document.activeElement).toBe(button), wait);
    expect(onSuccess).toHaveBeenCalledTimes(1);
    expect(onSuccess.mock.calls[0]?.[1]).toEqual({ id: 3 });

    // Had cancel or Escape sent anything, it would have arrived before the confirmed POST's answer.
    const s = await stats(name);
    expect(s).toMatchObject({ requests: 1, effects: 1 });
    expect(s.keys).toHaveLength(1);
  });

  it('a press while loading opens no dialog', async () => {
    const name = uniqueName('confirm-loading');
    const client = testClient();
    const { container } = mount(
      <SyncButtonWithConfirm client={client} endpoint={`/${name}`} successDurationMs={60_000}>
        Delete
      </SyncButtonWithConfirm>,
    );
    await vi.waitFor(() => parts(container), wait);
    const { button } = parts(container);
    const { dialog, confirm } = dialogParts(container);
    await script(name, [{ hold: true }]);
    await userEvent.click(button);
    await userEvent.click(confirm);
    await vi.waitFor(() => expect(button.dataset.state).toBe('loading'), wait);
    button.click();
    expect(dialog.open).toBe(false);
    await release(name);
    await vi.waitFor(() => expect(button.dataset.state).toBe('success'), wait);
    expect(await stats(name)).toMatchObject({ requests: 1, effects: 1 });
  });
});
