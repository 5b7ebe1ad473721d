import type { ReactElement, ReactNode } from 'react';

/** Props of {@link LiveRegion}. */
export interface LiveRegionProps {
  /** What is announced; nothing (`null`, `undefined`, `false`) leaves the region empty. */
  children?: ReactNode;
  /** Classes added after `closed-loop-status`. */
  className?: string;
}

/**
 * A polite `role="status"` live region. It is rendered always, empty when there is nothing to say,
 * because screen readers announce changes to a region that was already in the page, not the
 * content of one that appears with its text.
 *
 * @param props - see {@link LiveRegionProps}
 * @returns the `<span>` element
 */
export function LiveRegion({ children, className }: LiveRegionProps): ReactElement {
  return (
    <span
      role="status"
      aria-live="polite"
      aria-atomic="true"
      className={className === undefined ? 'closed-loop-status' : `closed-loop-status ${className}`}
    >
      {children}
    </span>
  );
}
