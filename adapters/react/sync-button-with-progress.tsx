import { forwardRef, type ForwardedRef, type ReactElement, type ReactNode, type RefAttributes } from 'react';
import { useSyncButtonElement, type SyncButtonExtra, type SyncButtonProps } from './sync-button.js';

/** Props of {@link SyncButtonWithProgress}: those of {@link SyncButton}, and the progress texts. @category Buttons */
export interface SyncButtonWithProgressProps<TData = unknown, TVars = unknown, TContext = unknown>
  extends SyncButtonProps<TData, TVars, TContext> {
  /**
   * What shows in the button from the second attempt on, with the attempt running and the most
   * attempts the call may make. Default `` `retrying ${attempt} of ${maxAttempts}` ``.
   */
  progressText?: ((attempt: number, maxAttempts: number) => ReactNode) | undefined;
  /** What shows in the button while the mutation waits in the offline queue. Default `'queued'`. */
  queuedText?: ReactNode | undefined;
}

/** The type of {@link SyncButtonWithProgress}: a component, generic like {@link SyncButton}. @category Buttons */
export type SyncButtonWithProgressComponent = <TData = unknown, TVars = unknown, TContext = unknown>(
  props: SyncButtonWithProgressProps<TData, TVars, TContext> & RefAttributes<HTMLButtonElement>,
) => ReactElement;

const defaultProgressText = (attempt: number, maxAttempts: number): string => `retrying ${attempt} of ${maxAttempts}`;

/**
 * A {@link SyncButton} that also shows where the call is: "retrying 2 of 3" while the client retries
 * (from the second attempt on; all attempts carry the same idempotency key), and "queued" while the
 * mutation waits in the offline queue. The text sits in a `closed-loop-progress` span inside the
 * button, after the label.
 *
 * @example
 * ```tsx
 * <SyncButtonWithProgress endpoint="/payments" body={payment} mutationConfig={{ retry: { maxAttempts: 5 } }}>
 *   Pay
 * </SyncButtonWithProgress>
 * ```
 * @category Buttons
 */
export const SyncButtonWithProgress = forwardRef(function SyncButtonWithProgress(
  props: SyncButtonWithProgressProps,
  ref: ForwardedRef<HTMLButtonElement>,
): ReactElement {
  const { progressText = defaultProgressText, queuedText = 'queued', ...buttonProps } = props;
  const extra: SyncButtonExtra = ({ status, progress }) => {
    if (status === 'pending' && progress.attempt >= 2) {
      return <span className="closed-loop-progress">{progressText(progress.attempt, progress.maxAttempts)}</span>;
    }
    if (status === 'queued') return <span className="closed-loop-progress">{queuedText}</span>;
    return null;
  };
  return useSyncButtonElement(buttonProps, ref, extra);
}) as SyncButtonWithProgressComponent;
