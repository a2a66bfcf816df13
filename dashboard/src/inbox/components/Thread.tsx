/**
 * The open conversation: who has it and its status (with the actions on both), its times, and the
 * thread — messages and the team's private notes in the order they happened — with the composer.
 */
import { useCallback, useEffect, useRef } from "react";
import { Link } from "wouter";
import { useBusiness } from "../../auth/hooks/useBusiness";
import { formatDateTime } from "../../format/dates";
import { useI18n } from "../../i18n/I18nProvider";
import { useCan } from "../../permissions/useCan";
import { useConversation, useMarkRead, useReplies, useThread } from "../hooks/useInbox";
import { useNotes } from "../hooks/useTeamwork";
import { conversationName } from "../utils/conversation";
import { mergeTimeline } from "../utils/timeline";
import { AssigneeControl } from "./AssigneeControl";
import { Composer } from "./Composer";
import { ConversationStatusChip } from "./ConversationStatus";
import { ConversationTimes } from "./ConversationTimes";
import { MessageBubble } from "./MessageBubble";
import { NoteBubble } from "./NoteBubble";
import { PendingBubble } from "./PendingBubble";
import { StatusActions } from "./StatusActions";

export function Thread(props: {
  conversationId: number;
  /** Where "back" goes on a phone: the list with its filters. */
  backHref: string;
  /** The search hit to mark in the thread (from a search result). */
  matchedMessageId?: number;
}) {
  const { t, locale } = useI18n();
  const business = useBusiness();
  const can = useCan();
  const conversation = useConversation(props.conversationId);
  const thread = useThread(props.conversationId);
  const notes = useNotes(props.conversationId);
  const markRead = useMarkRead();
  const { send, reconcile, update } = useReplies(props.conversationId);
  const endRef = useRef<HTMLLIElement>(null);
  const pending = reconcile(thread.data);
  const c = conversation.data;
  const unread = c?.unreadCount ?? 0;
  const formatAt = (iso: string) => formatDateTime(iso, locale, business.timezone);

  // Opening a thread reads it; so does a new message arriving while it is open.
  const { mutate: markReadMutate } = markRead;
  useEffect(() => {
    if (unread > 0 && document.visibilityState === "visible") markReadMutate(props.conversationId);
  }, [unread, props.conversationId, markReadMutate]);

  const timeline = mergeTimeline(thread.data ?? [], notes.data ?? []);
  const count = timeline.length + pending.length;
  // Opened from a search hit: show the matching message once; otherwise (and afterwards) keep to the end.
  const shownMatch = useRef<number | null>(null);
  const listRef = useRef<HTMLOListElement>(null);
  useEffect(() => {
    if (count === 0) return;
    const match = props.matchedMessageId;
    const hit = match ? listRef.current?.querySelector(`[data-message-id="${match}"]`) : null;
    if (hit && shownMatch.current !== match) {
      shownMatch.current = match ?? null;
      hit.scrollIntoView({ block: "center" });
      return;
    }
    if (!hit) endRef.current?.scrollIntoView({ block: "end" });
  }, [count, props.matchedMessageId]);

  const onFailed = useCallback(
    (id: string, error: string) => update(id, { state: "failed", error, reuseId: false }),
    [update],
  );

  return (
    <div className="thread">
      <header className="thread-head">
        <div className="thread-title">
          <Link href={props.backHref} className="back-link narrow-only">
            {t("inbox.back")}
          </Link>
          <h2>{c ? conversationName(c, business.phoneRegion) : ""}</h2>
          {c && <ConversationStatusChip conversation={c} />}
          {unread > 0 && (
            <button type="button" className="button small" onClick={() => markRead.mutate(props.conversationId)}>
              {t("inbox.markRead")}
            </button>
          )}
        </div>
        {c && (
          <div className="thread-tools">
            <AssigneeControl conversation={c} />
            {can("whatsapp.send") && <StatusActions conversation={c} />}
            <ConversationTimes conversation={c} />
          </div>
        )}
      </header>
      <ol ref={listRef} className="messages" aria-live="polite" data-testid="thread">
        {timeline.map((item) =>
          item.kind === "note" ? (
            <NoteBubble
              key={`n${item.note.id}`}
              conversationId={props.conversationId}
              note={item.note}
              formatAt={formatAt}
            />
          ) : (
            <MessageBubble
              key={`m${item.message.id}`}
              message={item.message}
              formatAt={formatAt}
              matched={item.message.id === props.matchedMessageId}
            />
          ),
        )}
        {pending.map((p) => (
          <PendingBubble key={p.clientMessageId} reply={p} onRetry={(r) => send.mutate(r)} onFailed={onFailed} />
        ))}
        <li ref={endRef} className="messages-end" aria-hidden="true" />
      </ol>
      {can("whatsapp.send") && <Composer conversationId={props.conversationId} onSend={(r) => send.mutate(r)} />}
    </div>
  );
}
