import { useEffect, useRef, type ReactElement } from 'react';

/** Props of {@link Spinner}. */
export interface SpinnerProps {
  /** Classes added after `closed-loop-spinner`. */
  className?: string;
  /** Width and height, any CSS length. Default `'1em'` (the size of the text around it). */
  size?: string | number;
}

const REDUCED_MOTION = '(prefers-reduced-motion: reduce)';
const TURN: Keyframe[] = [{ transform: 'rotate(0deg)' }, { transform: 'rotate(360deg)' }];
const TURN_TIMING: KeyframeAnimationOptions = { duration: 800, iterations: Infinity, easing: 'linear' };

/**
 * A small inline SVG spinner, hidden from assistive technology (the button it sits in says
 * `aria-busy`). It turns with the Web Animations API, and only while the user's system does not ask
 * for reduced motion (`prefers-reduced-motion: reduce`, followed live); under reduced motion it
 * stands still. The media query is read in an effect, so rendering it on a server is safe.
 *
 * Unstyled apart from its size: style it through the `closed-loop-spinner` class (its stroke is
 * `currentColor`).
 *
 * @param props - see {@link SpinnerProps}
 * @returns the `<svg>` element
 */
export function Spinner({ className, size = '1em' }: SpinnerProps): ReactElement {
  const ref = useRef<SVGSVGElement>(null);

  useEffect(() => {
    const element = ref.current;
    if (element === null || typeof element.animate !== 'function') return undefined;
    const query = typeof window.matchMedia === 'function' ? window.matchMedia(REDUCED_MOTION) : undefined;
    let animation: Animation | undefined;
    const update = (): void => {
      if (query?.matches === true) {
        animation?.cancel();
        animation = undefined;
      } else if (animation === undefined) {
        animation = element.animate(TURN, TURN_TIMING);
      }
    };
    update();
    query?.addEventListener?.('change', update);
    return () => {
      query?.removeEventListener?.('change', update);
      animation?.cancel();
    };
  }, []);

  return (
    <svg
      ref={ref}
      className={className === undefined ? 'closed-loop-spinner' : `closed-loop-spinner ${className}`}
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      aria-hidden="true"
      focusable="false"
    >
      <circle cx="12" cy="12" r="9" stroke="currentColor" strokeOpacity="0.25" strokeWidth="3" />
      <path d="M21 12a9 9 0 0 0-9-9" stroke="currentColor" strokeWidth="3" strokeLinecap="round" />
    </svg>
  );
}
