/**
 * Storing what shards report: messages (live and history), message statuses, connection changes.
 * Each event is stored once, by its stable id (contracts/shard-events.ts), in one transaction with
 * its effects, so a redelivered or replayed event changes nothing.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { ShardEvent } from "../../contracts/shard-events";
import type { Database } from "../db/client";
import { businesses, leads, shardEvents, waConversations, waMessages, waSessions } from "../db/schema";

type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** Status ranks: an update never moves a message backwards (read stays read if "delivered" arrives late). */
const STATUS_RANK: Record<string, number> = { failed: -1, pending: 0, sent: 1, delivered: 2, read: 3, played: 4 };

/** `972501234567@s.whatsapp.net` → `+972501234567`; groups and other JIDs have no phone. */
export function phoneOfJid(jid: string): string | null {
  const match = /^(\d{7,15})(?::\d+)?@s\.whatsapp\.net$/.exec(jid);
  return match ? `+${match[1]}` : null;
}

async function linkLead(
  tx: Tx,
  businessId: number,
  chatJid: string,
  pushName: string | undefined,
): Promise<number | null> {
  const phone = phoneOfJid(chatJid);
  if (!phone) return null;
  const [existing] = await tx
    .select({ id: leads.id })
    .from(leads)
    .where(and(eq(leads.businessId, businessId), eq(leads.phoneE164, phone), isNull(leads.deletedAt)));
  if (existing) return existing.id;
  // A new contact writing in becomes a lead (the old system did the same), named as WhatsApp shows them.
  const [created] = await tx
    .insert(leads)
    .values({
      businessId,
      phoneE164: phone,
      firstName: pushName?.slice(0, 100) ?? null,
      source: "whatsapp",
      status: "new",
    })
    .onConflictDoNothing()
    .returning({ id: leads.id });
  if (created) return created.id;
  const [raced] = await tx
    .select({ id: leads.id })
    .from(leads)
    .where(and(eq(leads.businessId, businessId), eq(leads.phoneE164, phone), isNull(leads.deletedAt)));
  return raced?.id ?? null;
}

async function applyMessage(tx: Tx, event: Extract<ShardEvent, { type: "message.upsert" }>): Promise<void> {
  const { businessId, key } = event;
  const sentAt = new Date(event.messageTimestamp * 1000);
  const isGroup = key.chatJid.endsWith("@g.us");
  const leadId = isGroup ? null : await linkLead(tx, businessId, key.chatJid, key.fromMe ? undefined : event.pushName);
  // Only live incoming messages count as unread; history sync does not.
  const unread = !key.fromMe && event.upsertType === "notify" ? 1 : 0;
  const preview = (event.text ?? `[${event.kind}]`).slice(0, 200);
  const [conversation] = await tx
    .insert(waConversations)
    .values({
      businessId,
      chatJid: key.chatJid,
      leadId,
      displayName: key.fromMe ? null : (event.pushName ?? null),
      lastMessageAt: sentAt,
      lastMessagePreview: preview,
      unreadCount: unread,
    })
    .onConflictDoUpdate({
      target: [waConversations.businessId, waConversations.chatJid],
      set: {
        leadId: sql`coalesce(${waConversations.leadId}, excluded.lead_id)`,
        displayName: sql`coalesce(excluded.display_name, ${waConversations.displayName})`,
        unreadCount: sql`${waConversations.unreadCount} + excluded.unread_count`,
        lastMessagePreview: sql`case when ${waConversations.lastMessageAt} is null or excluded.last_message_at >= ${waConversations.lastMessageAt} then excluded.last_message_preview else ${waConversations.lastMessagePreview} end`,
        lastMessageAt: sql`greatest(${waConversations.lastMessageAt}, excluded.last_message_at)`,
      },
    })
    .returning({ id: waConversations.id });
  await tx
    .insert(waMessages)
    .values({
      businessId,
      conversationId: conversation!.id,
      chatJid: key.chatJid,
      waMessageId: key.messageId,
      fromMe: key.fromMe,
      kind: event.kind,
      text: event.text ?? null,
      media: event.media ?? null,
      status: key.fromMe ? "sent" : "delivered",
      sentAt,
    })
    // Our own sends are stored when the shard accepts them; the shard's echo then adds nothing.
    .onConflictDoNothing();
}

