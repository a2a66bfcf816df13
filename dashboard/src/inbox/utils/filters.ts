/**
 * The conversation list's filters, kept in the address (`/inbox/12?view=mine&status=open&q=…`) so
 * opening a conversation, reloading or sharing a link keeps the list as it was.
 */
export type InboxView = "all" | "mine" | "unassigned";
export type StatusFilter = "open" | "pending" | "snoozed" | "resolved" | "all";

export const INBOX_VIEWS: readonly InboxView[] = ["mine", "unassigned", "all"];
export const STATUS_FILTERS: readonly StatusFilter[] = ["open", "pending", "snoozed", "resolved", "all"];

export interface ConversationFilters {
  view: InboxView;
  status: StatusFilter;
  /** Admins: only this agent's conversations (then `view` is "all"). */
  assigneeId?: number;
  q?: string;
}

/** Shorter searches are not sent (the API refuses them: one letter matches nearly everything). */
export const SEARCH_MIN_LENGTH = 2;

export const DEFAULT_FILTERS: ConversationFilters = { view: "all", status: "open" };

export function parseFilters(search: string): ConversationFilters {
  const params = new URLSearchParams(search);
  const view = params.get("view") as InboxView | null;
  const status = params.get("status") as StatusFilter | null;
  const assigneeId = Number(params.get("assignee"));
  const q = params.get("q")?.trim();
  return {
    view: view && INBOX_VIEWS.includes(view) ? view : DEFAULT_FILTERS.view,
    status: status && STATUS_FILTERS.includes(status) ? status : DEFAULT_FILTERS.status,
    // The API takes an agent only with the "all" view, and a search of at least two characters.
    ...(Number.isInteger(assigneeId) && assigneeId > 0 && (view ?? "all") === "all" ? { assigneeId } : {}),
    ...(q && q.length >= SEARCH_MIN_LENGTH ? { q } : {}),
  };
}

/** The address's search string for `filters` ("" for the defaults), leading "?" included. */
export function filtersSearch(filters: ConversationFilters): string {
  const params = new URLSearchParams();
  if (filters.view !== DEFAULT_FILTERS.view) params.set("view", filters.view);
  if (filters.status !== DEFAULT_FILTERS.status) params.set("status", filters.status);
  if (filters.assigneeId) params.set("assignee", String(filters.assigneeId));
  if (filters.q) params.set("q", filters.q);
  const s = params.toString();
  return s ? `?${s}` : "";
}
