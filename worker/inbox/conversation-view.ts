/**
 * A conversation as the API shows it, in one home: the row, its assignee's name, and its status as
 * of now. A snooze that has run out reads as open here, at once, whether or not the minute sweep
 * (./snooze-sweep.ts) has stored it yet: the list, its filters and the detail never show a
 * conversation snoozed past its time.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Executor } from "../db/client";
import { type ConversationStatus, users, waConversations } from "../db/schema";

const c = waConversations;

/** The status as of now (an expired snooze is open). */
export const effectiveStatus = sql<ConversationStatus>`(case when ${c.status} = 'snoozed' and ${c.snoozedUntil} <= now() then 'open' else ${c.status} end)`;

/** The columns a view needs, for select(); join `users` on the assignee (see selectConversations). */
export const conversationColumns = {
  id: c.id,
  businessId: c.businessId,
  chatJid: c.chatJid,
  leadId: c.leadId,
  displayName: c.displayName,
  lastMessageAt: c.lastMessageAt,
  lastMessagePreview: c.lastMessagePreview,
  unreadCount: c.unreadCount,
  replyJid: c.replyJid,
  createdAt: c.createdAt,
  status: effectiveStatus,
  snoozedUntil:
    sql<Date | null>`(case when ${c.status} = 'snoozed' and ${c.snoozedUntil} > now() then ${c.snoozedUntil} end)`.mapWith(
      c.snoozedUntil,
    ),
  assigneeId: c.assigneeUserId,
  assigneeName: users.name,
  firstResponseSeconds: c.firstResponseSeconds,
  resolutionSeconds: c.resolutionSeconds,
};

export interface ConversationMatch {
  messageId: number;
  snippet: string;
}

export type ConversationRow = Awaited<ReturnType<typeof selectConversations>>[number];

/** The API's shape of a conversation; `match` only in search results. */
export function conversationView(row: ConversationRow, match?: ConversationMatch | null) {
  const { assigneeId, assigneeName, ...rest } = row;
  return {
    ...rest,
    assignee: assigneeId !== null ? { id: assigneeId, name: assigneeName ?? "" } : null,
    ...(match !== undefined ? { match } : {}),
  };
}

/** Conversations with their assignee, filtered by `where` (always include the business). */
export function selectConversations(db: Executor, where: SQL | undefined) {
  return db.select(conversationColumns).from(c).leftJoin(users, eq(users.id, c.assigneeUserId)).where(where).$dynamic();
}

/** One conversation of a business as the API shows it, or null. */
export async function findConversation(db: Executor, businessId: number, id: number) {
  const [row] = await selectConversations(db, and(eq(c.id, id), eq(c.businessId, businessId)));
  return row ? conversationView(row) : null;
}
