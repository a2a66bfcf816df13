/**
 * A modal built on the native <dialog>: showModal() gives focus trapping, Escape to close and an
 * inert background for free, in every current browser.
 */
import { type ReactNode, useEffect, useRef } from "react";
import { useI18n } from "../i18n/I18nProvider";

export function Dialog(props: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const { t } = useI18n();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      className={props.wide ? "dialog dialog-wide" : "dialog"}
      aria-label={props.title}
      onClose={props.onClose}
    >
      <header className="dialog-header">
        <h2>{props.title}</h2>
        <button type="button" className="icon-button" aria-label={t("common.close")} onClick={props.onClose}>
          ×
        </button>
      </header>
      {props.open && props.children}
    </dialog>
  );
}
