/**
 * A button that opens a small panel of actions (built on <details>, like the user menu): closes on
 * Escape (focus back on its button), on a click outside, and when the caller says it is done.
 */
import { type ReactNode, useEffect, useRef } from "react";

export function Popover(props: {
  label: ReactNode;
  /** The accessible name of the button when `label` is an icon. */
  ariaLabel?: string;
  className?: string;
  /** The panel; `close()` folds it up after a choice. */
  children: (close: () => void) => ReactNode;
  testId?: string;
}) {
  const ref = useRef<HTMLDetailsElement>(null);
  const close = () => {
    const details = ref.current;
    if (!details?.open) return;
    details.open = false;
    details.querySelector("summary")?.focus();
  };
  useEffect(() => {
    const onPointer = (e: PointerEvent) => {
      const details = ref.current;
      if (details?.open && !details.contains(e.target as Node)) details.open = false;
    };
    document.addEventListener("pointerdown", onPointer);
    return () => document.removeEventListener("pointerdown", onPointer);
  }, []);
  return (
    <details
      ref={ref}
      className={`popover ${props.className ?? ""}`}
      data-testid={props.testId}
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          close();
        }
      }}
    >
      <summary className="button" aria-label={props.ariaLabel}>
        {props.label}
      </summary>
      <div className="popover-body">{props.children(close)}</div>
    </details>
  );
}
