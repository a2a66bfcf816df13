/**
 * Sends one outgoing WhatsApp message (a wa_outbound row): the business's throttle first, then
 * the shard, with the row's idempotency key so a redelivered job never sends twice.
 *
 * Waiting (pacing, quiet hours, daily cap, a shard move) re-queues a fresh message with a delay
 * and acks this one, so waiting never spends the message's retry budget. A ban signal pauses
 * the business's sends and parks the row as `held` until an admin resumes.
 */

import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { businesses, waConversations, waMessages, waOutbound } from "../../db/schema";
import { log } from "../../lib/log";
import { publishLive } from "../../live/publish";
import { businessStub, getBusinessSettings } from "../../services/settings";
import { banReason } from "../../whatsapp/ban-signals";
import { businessShard } from "../../whatsapp/business-shard";
import { type FinalStatus, type OutboundRow, recordOutboundOutcome } from "../../whatsapp/outbound-outcome";
import { ShardError } from "../../whatsapp/shard-client";
import type { JobHandler } from "../handler";
import { enqueue } from "../producer";

/** Longest delay a Queues message accepts (12 h). */
const MAX_DELAY_SECONDS = 43_200;

/**
 * Moves the row to `status`. With `from`, only if the row is still in that state: a pause or a
 * cancel that happened while we were sending must not be overwritten by a put-back or a failure.
 */
async function setStatus(
  db: Database,
  row: OutboundRow,
  status: OutboundRow["status"],
  extra: Partial<OutboundRow> = {},
  from?: OutboundRow["status"],
): Promise<OutboundRow | null> {
  const [updated] = await db
    .update(waOutbound)
    .set({ status, updatedAt: new Date(), ...extra })
    .where(from ? and(eq(waOutbound.id, row.id), eq(waOutbound.status, from)) : eq(waOutbound.id, row.id))
    .returning();
  if (!updated) return null;
  if (status === "sent" || status === "failed" || status === "cancelled")
    await recordOutboundOutcome(db, updated, status as FinalStatus);
  return updated;
}

/** Stores our own sent message in the inbox right away (the shard's echo event dedupes against it). */
async function storeSentMessage(
  db: Database,
  row: OutboundRow,
  sent: { messageId: string; chatJid: string; sentAt: string },
) {
  const sentAt = new Date(sent.sentAt);
  const [conversation] = await db
    .insert(waConversations)
    .values({
      businessId: row.businessId,
      chatJid: sent.chatJid,
      leadId: row.leadId,
      lastMessageAt: sentAt,
      lastMessagePreview: row.text.slice(0, 200),
    })
    .onConflictDoUpdate({
      target: [waConversations.businessId, waConversations.chatJid],
      set: {
        leadId: sql`coalesce(${waConversations.leadId}, excluded.lead_id)`,
        lastMessageAt: sql`greatest(${waConversations.lastMessageAt}, excluded.last_message_at)`,
        lastMessagePreview: sql`case when ${waConversations.lastMessageAt} is null or excluded.last_message_at >= ${waConversations.lastMessageAt} then excluded.last_message_preview else ${waConversations.lastMessagePreview} end`,
      },
    })
    .returning({ id: waConversations.id });
  await db
    .insert(waMessages)
    .values({
      businessId: row.businessId,
      conversationId: conversation!.id,
      chatJid: sent.chatJid,
      waMessageId: sent.messageId,
      fromMe: true,
      kind: "text",
      text: row.text,
      status: "sent",
      statusUpdatedAt: sentAt,
      sentAt,
      idempotencyKey: row.idempotencyKey,
      createdByUserId: row.createdByUserId,
    })
    .onConflictDoNothing();
}

