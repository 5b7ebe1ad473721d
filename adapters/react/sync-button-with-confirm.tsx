import {
  forwardRef,
  useCallback,
  useId,
  useRef,
  type ForwardedRef,
  type ReactElement,
  type ReactNode,
  type RefAttributes,
} from 'react';
import { useSyncButtonElement, type SyncButtonProps } from './sync-button.js';
import type { UseSyncMutationResult } from './use-sync-mutation.js';

/** Props of {@link SyncButtonWithConfirm}: those of {@link SyncButton}, and the dialog's texts. @category Buttons */
export interface SyncButtonWithConfirmProps<TData = unknown, TVars = unknown, TContext = unknown>
  extends SyncButtonProps<TData, TVars, TContext> {
  /** The question the dialog asks (its description). Default `'Are you sure?'`. */
  confirmMessage?: ReactNode | undefined;
  /** The dialog's title (its accessible name). Default: the button's `children`. */
  confirmTitle?: ReactNode | undefined;
  /** The button that sends. Default `'Confirm'`. */
  confirmText?: ReactNode | undefined;
  /** The button that closes the dialog and sends nothing (as Escape does). Default `'Cancel'`. */
  cancelText?: ReactNode | undefined;
}

/** The type of {@link SyncButtonWithConfirm}: a component, generic like {@link SyncButton}. @category Buttons */
export type SyncButtonWithConfirmComponent = <TData = unknown, TVars = unknown, TContext = unknown>(
  props: SyncButtonWithConfirmProps<TData, TVars, TContext> & RefAttributes<HTMLButtonElement>,
) => ReactElement;

type Mutate = UseSyncMutationResult['mutate'];

/**
 * A {@link SyncButton} that asks first: a press opens a modal `<dialog>` (labelled by its title,
 * described by `confirmMessage`) with the focus on its cancel button. Confirm sends one mutation;
 * cancel or Escape sends nothing. When the dialog closes the focus goes back to the button. Class
 * names: `closed-loop-dialog`, `closed-loop-dialog-title`, `closed-loop-dialog-message`,
 * `closed-loop-dialog-actions`, `closed-loop-dialog-cancel`, `closed-loop-dialog-confirm`.
 *
 * @example
 * ```tsx
 * <SyncButtonWithConfirm endpoint={`/orders/${id}`} method="DELETE" confirmMessage="Delete this order?">
 *   Delete
 * </SyncButtonWithConfirm>
 * ```
 * @category Buttons
 */
export const SyncButtonWithConfirm = forwardRef(function SyncButtonWithConfirm(
  props: SyncButtonWithConfirmProps,
  ref: ForwardedRef<HTMLButtonElement>,
): ReactElement {
  const {
    confirmMessage = 'Are you sure?',
    confirmTitle,
    confirmText = 'Confirm',
    cancelText = 'Cancel',
    onClick,
    body,
    ...buttonProps
  } = props;
  const dialogRef = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const buttonRef = useRef<HTMLButtonElement | null>(null);
  // The mutate of the press that opened the dialog, until it closes.
  const pendingMutate = useRef<Mutate | null>(null);
  const id = useId();
  const titleId = `${id}-title`;
  const messageId = `${id}-message`;

  const setButton = useCallback(
    (element: HTMLButtonElement | null) => {
      buttonRef.current = element;
      if (typeof ref === 'function') ref(element);
      else if (ref !== null) ref.current = element;
    },
    [ref],
  );

  const open = (mutate: Mutate): void => {
    const dialog = dialogRef.current;
    if (dialog === null || dialog.open) return;
    pendingMutate.current = mutate;
    dialog.showModal();
    cancelRef.current?.focus();
  };
  const confirm = (): void => {
    const mutate = pendingMutate.current;
    pendingMutate.current = null;
    dialogRef.current?.close();
    if (mutate === null) return;
    if (onClick !== undefined) onClick(mutate);
    else mutate(body);
  };
  const cancel = (): void => {
    pendingMutate.current = null;
    dialogRef.current?.close();
  };
  // Every way out (confirm, cancel, Escape's `cancel` event, a form method="dialog") ends here.
  const closed = (): void => {
    pendingMutate.current = null;
    buttonRef.current?.focus();
  };

  const button = useSyncButtonElement({ ...buttonProps, onClick: open }, setButton);
  return (
    <>
      {button}
      <dialog
        ref={dialogRef}
        className="closed-loop-dialog"
        aria-labelledby={titleId}
        aria-describedby={messageId}
        onClose={closed}
      >
        <h2 id={titleId} className="closed-loop-dialog-title">
          {confirmTitle ?? buttonProps.children}
        </h2>
        <p id={messageId} className="closed-loop-dialog-message">
          {confirmMessage}
        </p>
        <div className="closed-loop-dialog-actions">
          <button ref={cancelRef} type="button" className="closed-loop-dialog-cancel" onClick={cancel}>
            {cancelText}
          </button>
          <button type="button" className="closed-loop-dialog-confirm" onClick={confirm}>
            {confirmText}
          </button>
        </div>
      </dialog>
    </>
  );
}) as SyncButtonWithConfirmComponent;
