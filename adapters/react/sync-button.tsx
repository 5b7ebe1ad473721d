import {
  forwardRef,
  useEffect,
  type ButtonHTMLAttributes,
  type ForwardedRef,
  type MouseEvent,
  type ReactElement,
  type ReactNode,
  type RefAttributes,
} from 'react';
import type { SyncClient } from 'closed-loop';
import { LiveRegion } from './live-region.js';
import { Spinner } from './spinner.js';
import { useSyncMutation, type UseSyncMutationOptions, type UseSyncMutationResult } from './use-sync-mutation.js';

/** What a {@link SyncButton} shows, as its `data-state` attribute. @category Buttons */
export type SyncButtonState = 'idle' | 'loading' | 'success' | 'error' | 'queued';

/**
 * The options of the button's mutation ({@link useSyncMutation}'s, without those the button takes as
 * props of its own): `retry`, `durable`, `queueWhenOffline`, `headers`, `onMutate`, `onSuccess`,
 * `onError`, `onSettled`.
 * @category Buttons
 */
export type SyncButtonMutationConfig<TData = unknown, TVars = unknown, TContext = unknown> = Omit<
  UseSyncMutationOptions<TData, TVars, TContext>,
  'endpoint' | 'method' | 'client'
>;

/** Props of {@link SyncButton}. Other `<button>` attributes (`id`, `name`, `aria-*`, `data-*`, …) pass through. @category Buttons */
export interface SyncButtonProps<TData = unknown, TVars = unknown, TContext = unknown>
  extends Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'onClick' | 'onError' | 'children' | 'disabled' | 'className'> {
  /** The path to send to, relative to the client's `baseUrl`. */
  endpoint: string;
  /** The HTTP method. Default `'POST'`. */
  method?: string | undefined;
  /** The button's content. */
  children?: ReactNode;
  /**
   * Called on a click instead of the default `mutate(body)`, with the mutation's `mutate`: call it
   * with the body to send (or do not, to send nothing). Not called while the button is loading.
   */
  onClick?: ((mutate: UseSyncMutationResult<TData, TVars>['mutate']) => void) | undefined;
  /** What a click sends as the request body when there is no `onClick`. Default: no body. */
  body?: TVars | undefined;
  /** Announced in the status region on success. Default `'Done.'`. */
  successMessage?: ReactNode | undefined;
  /**
   * Announced in the status region on failure: a node, or a function of the error. Default
   * `'Something went wrong. Please try again.'`.
   */
  errorMessage?: ReactNode | ((error: unknown) => ReactNode) | undefined;
  /**
   * Announced in the status region when the mutation was saved offline, to be sent later. Default
   * `'Saved offline. It will be sent when the connection is back.'`.
   */
  queuedMessage?: ReactNode | undefined;
  /** How long the success, error or queued state shows before the button is idle again, in ms. Default 2000. */
  successDurationMs?: number | undefined;
  /** Whether a spinner shows while loading. Default true. */
  showSpinner?: boolean | undefined;
  /** The button's content while loading. Default: `children`. */
  loadingText?: ReactNode | undefined;
  /** The button's content on success. Default: `children`. */
  successText?: ReactNode | undefined;
  /** Disables the button (the `disabled` attribute). A loading button is not disabled this way: it keeps its focus. */
  disabled?: boolean | undefined;
  /** Classes added after `closed-loop-button`. */
  className?: string | undefined;
  /** The mutation's options: `retry`, `durable`, `queueWhenOffline`, `headers`, `onMutate`, …. */
  mutationConfig?: SyncButtonMutationConfig<TData, TVars, TContext> | undefined;
  /** After the server accepted the mutation (after `mutationConfig.onSuccess`); for an app's own toast. */
  onSuccess?: ((data: TData, vars: TVars, context: TContext | undefined) => unknown) | undefined;
  /** After the mutation failed for good (after `mutationConfig.onError`); for an app's own toast. */
  onError?: ((error: unknown, vars: TVars, context: TContext | undefined) => unknown) | undefined;
  /** The client to send with. Default: the one of the enclosing {@link SyncProvider}. */
  client?: SyncClient | undefined;
}

/** The type of {@link SyncButton}: a component, generic in the response, body and `onMutate` context. @category Buttons */
export type SyncButtonComponent = <TData = unknown, TVars = unknown, TContext = unknown>(
  props: SyncButtonProps<TData, TVars, TContext> & RefAttributes<HTMLButtonElement>,
) => ReactElement;

/** The default announcements; an app passes its own (and its own language) through the props. */
const DEFAULT_SUCCESS_MESSAGE = 'Done.';
const DEFAULT_ERROR_MESSAGE = 'Something went wrong. Please try again.';
const DEFAULT_QUEUED_MESSAGE = 'Saved offline. It will be sent when the connection is back.';