async function applyStatus(tx: Tx, event: Extract<ShardEvent, { type: "message.status" }>): Promise<void> {
  const rank = STATUS_RANK[event.status] ?? 0;
  await tx
    .update(waMessages)
    .set({ status: event.status, statusUpdatedAt: new Date(event.occurredAt) })
    .where(
      and(
        eq(waMessages.businessId, event.businessId),
        eq(waMessages.chatJid, event.key.chatJid),
        eq(waMessages.waMessageId, event.key.messageId),
        eq(waMessages.fromMe, event.key.fromMe),
        // Never regress; "failed" only replaces a message not yet delivered.
        sql`(case ${waMessages.status} when 'failed' then -1 when 'pending' then 0 when 'sent' then 1 when 'delivered' then 2 when 'read' then 3 when 'played' then 4 else 0 end) < ${rank === -1 ? 2 : rank}`,
      ),
    );
}

async function applyConnection(tx: Tx, event: Extract<ShardEvent, { type: "connection.update" }>): Promise<void> {
  const at = new Date(event.occurredAt);
  await tx
    .insert(waSessions)
    .values({
      businessId: event.businessId,
      shardId: event.shardId,
      state: event.state,
      reason: event.reason ?? null,
      phoneNumber: event.phoneNumber ?? null,
      updatedAt: at,
    })
    .onConflictDoUpdate({
      target: waSessions.businessId,
      set: {
        shardId: event.shardId,
        state: event.state,
        reason: event.reason ?? null,
        phoneNumber: sql`coalesce(excluded.phone_number, ${waSessions.phoneNumber})`,
        updatedAt: at,
      },
      // Events of one business arrive in order, but a late redelivery must not roll the state back.
      setWhere: sql`${waSessions.updatedAt} <= excluded.updated_at`,
    });
}

export interface IngestResult {
  stored: number;
  duplicates: number;
  /** Events for businesses that do not exist (deleted): acknowledged so the shard stops retrying. */
  ignored: number;
  /** Connection events that mean sending must stop, by business. */
  banSignals: { businessId: number; state: string; statusCode?: number }[];
}

export async function ingestShardEvents(db: Database, events: ShardEvent[]): Promise<IngestResult> {
  const result: IngestResult = { stored: 0, duplicates: 0, ignored: 0, banSignals: [] };
  const businessIds = [...new Set(events.map((e) => e.businessId))];
  const known = new Set(
    (await db.select({ id: businesses.id }).from(businesses).where(inArray(businesses.id, businessIds))).map(
      (b) => b.id,
    ),
  );
  for (const event of events) {
    if (!known.has(event.businessId)) {
      result.ignored++;
      continue;
    }
    const stored = await db.transaction(async (tx) => {
      const [fresh] = await tx
        .insert(shardEvents)
        .values({ eventId: event.id, businessId: event.businessId, type: event.type })
        .onConflictDoNothing()
        .returning({ id: shardEvents.eventId });
      if (!fresh) return false;
      if (event.type === "message.upsert") await applyMessage(tx, event);
      else if (event.type === "message.status") await applyStatus(tx, event);
      else await applyConnection(tx, event);
      return true;
    });
    if (stored) result.stored++;
    else result.duplicates++;
    // Reported for redeliveries too: if acting on it failed the first time (the delivery was then
    // answered 5xx and sent again), the retry must still act. Pausing is idempotent.
    if (event.type === "connection.update") {
      result.banSignals.push({ businessId: event.businessId, state: event.state, statusCode: event.statusCode });
    }
  }
  return result;
}
