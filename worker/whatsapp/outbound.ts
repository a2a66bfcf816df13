/**
 * Outgoing WhatsApp messages: persisted first (wa_outbound), then held in the business's send
 * schedule (BusinessDO), which gives each one queue delivery when its slot comes. Everything that
 * sends — inbox replies, broadcasts, scheduled messages, reminders — goes through here, so every
 * message keeps the business's pace, quiet hours and daily cap, and is sent at most once:
 *  - the (business, idempotency key) unique index makes creating a message idempotent, so a
 *    redelivered job or an overlapping cron creates nothing twice;
 *  - the shard is given the same key, so a retried send is not sent again.
 * A row whose queue message was lost (crash between insert and send) is picked up again by the
 * `whatsapp.requeue_stale` sweep.
 */
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { mediaKinds } from "../../contracts/shard-api";
import type { ScheduledSend } from "../../durable-objects/business/send-schedule";
import type { Database } from "../db/client";
import { type waConversations, waMessages, waOutbound, type waOutboundOrigins } from "../db/schema";
import type { Env } from "../env";
import { businessStub } from "../services/settings";
import { phoneJidOfLid } from "./contacts";

/** A file already stored in R2 (outboundMediaKey), sent with the message's text as its caption. */
export interface OutgoingAttachment {
  key: string;
  kind: (typeof mediaKinds)[number];
  mimeType: string;
  sizeBytes: number;
  sha256: string;
  fileName: string | null;
  voiceNote: boolean;
}

export interface OutgoingMessage {
  businessId: number;
  leadId?: number | null;
  /** E.164 ("+972…"), bare digits, or a WhatsApp JID. */
  to: string;
  text: string;
  attachment?: OutgoingAttachment;
  /** Unique per business; the same key never produces a second message. */
  idempotencyKey: string;
  origin: (typeof waOutboundOrigins)[number];
  originId?: number | null;
  createdByUserId?: number | null;
}

/** The shard's `to`: digits for phone numbers, the JID as is. */
export function shardRecipient(to: string): string {
  return to.includes("@") ? to : to.replace(/\D/g, "");
}

const INSERT_CHUNK = 500;
/** WhatsApp's customer-service window: a business may answer freely this long after the customer wrote. */
const CUSTOMER_WINDOW_MS = 24 * 3600_000;

/** The chat a recipient's messages live in (digits are a phone number's personal chat). */
function chatJidOf(to: string): string {
  return to.includes("@") ? to : `${to}@s.whatsapp.net`;
}

type SchedulableRow = Pick<typeof waOutbound.$inferSelect, "id" | "businessId" | "to" | "origin" | "originId">;

/**
 * Hands waiting rows to their businesses' send schedules. A reply carries the customer's 24-hour
 * window (from their last message in the chat), which exempts it from quiet hours. While a
 * business's sends are paused, its rows are parked as `held` instead (an admin's resume brings
 * them back through releaseHeld). `redispatchBefore`: the stale sweep's cut-off, see
 * SendSchedule.add.
 */
