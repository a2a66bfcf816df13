/** One conversation in the list: name, last activity, the preview (or the search hit), unread, status and assignee. */
import { Link } from "wouter";
import type { Conversation } from "../../api/types";
import { useBusiness } from "../../auth/hooks/useBusiness";
import { formatRelative } from "../../format/dates";
import { useI18n } from "../../i18n/I18nProvider";
import { conversationName } from "../utils/conversation";
import { highlight } from "../utils/highlight";
import { ConversationStatusChip } from "./ConversationStatus";
import { PersonIcon } from "./icons";

export function ConversationItem(props: { conversation: Conversation; href: string; current: boolean; q?: string }) {
  const { t, locale } = useI18n();
  const business = useBusiness();
  const c = props.conversation;
  const snippet = c.match?.snippet;
  return (
    <Link
      href={props.href}
      className="conversation"
      aria-current={props.current ? "page" : undefined}
      data-testid="conversation"
      data-conversation-id={c.id}
    >
      <span className="conversation-name">{conversationName(c, business.phoneRegion)}</span>
      <time className="muted" dateTime={c.lastMessageAt ?? undefined}>
        {formatRelative(c.lastMessageAt, locale, business.timezone)}
      </time>
      {snippet ? (
        <span className="conversation-preview conversation-match" data-testid="conversation-match" dir="auto">
          {highlight(snippet, props.q).map((part, i) =>
            // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed string, in order
            part.hit ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>,
          )}
        </span>
      ) : (
        <span className="conversation-preview" dir="auto">
          {c.lastMessagePreview ?? ""}
        </span>
      )}
      {c.unreadCount > 0 ? (
        <span className="badge">
          <span aria-hidden="true">{c.unreadCount}</span>
          <span className="visually-hidden">{t("inbox.unread", { count: c.unreadCount })}</span>
        </span>
      ) : (
        <span />
      )}
      {(c.assignee || c.status !== "open") && (
        <span className="conversation-meta">
          {c.status !== "open" && <ConversationStatusChip conversation={c} />}
          {c.assignee && (
            <span className="conversation-assignee" data-testid="conversation-assignee">
              <PersonIcon />
              <span className="visually-hidden">{t("inbox.assignee")}:</span>
              {c.assignee.name}
            </span>
          )}
        </span>
      )}
    </Link>
  );
}
