/**
 * The conversation row of a chat, in one home: created on its first message, then each new
 * message moves its last-message time and preview forward (never backward: history sync and late
 * deliveries carry older messages). Used by inbound ingest and by our own sends.
 */
import { sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { waConversations } from "../db/schema";

type Executor = Pick<Database, "insert">;

export interface ConversationMessage {
  businessId: number;
  chatJid: string;
  leadId: number | null;
  /** WhatsApp's display name of the contact; only an incoming message carries one. */
  displayName?: string | null;
  at: Date;
  preview: string;
  /** 1 for a live incoming message, 0 otherwise. */
  unread?: number;
  /** The address the customer wrote from (incoming messages only): replies go there. */
  replyJid?: string | null;
}

export const PREVIEW_MAX = 200;

/** Upserts the conversation for a message and returns its id. */
export async function upsertConversation(db: Executor, m: ConversationMessage): Promise<number> {
  const [conversation] = await db
    .insert(waConversations)
    .values({
      businessId: m.businessId,
      chatJid: m.chatJid,
      leadId: m.leadId,
      displayName: m.displayName ?? null,
      lastMessageAt: m.at,
      lastMessagePreview: m.preview.slice(0, PREVIEW_MAX),
      unreadCount: m.unread ?? 0,
      replyJid: m.replyJid ?? null,
    })
    .onConflictDoUpdate({
      target: [waConversations.businessId, waConversations.chatJid],
      set: {
        leadId: sql`coalesce(${waConversations.leadId}, excluded.lead_id)`,
        displayName: sql`coalesce(excluded.display_name, ${waConversations.displayName})`,
        unreadCount: sql`${waConversations.unreadCount} + excluded.unread_count`,
        // The customer's latest address wins (a chat may move from the phone id to a LID).
        replyJid: sql`case when excluded.reply_jid is not null and (${waConversations.lastMessageAt} is null or excluded.last_message_at >= ${waConversations.lastMessageAt}) then excluded.reply_jid else ${waConversations.replyJid} end`,
        lastMessagePreview: sql`case when ${waConversations.lastMessageAt} is null or excluded.last_message_at >= ${waConversations.lastMessageAt} then excluded.last_message_preview else ${waConversations.lastMessagePreview} end`,
        lastMessageAt: sql`greatest(${waConversations.lastMessageAt}, excluded.last_message_at)`,
      },
    })
    .returning({ id: waConversations.id });
  return conversation!.id;
}