export async function scheduleOutbound(
  db: Database,
  env: Env,
  rows: SchedulableRow[],
  redispatchBefore?: number,
): Promise<void> {
  const byBusiness = new Map<number, SchedulableRow[]>();
  for (const row of rows) byBusiness.set(row.businessId, [...(byBusiness.get(row.businessId) ?? []), row]);
  for (const [businessId, list] of byBusiness) {
    const windows = new Map<string, number>();
    // A reply to a LID counts the customer's messages kept under their phone JID.
    const replyTo = new Map<string, string>();
    for (const r of list.filter((r) => r.origin === "reply")) {
      const jid = chatJidOf(r.to);
      if (!replyTo.has(jid)) replyTo.set(jid, (await phoneJidOfLid(db, businessId, jid)) ?? jid);
    }
    const replyChats = [...new Set(replyTo.values())];
    if (replyChats.length > 0) {
      const last = await db
        .select({ chatJid: waMessages.chatJid, at: sql<string>`max(${waMessages.sentAt})` })
        .from(waMessages)
        .where(
          and(
            eq(waMessages.businessId, businessId),
            eq(waMessages.fromMe, false),
            inArray(waMessages.chatJid, replyChats),
          ),
        )
        .groupBy(waMessages.chatJid);
      for (const r of last) windows.set(r.chatJid, new Date(r.at).getTime() + CUSTOMER_WINDOW_MS);
    }
    const items: ScheduledSend[] = list.map((r) => ({
      outboundId: r.id,
      recipient: r.to,
      origin: r.origin,
      originId: r.originId,
      windowUntilMs:
        r.origin === "reply" ? (windows.get(replyTo.get(chatJidOf(r.to)) ?? chatJidOf(r.to)) ?? null) : null,
    }));
    const { paused } = await businessStub(env, businessId).scheduleSends(businessId, items, redispatchBefore);
    if (paused) {
      await db
        .update(waOutbound)
        .set({ status: "held", lastError: paused, updatedAt: new Date() })
        .where(
          and(
            eq(waOutbound.businessId, businessId),
            inArray(
              waOutbound.id,
              list.map((r) => r.id),
            ),
            eq(waOutbound.status, "queued"),
          ),
        );
    }
  }
}

/**
 * Persists and schedules messages. Returns the outbound id per idempotency key (existing rows keep
 * theirs; one still waiting is handed to the schedule again, which keeps its place).
 */
export async function queueOutgoingMessages(
  db: Database,
  env: Env,
  messages: OutgoingMessage[],
): Promise<Map<string, { outboundId: number; created: boolean }>> {
  const result = new Map<string, { outboundId: number; created: boolean }>();
  const toSend: SchedulableRow[] = [];
  for (let i = 0; i < messages.length; i += INSERT_CHUNK) {
    const chunk = messages.slice(i, i + INSERT_CHUNK);
    const inserted = await db
      .insert(waOutbound)
      .values(
        chunk.map((m) => ({
          businessId: m.businessId,
          leadId: m.leadId ?? null,
          to: shardRecipient(m.to),
          text: m.text,
          idempotencyKey: m.idempotencyKey,
          origin: m.origin,
          originId: m.originId ?? null,
          createdByUserId: m.createdByUserId ?? null,
          ...(m.attachment
            ? {
                mediaKey: m.attachment.key,
                mediaKind: m.attachment.kind,
                mediaMimeType: m.attachment.mimeType,
                mediaSizeBytes: m.attachment.sizeBytes,
                mediaSha256: m.attachment.sha256,
                mediaFileName: m.attachment.fileName,
                voiceNote: m.attachment.voiceNote,
              }
            : {}),
        })),
      )
      .onConflictDoNothing({ target: [waOutbound.businessId, waOutbound.idempotencyKey] })
      .returning({
        id: waOutbound.id,
        key: waOutbound.idempotencyKey,
        businessId: waOutbound.businessId,
        to: waOutbound.to,
        origin: waOutbound.origin,
        originId: waOutbound.originId,
      });
    for (const row of inserted) {
      result.set(row.key, { outboundId: row.id, created: true });
      toSend.push(row);
    }
    const missing = chunk.filter((m) => !result.has(m.idempotencyKey));
    for (const businessId of new Set(missing.map((m) => m.businessId))) {
      const keys = missing.filter((m) => m.businessId === businessId).map((m) => m.idempotencyKey);
      const existing = await db
        .select({
          id: waOutbound.id,
          key: waOutbound.idempotencyKey,
          status: waOutbound.status,
          businessId: waOutbound.businessId,
          to: waOutbound.to,
          origin: waOutbound.origin,
          originId: waOutbound.originId,
        })
        .from(waOutbound)
        .where(and(eq(waOutbound.businessId, businessId), inArray(waOutbound.idempotencyKey, keys)));
      for (const row of existing) {
        result.set(row.key, { outboundId: row.id, created: false });
        // Still waiting (e.g. the first attempt crashed before scheduling): schedule it again;
        // the schedule holds one entry per message, so this never makes a second one.
        if (row.status === "queued") toSend.push(row);
      }
    }
  }
  await scheduleOutbound(db, env, toSend);
  return result;
}

