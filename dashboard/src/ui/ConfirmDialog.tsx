/** "Are you sure?" before an action that cannot be undone or interrupts work in progress. */
import { useI18n } from "../i18n/I18nProvider";
import { Dialog } from "./Dialog";

export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  body: string;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  const { t } = useI18n();
  return (
    <Dialog open={props.open} title={props.title} onClose={props.onClose}>
      <div className="stack">
        <p>{props.body}</p>
        <div className="actions">
          <button
            type="button"
            className={props.danger ? "button danger" : "button primary"}
            disabled={props.busy}
            onClick={props.onConfirm}
          >
            {props.confirmLabel}
          </button>
          <button type="button" className="button" onClick={props.onClose}>
            {t("common.cancel")}
          </button>
        </div>
      </div>
    </Dialog>
  );
}
