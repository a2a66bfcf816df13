/**
 * The inbox: conversations by last activity, filtered by view (mine / unassigned / all, or one
 * agent's), status and a search, and the open thread. The filters live in the address, so opening
 * a conversation, going back or reloading keeps them. Changes arrive through the live hub.
 *
 * The list comes in pages, the next one when the agent asks at its end. Not on scrolling: the
 * thread follows the list, and a keyboard tabbing down an endless list would never reach it; and
 * every live event refetches each loaded page, so the pages held are the ones the agent wanted.
 */
import { useCallback, useMemo } from "react";
import { useLocation, useSearch } from "wouter";
import { useI18n } from "../i18n/I18nProvider";
import { useLiveStatus } from "../live/LiveProvider";
import { LoadMore } from "../ui/LoadMore";
import { ConversationItem } from "./components/ConversationItem";
import { InboxFilters } from "./components/InboxFilters";
import { Thread } from "./components/Thread";
import { useConversations } from "./hooks/useInbox";
import { type ConversationFilters, filtersSearch, parseFilters } from "./utils/filters";
import { conversationsOf } from "./utils/pages";

export default function InboxPage({ conversationId }: { conversationId?: number }) {
  const { t } = useI18n();
  const live = useLiveStatus();
  const search = useSearch();
  const [, navigate] = useLocation();
  const filters = parseFilters(search);
  const query = filtersSearch(filters);
  const conversations = useConversations(filters);
  const list = useMemo(() => conversationsOf(conversations.data?.pages), [conversations.data]);
  const paged = conversations.hasNextPage || (conversations.data?.pages.length ?? 0) > 1;
  const here = conversationId === undefined ? "/inbox" : `/inbox/${conversationId}`;
  const setFilters = useCallback(
    (next: ConversationFilters) => navigate(`${here}${filtersSearch(next)}`, { replace: true }),
    [navigate, here],
  );
  const filtered = filters.q || filters.view !== "all" || filters.status !== "all" || filters.assigneeId;

  return (
    <section className={conversationId ? "page inbox thread-open" : "page inbox"}>
      <div className="page-head">
        <h1>{t("inbox.title")}</h1>
        <span className={`live-dot live-${live}`} data-testid="live-status" data-live={live}>
          {live === "open" ? t("inbox.live") : t("inbox.offline")}
        </span>
      </div>
      <div className="inbox-grid">
        <div className="conversation-column">
          <InboxFilters filters={filters} onChange={setFilters} />
          <nav
            className="conversation-list"
            aria-label={t("inbox.title")}
            aria-busy={conversations.isFetching}
            data-testid="conversation-list"
          >
            {conversations.isPending && <p className="empty">{t("common.loading")}</p>}
            {!conversations.isPending && list.length === 0 && (
              <p className="empty">{filtered ? t("inbox.emptyFiltered") : t("inbox.empty")}</p>
            )}
            <ul>
              {list.map((c) => (
                <li key={c.id}>
                  <ConversationItem
                    conversation={c}
                    href={`/inbox/${c.id}${query}`}
                    current={c.id === conversationId}
                    q={filters.q}
                  />
                </li>
              ))}
            </ul>
            {list.length > 0 && (
              <LoadMore
                query={conversations}
                label={t("inbox.loadMore")}
                rows="a.conversation"
                status={
                  !paged
                    ? undefined
                    : conversations.hasNextPage
                      ? t("inbox.shownSoFar", { count: list.length })
                      : t("inbox.shownAll", { count: list.length })
                }
              />
            )}
          </nav>
        </div>
        <div className="thread-pane">
          {conversationId === undefined ? (
            <p className="muted center">{t("inbox.pick")}</p>
          ) : (
            <Thread
              conversationId={conversationId}
              backHref={`/inbox${query}`}
              matchedMessageId={list.find((c) => c.id === conversationId)?.match?.messageId}
            />
          )}
        </div>
      </div>
    </section>
  );
}
