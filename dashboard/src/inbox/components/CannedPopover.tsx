/**
 * The canned replies matching what follows `/` in the composer. The composer keeps focus and
 * drives the choice with the keyboard (aria-activedescendant); a click picks one too.
 */
import type { CannedReply } from "../../api/types";
import { useI18n } from "../../i18n/I18nProvider";

export const CANNED_LISTBOX_ID = "canned-replies";
export const cannedOptionId = (id: number) => `canned-reply-${id}`;

export function CannedPopover(props: {
  query: string;
  options: CannedReply[];
  active: number;
  loading: boolean;
  /** No canned reply exists at all (rather than none matching). */
  none: boolean;
  onHover: (index: number) => void;
  onPick: (reply: CannedReply) => void;
}) {
  const { t } = useI18n();
  return (
    <div className="canned-popover" data-testid="canned-popover">
      <div className="canned-popover-head">
        <strong>{t("inbox.canned.title")}</strong>
        <span className="muted small hide-narrow">{t("inbox.canned.keys")}</span>
      </div>
      {props.loading ? (
        <p className="muted small">{t("common.loading")}</p>
      ) : props.options.length === 0 ? (
        <p className="muted small">
          {props.none ? t("inbox.canned.empty") : t("inbox.canned.noMatch", { query: props.query })}
        </p>
      ) : (
        <div id={CANNED_LISTBOX_ID} role="listbox" aria-label={t("inbox.canned.title")} className="canned-options">
          {props.options.map((reply, i) => (
            // The keyboard stays in the composer (aria-activedescendant points here), so options
            // take clicks only and are not tab stops of their own.
            // biome-ignore lint/a11y/useKeyWithClickEvents: the composer's arrows and Enter choose
            <div
              key={reply.id}
              id={cannedOptionId(reply.id)}
              role="option"
              tabIndex={-1}
              aria-selected={i === props.active}
              className="canned-option"
              // Keeps the focus (and the caret) in the composer.
              onMouseDown={(e) => e.preventDefault()}
              onMouseEnter={() => props.onHover(i)}
              onClick={() => props.onPick(reply)}
            >
              <span className="canned-shortcut" dir="ltr">
                /{reply.shortcut}
              </span>
              <span className="canned-body" dir="auto">
                {reply.body}
              </span>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
