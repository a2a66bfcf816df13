/**
 * A private note in the thread: amber, a lock and "Private note", its author; never sent to the
 * customer. Its author or an admin may delete it.
 */
import { useState } from "react";
import type { ConversationNote } from "../../api/types";
import { useMe } from "../../auth/hooks/useMe";
import { useI18n } from "../../i18n/I18nProvider";
import { useCan } from "../../permissions/useCan";
import { ConfirmDialog } from "../../ui/ConfirmDialog";
import { useDeleteNote } from "../hooks/useTeamwork";
import { LockIcon } from "./icons";

export function NoteBubble(props: {
  conversationId: number;
  note: ConversationNote;
  formatAt: (iso: string) => string;
}) {
  const { t } = useI18n();
  const me = useMe();
  const can = useCan();
  const remove = useDeleteNote(props.conversationId);
  const [confirming, setConfirming] = useState(false);
  const { note } = props;
  const mayDelete = (note.author !== null && note.author.id === me?.user.id) || can("whatsapp.manage");
  return (
    <li className="bubble note" data-testid="note" data-note-id={note.id}>
      <div className="note-head">
        <LockIcon />
        <span className="note-label">{t("inbox.note.label")}</span>
        <span className="note-author">· {note.author?.name ?? t("inbox.note.formerUser")}</span>
      </div>
      <p dir="auto">{note.body}</p>
      <div className="bubble-meta">
        {mayDelete && (
          <button type="button" className="link-button note-delete" onClick={() => setConfirming(true)}>
            {t("inbox.note.delete")}
          </button>
        )}
        <time dateTime={note.createdAt}>{props.formatAt(note.createdAt)}</time>
      </div>
      {mayDelete && (
        <ConfirmDialog
          open={confirming}
          title={t("inbox.note.delete")}
          body={t("inbox.note.deleteBody")}
          confirmLabel={t("inbox.note.delete")}
          danger
          busy={remove.isPending}
          onConfirm={() => remove.mutate(note.id, { onSettled: () => setConfirming(false) })}
          onClose={() => setConfirming(false)}
        />
      )}
    </li>
  );
}