/**
 * What a variant adds inside the button after its label, from the mutation's state.
 *
 * @internal
 */
export type SyncButtonExtra = (mutation: UseSyncMutationResult) => ReactNode;

/**
 * The button of {@link SyncButton} and its variants: runs the mutation and renders the button and its
 * status region. A hook (it calls hooks), called once per render by each component.
 *
 * @internal
 */
export function useSyncButtonElement(
  props: SyncButtonProps,
  ref: ForwardedRef<HTMLButtonElement>,
  extra?: SyncButtonExtra,
): ReactElement {
  const {
    endpoint,
    method,
    children,
    onClick,
    body,
    successMessage,
    errorMessage,
    queuedMessage,
    successDurationMs = 2000,
    showSpinner = true,
    loadingText,
    successText,
    disabled,
    className,
    mutationConfig,
    onSuccess,
    onError,
    client,
    type = 'button',
    ...buttonProps
  } = props;

  const mutation = useSyncMutation({
    ...mutationConfig,
    endpoint,
    method,
    client,
    onSuccess:
      onSuccess === undefined
        ? mutationConfig?.onSuccess
        : (data, vars, context) => {
            mutationConfig?.onSuccess?.(data, vars, context);
            return onSuccess(data, vars, context);
          },
    onError:
      onError === undefined
        ? mutationConfig?.onError
        : (error, vars, context) => {
            mutationConfig?.onError?.(error, vars, context);
            return onError(error, vars, context);
          },
  });
  const { status, reset, mutate } = mutation;

  // Success, error and queued show for a while, then the button is idle again (the mutation's
  // reset: a queued mutation stays in the queue, and its callbacks still run when it is delivered).
  useEffect(() => {
    if (status !== 'success' && status !== 'error' && status !== 'queued') return undefined;
    const timer = setTimeout(reset, successDurationMs);
    return () => clearTimeout(timer);
  }, [status, reset, successDurationMs]);

  const loading = status === 'pending';
  const state: SyncButtonState = loading ? 'loading' : status;

  const handleClick = (event: MouseEvent<HTMLButtonElement>): void => {
    // aria-disabled rather than disabled while loading (a disabled button drops the focus): the
    // click arrives and is ignored here (the mutation would ignore it too).
    if (loading) {
      event.preventDefault();
      return;
    }
    if (onClick !== undefined) onClick(mutate);
    else mutate(body);
  };

  let label: ReactNode = children;
  if (state === 'loading' && loadingText !== undefined) label = loadingText;
  else if (state === 'success' && successText !== undefined) label = successText;

  let message: ReactNode = null;
  if (state === 'success') message = successMessage ?? DEFAULT_SUCCESS_MESSAGE;
  else if (state === 'queued') message = queuedMessage ?? DEFAULT_QUEUED_MESSAGE;
  else if (state === 'error') {
    message = typeof errorMessage === 'function' ? errorMessage(mutation.error) : (errorMessage ?? DEFAULT_ERROR_MESSAGE);
  }

  return (
    <>
      <button
        {...buttonProps}
        ref={ref}
        type={type}
        className={className === undefined ? 'closed-loop-button' : `closed-loop-button ${className}`}
        disabled={disabled}
        data-state={state}
        aria-busy={loading ? true : buttonProps['aria-busy']}
        aria-disabled={loading ? true : buttonProps['aria-disabled']}
        onClick={handleClick}
      >
        {loading && showSpinner ? <Spinner /> : null}
        <span className="closed-loop-label">{label}</span>
        {extra?.(mutation)}
      </button>
      <LiveRegion>{message}</LiveRegion>
    </>
  );
}

/**
 * A button that sends one mutation per press, exactly once: a fresh idempotency key per press, the
 * same on every retry and offline delivery, and presses while it is loading send nothing.
 *
 * It goes idle → loading → success | error | queued → idle (after `successDurationMs`), shown as
 * `data-state` on the `<button>`. While loading the button is `aria-busy` and `aria-disabled` (not
 * `disabled`, which would drop the focus). The success, error or queued message is announced in a
 * polite `role="status"` region rendered next to the button. Unstyled: style it through the class
 * names `closed-loop-button`, `closed-loop-label`, `closed-loop-spinner` and `closed-loop-status`,
 * and `[data-state]`.
 *
 * @example
 * ```tsx
 * <SyncButton endpoint="/orders" body={{ sku: 'A1' }} successMessage="Ordered" loadingText="Ordering…">
 *   Order
 * </SyncButton>
 * ```
 * @category Buttons
 */
export const SyncButton = forwardRef(function SyncButton(
  props: SyncButtonProps,
  ref: ForwardedRef<HTMLButtonElement>,
): ReactElement {
  return useSyncButtonElement(props, ref);
}) as SyncButtonComponent;
