/** Leads data: one query-key factory; mutations invalidate exactly the lead keys. */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api } from "../../api/client";
import type { LeadListQuery } from "../../api/types";

export const leadKeys = {
  all: ["leads"] as const,
  lists: () => [...leadKeys.all, "list"] as const,
  list: (q: LeadListQuery) => [...leadKeys.lists(), q] as const,
  detail: (id: number) => [...leadKeys.all, "detail", id] as const,
  timeline: (id: number) => [...leadKeys.all, "timeline", id] as const,
  statuses: ["lead-statuses"] as const,
  users: ["users"] as const,
};

export const LEADS_PAGE_SIZE = 100;

/** Keyset pages (the API's cursor): each page is one indexed range read, however deep. */
export function useLeadList(q: Omit<LeadListQuery, "cursor" | "limit">) {
  return useInfiniteQuery({
    queryKey: leadKeys.list(q),
    queryFn: ({ pageParam, signal }) => api.leads.list({ ...q, limit: LEADS_PAGE_SIZE, cursor: pageParam }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: (previous) => previous,
  });
}

export function useLeadStatuses() {
  return useQuery({ queryKey: leadKeys.statuses, queryFn: api.leads.statuses, staleTime: 5 * 60_000 });
}

/** The team, for owner names and the owner filter (only for roles that may read users). */
export function useTeam(enabled: boolean) {
  return useQuery({ queryKey: leadKeys.users, queryFn: api.users.list, enabled, staleTime: 5 * 60_000 });
}
