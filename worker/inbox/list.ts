/**
 * The inbox list: a business's conversations by last activity (keyset pages), narrowed by view
 * (mine, unassigned), assignee, status (as of now: an expired snooze is open) and search.
 */
import { and, desc, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { Executor } from "../db/client";
import { type ConversationStatus, waConversations } from "../db/schema";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { conversationView, effectiveStatus, selectConversations } from "./conversation-view";
import { latestMatches, matchingConversationIds } from "./search";

export interface ListOptions {
  businessId: number;
  /** The caller, for view=mine. */
  userId: number;
  limit: number;
  cursor?: string;
  view: "all" | "mine" | "unassigned";
  assigneeId?: number;
  status?: ConversationStatus;
  q?: string;
}

export async function listConversations(db: Executor, o: ListOptions) {
  const c = waConversations;
  const where: SQL[] = [eq(c.businessId, o.businessId)];
  if (o.view === "mine") where.push(eq(c.assigneeUserId, o.userId));
  if (o.view === "unassigned") where.push(isNull(c.assigneeUserId));
  if (o.assigneeId !== undefined) where.push(eq(c.assigneeUserId, o.assigneeId));
  if (o.status) where.push(sql`${effectiveStatus} = ${o.status}`);
  if (o.q) where.push(matchingConversationIds(o.businessId, o.q));
  if (o.cursor) {
    const [at, id] = decodeCursor(o.cursor);
    const activity = sql`coalesce(${c.lastMessageAt}, 'epoch'::timestamptz)`;
    where.push(sql`(${activity}, ${c.id}) < (coalesce(${at}::timestamptz, 'epoch'::timestamptz), ${id})`);
  }
  const rows = await selectConversations(db, and(...where))
    .orderBy(sql`${c.lastMessageAt} desc nulls last`, desc(c.id))
    .limit(o.limit + 1);
  const page = rows.slice(0, o.limit);
  const last = page[page.length - 1];
  const [unread, matches] = await Promise.all([
    db
      .select({ total: sql<number>`coalesce(sum(${c.unreadCount}), 0)::int` })
      .from(c)
      .where(eq(c.businessId, o.businessId)),
    o.q
      ? latestMatches(
          db,
          o.businessId,
          page.map((r) => r.id),
          o.q,
        )
      : null,
  ]);
  return {
    conversations: page.map((row) =>
      matches ? conversationView(row, matches.get(row.id) ?? null) : conversationView(row),
    ),
    unreadTotal: unread[0]?.total ?? 0,
    nextCursor: rows.length > o.limit && last ? encodeCursor(last.lastMessageAt?.toISOString() ?? null, last.id) : null,
  };
}
