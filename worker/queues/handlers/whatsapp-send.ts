/**
 * Sends one outgoing WhatsApp message (a wa_outbound row) when the business's send schedule
 * (BusinessDO, durable-objects/business/send-schedule.ts) hands out its slot: pacing, quiet hours
 * and the daily cap were applied there, so this job only claims the row, sends it through the
 * shard with the row's idempotency key (a redelivered job never sends twice), and tells the
 * schedule it is done so the next message to the same customer may go.
 *
 * The shard not ready (session not open, a move) puts the message back into the schedule with a
 * delay instead of re-queueing it. A ban signal pauses the business's sends and parks the row as
 * `held` until an admin resumes.
 */

import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { waMessages, waOutbound } from "../../db/schema";
import type { Env } from "../../env";
import { log, safeErrorMessage } from "../../lib/log";
import { publishLive } from "../../live/publish";
import { businessStub } from "../../services/settings";
import { banReason } from "../../whatsapp/ban-signals";
import { businessShard } from "../../whatsapp/business-shard";
import { upsertConversation } from "../../whatsapp/conversations";
import { scheduleOutbound } from "../../whatsapp/outbound";
import { type FinalStatus, type OutboundRow, recordOutboundOutcome } from "../../whatsapp/outbound-outcome";
import { ShardError } from "../../whatsapp/shard-client";
import type { JobHandler } from "../handler";

/** Final or parked: the schedule may forget the message. */
const DONE_STATUSES: readonly OutboundRow["status"][] = ["sent", "failed", "cancelled", "held"];

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
  const conversationId = await upsertConversation(db, {
    businessId: row.businessId,
    chatJid: sent.chatJid,
    leadId: row.leadId,
    at: sentAt,
    preview: row.text,
  });
  await db
    .insert(waMessages)
    .values({
      businessId: row.businessId,
      conversationId,
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

export const whatsappSend: JobHandler<"whatsapp.send"> = async (job, { db: getDb, env, config }) => {
  const db = getDb();
  // Claim first (one round trip): only one consumer moves the row from queued to sending, so a
  // job delivered twice, even to two consumers at once, sends once.
  const [claimed] = await db
    .update(waOutbound)
    .set({ status: "sending", attempts: sql`${waOutbound.attempts} + 1`, updatedAt: new Date() })
    .where(and(eq(waOutbound.id, job.outboundId), eq(waOutbound.status, "queued")))
    .returning();
  if (!claimed) {
    // Deleted, already final or parked (free its place in the schedule), or in another
    // consumer's hands (that one will finish it).
    const [row] = await db
      .select({ businessId: waOutbound.businessId, status: waOutbound.status })
      .from(waOutbound)
      .where(eq(waOutbound.id, job.outboundId));
    if (row && DONE_STATUSES.includes(row.status)) await finished(env, row.businessId, job.outboundId);
    return undefined;
  }
  const row = claimed;
  const stub = businessStub(env, row.businessId);
  const later = async (seconds: number, why: string, lastError: string | null) => {
    await setStatus(db, claimed, "queued", { lastError }, "sending");
    await stub.sendLater(row.businessId, row.id, seconds);
    log.info("whatsapp send deferred", { businessId: row.businessId, outboundId: row.id, seconds, why });
    return undefined;
  };

  const shard = await businessShard(db, env, config, row.businessId);
  if (shard.move) return later(30, `shard move to ${shard.move.to} in progress`, null);

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
    await finished(env, row.businessId, row.id);
    await publishLive(env, row.businessId, { type: "outbound", outboundId: row.id, status: "sent" });
    return undefined;
  } catch (err) {
    if (!(err instanceof ShardError)) {
      await setStatus(db, claimed, "queued", { lastError: safeErrorMessage(err) }, "sending");
      throw err;
    }
    const ban = banReason(err);
    if (ban) {
      await stub.pauseSends(row.businessId, ban);
      await setStatus(db, claimed, "held", { lastError: ban }, "sending");
      await finished(env, row.businessId, row.id);
      log.warn("whatsapp sends paused by a ban signal", { businessId: row.businessId, reason: ban });
      await publishLive(env, row.businessId, { type: "whatsapp" });
      return undefined;
    }
    switch (err.code) {
      case "session_not_open":
      case "stale_fencing_token":
      case "idempotency_key_in_flight":
        return later(Math.min(600, 30 * 2 ** Math.min(claimed.attempts - 1, 4)), err.code, err.message);
      case "send_outcome_unknown":
        // It may have gone out: never send it again.
        await setStatus(db, claimed, "failed", {
          lastError: "the shard restarted mid-send; the message may or may not have been delivered",
        });
        await finished(env, row.businessId, row.id);
        return undefined;
    }
    if (err.retryable) {
      await setStatus(db, claimed, "queued", { lastError: err.message }, "sending");
      throw err; // back off through the queue's retries (its slot stays taken); exhausted → dead-letter → failed
    }
    await setStatus(db, claimed, "failed", { lastError: `${err.code}: ${err.message}` }, "sending");
    await finished(env, row.businessId, row.id);
    return undefined;
  }
};

/** Tells the schedule the message is done (the next one to the same customer may go). */
async function finished(env: Env, businessId: number, outboundId: number): Promise<void> {
  await businessStub(env, businessId).sendFinished(businessId, outboundId);
}

/** Re-queues rows whose queue message was lost (see outbound.ts). */
export { requeueStaleOutbound } from "../../whatsapp/outbound";

/**
 * Held messages of a business go back into its send schedule (after an admin resumed sends) —
 * except those of a broadcast that is itself paused or cancelled, which wait for the broadcast.
 */
export async function releaseHeld(db: Database, env: Env, businessId: number): Promise<number[]> {
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
    .returning();
  await scheduleOutbound(db, env, rows);
  return rows.map((r) => r.id);
}

/**
 * The message ran out of retries: it failed, and whoever asked for it is told. (Its place in the
 * schedule is freed when the schedule takes the slot as lost: the re-delivery finds it failed.)
 */
export async function whatsappSendDeadLettered(db: Database, outboundId: number, reason: string): Promise<void> {
  const [row] = await db.select().from(waOutbound).where(eq(waOutbound.id, outboundId));
  if (!row || row.status === "sent" || row.status === "failed" || row.status === "cancelled") return;
  await setStatus(db, row, "failed", { lastError: reason });
}