export async function queueOutgoingMessage(db: Database, env: Env, message: OutgoingMessage) {
  const result = await queueOutgoingMessages(db, env, [message]);
  return result.get(message.idempotencyKey)!;
}

/**
 * Rows `sending` long after their last change lost their consumer (the isolate died mid-send): they
 * go back to `queued`. Rows `queued` that long are handed to their schedule again: one already
 * held there keeps its place (waiting on pace, quiet hours or the daily cap is not "lost", and no
 * second chain is ever made); one missing (its scheduling was cut off) is added; one handed out
 * before the cut-off whose delivery never came goes back into the schedule. Sending again is safe:
 * the shard answers a repeated idempotency key with the first result (or says the outcome is
 * unknown, which fails the row rather than send twice).
 */
export async function requeueStaleOutbound(db: Database, env: Env, olderThanMinutes: number): Promise<number> {
  await db
    .update(waOutbound)
    // updated_at stays old, so the select below picks these rows up too.
    .set({ status: "queued", lastError: "requeued: the send was interrupted" })
    .where(
      and(
        eq(waOutbound.status, "sending"),
        lt(waOutbound.updatedAt, sql`now() - make_interval(mins => ${olderThanMinutes})`),
      ),
    );
  const stale = await db
    .select({
      id: waOutbound.id,
      businessId: waOutbound.businessId,
      to: waOutbound.to,
      origin: waOutbound.origin,
      originId: waOutbound.originId,
    })
    .from(waOutbound)
    .where(
      and(
        eq(waOutbound.status, "queued"),
        lt(waOutbound.updatedAt, sql`now() - make_interval(mins => ${olderThanMinutes})`),
      ),
    )
    .orderBy(waOutbound.updatedAt)
    .limit(1000);
  await scheduleOutbound(db, env, stale, Date.now() - olderThanMinutes * 60_000);
  return stale.length;
}

/** Messages to this conversation's customer not sent yet: waiting in the schedule, held, or being sent. */
export async function waitingSends(
  db: Database,
  env: Env,
  conversation: Pick<typeof waConversations.$inferSelect, "businessId" | "chatJid" | "replyJid">,
) {
  const digits = conversation.chatJid.endsWith("@s.whatsapp.net") ? conversation.chatJid.split("@")[0]! : null;
  const addresses = [conversation.chatJid, ...(digits ? [digits] : [])];
  if (conversation.replyJid && !addresses.includes(conversation.replyJid)) addresses.push(conversation.replyJid);
  const rows = await db
    .select({
      outboundId: waOutbound.id,
      text: waOutbound.text,
      status: waOutbound.status,
      origin: waOutbound.origin,
      lastError: waOutbound.lastError,
      createdAt: waOutbound.createdAt,
      mediaKind: waOutbound.mediaKind,
      mediaFileName: waOutbound.mediaFileName,
    })
    .from(waOutbound)
    .where(
      and(
        eq(waOutbound.businessId, conversation.businessId),
        inArray(waOutbound.to, addresses),
        inArray(waOutbound.status, ["queued", "held", "sending"]),
      ),
    )
    .orderBy(waOutbound.id)
    .limit(100);
  if (rows.length === 0) return [];
  const queued = rows.filter((r) => r.status === "queued").map((r) => r.outboundId);
  const schedule =
    queued.length === 0
      ? []
      : await businessStub(env, conversation.businessId).sendsWaiting(conversation.businessId, queued);
  const byId = new Map(schedule.map((w) => [w.outboundId, w]));
  return rows.map((r) => {
    const w = byId.get(r.outboundId);
    const held = r.status === "held";
    return {
      ...r,
      reason:
        w?.reason ?? (held ? ("held" as const) : r.status === "sending" ? ("sending" as const) : ("queued" as const)),
      detail:
        w?.detail ?? (held ? (r.lastError ?? "held") : r.status === "sending" ? "being sent" : "waiting for its slot"),
      expectedAt: w?.expectedAt ?? null,
    };
  });
}
