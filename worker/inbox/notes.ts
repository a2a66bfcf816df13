/**
 * Private notes in a conversation: a table of their own (never wa_messages), so no path that lists
 * or sends messages can see them. Only the dashboard's notes routes read them.
 */
import { and, asc, eq } from "drizzle-orm";
import type { Executor } from "../db/client";
import { users, waConversationNotes } from "../db/schema";

const n = waConversationNotes;

export function noteView(row: {
  id: number;
  body: string;
  createdAt: Date;
  authorId: number | null;
  authorName: string | null;
}) {
  return {
    id: row.id,
    body: row.body,
    author: row.authorId !== null ? { id: row.authorId, name: row.authorName ?? "" } : null,
    createdAt: row.createdAt,
  };
}

const noteColumns = {
  id: n.id,
  body: n.body,
  createdAt: n.createdAt,
  authorId: n.authorUserId,
  authorName: users.name,
};

/** A conversation's notes, oldest first (they sit in the thread in time order). */
export async function listNotes(db: Executor, businessId: number, conversationId: number) {
  const rows = await db
    .select(noteColumns)
    .from(n)
    .leftJoin(users, eq(users.id, n.authorUserId))
    .where(and(eq(n.businessId, businessId), eq(n.conversationId, conversationId)))
    .orderBy(asc(n.createdAt), asc(n.id));
  return rows.map(noteView);
}

export async function findNote(db: Executor, businessId: number, conversationId: number, noteId: number) {
  const [row] = await db
    .select(noteColumns)
    .from(n)
    .leftJoin(users, eq(users.id, n.authorUserId))
    .where(and(eq(n.id, noteId), eq(n.businessId, businessId), eq(n.conversationId, conversationId)));
  return row ? noteView(row) : null;
}
