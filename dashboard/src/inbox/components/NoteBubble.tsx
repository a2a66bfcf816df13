/** A private note in the thread: amber, a lock and "Private note", its author; never sent to the customer. */
import type { ConversationNote } from "../../api/types";
import { useI18n } from "../../i18n/I18nProvider";
import { LockIcon } from "./icons";

export function NoteBubble(props: { note: ConversationNote; formatAt: (iso: string) => string }) {
  const { t } = useI18n();
  const { note } = props;
  return (
    <li className="bubble note" data-testid="note" data-note-id={note.id}>
      <div className="note-head">
        <LockIcon />
        <span className="note-label">{t("inbox.note.label")}</span>
        <span className="note-author">· {note.author?.name ?? t("inbox.note.formerUser")}</span>
      </div>
      <p>{note.body}</p>
      <div className="bubble-meta">
        <time dateTime={note.createdAt}>{props.formatAt(note.createdAt)}</time>
      </div>
    </li>
  );
}
