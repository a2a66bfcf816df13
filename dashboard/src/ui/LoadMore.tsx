/**
 * The end of a list read in pages (a TanStack infinite query over the API's cursor): what is shown
 * so far, and a button for the next page. With `auto`, the next page also loads as the end of the
 * list scrolls into view (the button then serves a keyboard, a screen reader, or a browser without
 * IntersectionObserver). Without it, pages come only when asked for: right for a list with more of
 * the page after it (a keyboard would otherwise never get past the rows), or one that live updates
 * refetch page by page.
 *
 * Scrolling and the button only ask for a page; the page is fetched once nothing else is in flight.
 * A live update refetches every loaded page, and the next page must start from that answer's last
 * cursor: cancelling the refetch would drop the update, and fetching beside it would start from a
 * stale cursor. Asking while a page is already coming adds nothing.
 *
 * After the button brings a page, focus moves to the page's first row, so the reader goes on where
 * the new rows begin (and is not left on nothing when the last page takes the button away).
 */
import { useEffect, useRef, useState } from "react";
import { useI18n } from "../i18n/I18nProvider";

/** What LoadMore needs of a `useInfiniteQuery` result. */
export interface PagedQuery {
  hasNextPage: boolean;
  isFetching: boolean;
  isFetchingNextPage: boolean;
  isFetchNextPageError: boolean;
  error: Error | null;
  /** The previous filter's pages, shown while the new filter's first page loads: not to be extended. */
  isPlaceholderData: boolean;
  fetchNextPage: (options?: { cancelRefetch?: boolean }) => Promise<unknown>;
}

export function LoadMore(props: {
  query: PagedQuery;
  /** The button's text (default "Load more"). */
  label?: string;
  /** A selector for the list's rows within this element's parent: focus goes to the first new one. */
  rows?: string;
  /** What the list shows so far ("50 conversations shown"). */
  status?: string;
  /** Load the next page as the end comes within this many CSS pixels of view (off by default). */
  auto?: number;
}) {
  const { t } = useI18n();
  const { query, rows, auto } = props;
  const { hasNextPage, isFetching, isFetchingNextPage, isFetchNextPageError, fetchNextPage } = query;
  const more = hasNextPage && !query.isPlaceholderData;
  const end = useRef<HTMLDivElement>(null);
  const [wanted, setWanted] = useState(false);
  /** The number of rows before the button's page came: the index of its first row. */
  const focusFrom = useRef<number | null>(null);

  useEffect(() => {
    if (!wanted || isFetching) return;
    setWanted(false);
    if (more) void fetchNextPage({ cancelRefetch: false });
  }, [wanted, isFetching, more, fetchNextPage]);

  // Observed again after every fetch: a reader still at the end (or a first page shorter than the
  // screen) gets the page after, and a request that waited out a refetch is made again. Not after
  // a failed page: that waits for the button, rather than asking again and again.
  useEffect(() => {
    const el = end.current;
    if (auto === undefined || !el || !more || isFetching || isFetchNextPageError) return;
    if (typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && setWanted(true), {
      root: scrollingAncestor(el),
      rootMargin: `${auto}px 0px`,
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [auto, more, isFetching, isFetchNextPageError]);

  // After every render: the page the button asked for may have arrived.
  useEffect(() => {
    const from = focusFrom.current;
    if (from === null || !rows) return;
    const list = end.current?.parentElement?.querySelectorAll<HTMLElement>(rows) ?? [];
    if (list.length > from) {
      focusFrom.current = null;
      list[from]?.focus();
    } else if (!wanted && !isFetching && (!more || isFetchNextPageError)) {
      focusFrom.current = null;
    }
  });

  const ask = () => {
    if (rows) focusFrom.current = end.current?.parentElement?.querySelectorAll(rows).length ?? null;
    if (!isFetchingNextPage) setWanted(true);
  };

  const loading = wanted || isFetchingNextPage;
  return (
    <div ref={end} className="load-more-end" data-testid="load-more">
      {props.status && <p className="load-more-status">{props.status}</p>}
      {isFetchNextPageError && query.error && (
        <p className="field-error" role="alert">
          {query.error.message}
        </p>
      )}
      {more && (
        // Not disabled while loading: a press then is part of the same request (and keeps focus).
        <button type="button" className="button load-more" aria-busy={loading} onClick={ask}>
          {loading ? t("common.loading") : (props.label ?? t("common.loadMore"))}
        </button>
      )}
    </div>
  );
}

/**
 * The box that scrolls the list up and down: its own column, or else the page (null). A box that
 * only scrolls sideways (a wide table's wrapper) does not count: the end of the list is always
 * inside it, seen or not.
 */
function scrollingAncestor(el: HTMLElement): HTMLElement | null {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const { overflowY } = getComputedStyle(p);
    if ((overflowY === "auto" || overflowY === "scroll") && p.scrollHeight > p.clientHeight) return p;
  }
  return null;
}