export const whatsappSend: JobHandler<"whatsapp.send"> = async (job, { db: getDb, env, config, attempts }) => {
  const db = getDb();
  const [row] = await db.select().from(waOutbound).where(eq(waOutbound.id, job.outboundId));
  // Deleted, or already final/held/in another consumer's hands: nothing to do (idempotent).
  if (row?.status !== "queued") return undefined;

  const later = async (seconds: number, why: string) => {
    await enqueue(
      env,
      { type: "whatsapp.send", outboundId: row.id },
      { delaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(1, seconds)) },
    );
    log.info("whatsapp send deferred", { businessId: row.businessId, outboundId: row.id, seconds, why });
    return undefined;
  };

  const [business] = await db
    .select({ timezone: businesses.timezone })
    .from(businesses)
    .where(eq(businesses.id, row.businessId));
  const settings = await getBusinessSettings(env, row.businessId);
  const stub = businessStub(env, row.businessId);
  const permit = await stub.takeSendPermit(row.businessId, {
    perMinute: settings.waMessagesPerMinute,
    dailyCap: settings.waDailyCap,
    quietStart: settings.waQuietHoursStart,
    quietEnd: settings.waQuietHoursEnd,
    timezone: business?.timezone ?? "Asia/Jerusalem",
  });
  if (!permit.ok) {
    if (permit.reason === "paused") {
      await setStatus(db, row, "held", { lastError: permit.detail }, "queued");
      // An admin may have resumed between the permit and this write (resume releases held rows
      // first, then we parked this one): look again, so the row is not left held with sends on.
      if (!(await stub.sendState(row.businessId)).paused) {
        await setStatus(db, row, "queued", {}, "held");
        return later(1, "sends resumed while parking");
      }
      return undefined;
    }
    return later(permit.retryAfterSeconds ?? 60, permit.detail);
  }

  const shard = await businessShard(db, env, config, row.businessId);
  if (shard.move) return later(30, `shard move to ${shard.move.to} in progress`);

  // Claim: only one consumer moves the row from queued to sending.
  const [claimed] = await db
    .update(waOutbound)
    .set({ status: "sending", attempts: sql`${waOutbound.attempts} + 1`, updatedAt: new Date() })
    .where(and(eq(waOutbound.id, row.id), eq(waOutbound.status, "queued")))
    .returning();
  if (!claimed) return undefined;

  try {
    const sent = await shard.client.sendText(row.businessId, {
      to: row.to,
      text: row.text,
      idempotencyKey: `outbound:${row.id}`,
      fencingToken: shard.fencingToken,
    });
    const done = await setStatus(db, claimed, "sent", {
      waMessageId: sent.messageId,
      chatJid: sent.chatJid,
      sentAt: new Date(sent.sentAt),
      lastError: null,
    });
    await storeSentMessage(db, done!, sent);
    await publishLive(env, row.businessId, { type: "outbound", outboundId: row.id, status: "sent" });
    return undefined;
  } catch (err) {
    if (!(err instanceof ShardError)) {
      await setStatus(db, claimed, "queued", { lastError: String(err) }, "sending");
      throw err;
    }
    const ban = banReason(err);
    if (ban) {
      await stub.pauseSends(row.businessId, ban);
      await setStatus(db, claimed, "held", { lastError: ban }, "sending");
      log.warn("whatsapp sends paused by a ban signal", { businessId: row.businessId, reason: ban });
      await publishLive(env, row.businessId, { type: "whatsapp" });
      return undefined;
    }
    switch (err.code) {
      case "session_not_open":
      case "stale_fencing_token":
      case "idempotency_key_in_flight":
        await setStatus(db, claimed, "queued", { lastError: err.message }, "sending");
        return later(Math.min(600, 30 * 2 ** Math.min(attempts, 4)), err.code);
      case "send_outcome_unknown":
        // It may have gone out: never send it again.
        await setStatus(db, claimed, "failed", {
          lastError: "the shard restarted mid-send; the message may or may not have been delivered",
        });
        return undefined;
    }
    if (err.retryable) {
      await setStatus(db, claimed, "queued", { lastError: err.message }, "sending");
      throw err; // back off through the queue's retries; exhausted → dead-letter → failed
    }
    await setStatus(db, claimed, "failed", { lastError: `${err.code}: ${err.message}` }, "sending");
    return undefined;
  }
};

/** Re-queues rows whose queue message was lost (see outbound.ts). */
export { requeueStaleOutbound } from "../../whatsapp/outbound";

/**
 * Held messages of a business go back to the queue (after an admin resumed sends) — except those
 * of a broadcast that is itself paused or cancelled, which wait for the broadcast.
 */
export async function releaseHeld(db: Database, businessId: number): Promise<number[]> {
  const rows = await db
    .update(waOutbound)
    .set({ status: "queued", updatedAt: new Date() })
    .where(
      and(
        eq(waOutbound.businessId, businessId),
        eq(waOutbound.status, "held"),
        sql`not (${waOutbound.origin} = 'broadcast' and ${waOutbound.originId} in (select id from broadcasts where business_id = ${businessId} and status in ('paused', 'cancelled')))`,
      ),
    )
    .returning({ id: waOutbound.id });
  return rows.map((r) => r.id);
}

/** The message ran out of retries: it failed, and whoever asked for it is told. */
export async function whatsappSendDeadLettered(db: Database, outboundId: number, reason: string): Promise<void> {
  const [row] = await db.select().from(waOutbound).where(eq(waOutbound.id, outboundId));
  if (!row || row.status === "sent" || row.status === "failed" || row.status === "cancelled") return;
  await setStatus(db, row, "failed", { lastError: reason });
}
