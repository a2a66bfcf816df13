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
import { businessReplied } from "../../inbox/activity";
import { log, safeErrorMessage } from "../../lib/log";
import { publishLive } from "../../live/publish";
import { businessStub } from "../../services/settings";
import { banReason } from "../../whatsapp/ban-signals";
import { businessShard } from "../../whatsapp/business-shard";
import { phoneJidOfLid } from "../../whatsapp/contacts";
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

/**
 * Stores our own sent message in the inbox right away (the shard's echo event dedupes against it),
 * under the customer's conversation: a send to a LID lands in the phone JID's conversation when
 * the pair is known. An attachment points at the file already in R2.
 */
async function storeSentMessage(
  db: Database,
  row: OutboundRow,
  sent: { messageId: string; chatJid: string; sentAt: string },
) {
  const sentAt = new Date(sent.sentAt);
  const chatJid = (await phoneJidOfLid(db, row.businessId, sent.chatJid)) ?? sent.chatJid;
  const conversationId = await upsertConversation(db, {
    businessId: row.businessId,
    chatJid,
    leadId: row.leadId,
    at: sentAt,
    preview: row.text || `[${row.mediaKind ?? "text"}]`,
  });
  const media = row.mediaKey
    ? {
        media: {
          mimetype: row.mediaMimeType ?? undefined,
          fileName: row.mediaFileName ?? undefined,
          sizeBytes: row.mediaSizeBytes ?? undefined,
          ...(row.voiceNote ? { voiceNote: true } : {}),
        },
        mediaStatus: "stored" as const,
        mediaKey: row.mediaKey,
        mediaMimeType: row.mediaMimeType,
        mediaSizeBytes: row.mediaSizeBytes,
        mediaSha256: row.mediaSha256,
      }
    : {};
  // A reply written in the dashboard answers the customer (first-response time); broadcasts,
  // scheduled messages and reminders are not answers.
  if (row.origin === "reply") await businessReplied(db, conversationId, sentAt);
  const insert = db.insert(waMessages).values({
    businessId: row.businessId,
    conversationId,
    chatJid,
    waMessageId: sent.messageId,
    fromMe: true,
    kind: row.mediaKind ?? "text",
    text: row.text || null,
    status: "sent",
    statusUpdatedAt: sentAt,
    sentAt,
    idempotencyKey: row.idempotencyKey,
    createdByUserId: row.createdByUserId,
    ...media,
  });
  if (!row.mediaKey) {
    await insert.onConflictDoNothing();
    return;
  }
  // The echo may have come first and queued a download of our own file: point it at the upload.
  await insert.onConflictDoUpdate({
    target: [waMessages.businessId, waMessages.chatJid, waMessages.waMessageId, waMessages.fromMe],
    set: {
      mediaStatus: "stored",
      mediaKey: row.mediaKey,
      mediaMimeType: row.mediaMimeType,
      mediaSizeBytes: row.mediaSizeBytes,
      mediaSha256: row.mediaSha256,
      mediaRef: null,
      idempotencyKey: row.idempotencyKey,
      createdByUserId: row.createdByUserId,
    },
    setWhere: sql`${waMessages.mediaStatus} is distinct from 'stored'`,
  });
}

/** Sends the row through the shard: its text, or its attachment streamed from R2 with the text as caption. */
async function sendThroughShard(
  env: Env,
  row: OutboundRow,
  shard: Awaited<ReturnType<typeof businessShard>>,
): Promise<{ messageId: string; chatJid: string; sentAt: string } | { missing: string }> {
  const idempotencyKey = `outbound:${row.id}`;
  if (!row.mediaKey) {
    return shard.client.sendText(row.businessId, {
      to: row.to,
      text: row.text,
      idempotencyKey,
      fencingToken: shard.fencingToken,
    });
  }
  const object = await env.MEDIA.get(row.mediaKey);
  if (!object || !row.mediaKind || !row.mediaSha256 || !row.mediaMimeType)
    return { missing: "the attachment is no longer in storage" };
  return shard.client.sendMedia(
    row.businessId,
    {
      to: row.to,
      kind: row.mediaKind,
      mimetype: row.mediaMimeType,
      ...(row.mediaFileName ? { fileName: row.mediaFileName } : {}),
      ...(row.text ? { caption: row.text } : {}),
      ...(row.voiceNote ? { voiceNote: true } : {}),
      sizeBytes: object.size,
      sha256: row.mediaSha256,
      idempotencyKey,
      fencingToken: shard.fencingToken,
    },
    object.body,
  );
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
    const sent = await sendThroughShard(env, row, shard);
    if ("missing" in sent) {
      await setStatus(db, claimed, "failed", { lastError: sent.missing }, "sending");
      await finished(env, row.businessId, row.id);
      return undefined;
    }
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
