/**
 * Outgoing WhatsApp messages: persisted first (wa_outbound), then queued. Everything that sends —
 * inbox replies, broadcasts, scheduled messages, reminders — goes through here, so every message
 * passes the business's send throttle and is sent at most once:
 *  - the (business, idempotency key) unique index makes creating a message idempotent, so a
 *    redelivered job or an overlapping cron creates nothing twice;
 *  - the shard is given the same key, so a retried send is not sent again.
 * A row whose queue message was lost (crash between insert and send) is picked up again by the
 * `whatsapp.requeue_stale` sweep.
 */
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { waOutbound, type waOutboundOrigins } from "../db/schema";
import type { Env } from "../env";
import { enqueueBatch } from "../queues/producer";

export interface OutgoingMessage {
  businessId: number;
  leadId?: number | null;
  /** E.164 ("+972…"), bare digits, or a WhatsApp JID. */
  to: string;
  text: string;
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

/**
 * Persists and queues messages. Returns the outbound id per idempotency key (existing rows keep
 * theirs, and are not queued again unless still waiting).
 */
export async function queueOutgoingMessages(
  db: Database,
  env: Env,
  messages: OutgoingMessage[],
): Promise<Map<string, { outboundId: number; created: boolean }>> {
  const result = new Map<string, { outboundId: number; created: boolean }>();
  const toSend: number[] = [];
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
        })),
      )
      .onConflictDoNothing({ target: [waOutbound.businessId, waOutbound.idempotencyKey] })
      .returning({ id: waOutbound.id, key: waOutbound.idempotencyKey });
    for (const row of inserted) {
      result.set(row.key, { outboundId: row.id, created: true });
      toSend.push(row.id);
    }
    const missing = chunk.filter((m) => !result.has(m.idempotencyKey));
    for (const businessId of new Set(missing.map((m) => m.businessId))) {
      const keys = missing.filter((m) => m.businessId === businessId).map((m) => m.idempotencyKey);
      const existing = await db
        .select({ id: waOutbound.id, key: waOutbound.idempotencyKey, status: waOutbound.status })
        .from(waOutbound)
        .where(and(eq(waOutbound.businessId, businessId), inArray(waOutbound.idempotencyKey, keys)));
      for (const row of existing) {
        result.set(row.key, { outboundId: row.id, created: false });
        // Still waiting (e.g. the first attempt crashed before queueing): queue it again; the
        // send job is idempotent, so a duplicate queue message is harmless.
        if (row.status === "queued") toSend.push(row.id);
      }
    }
  }
  await enqueueBatch(
    env,
    "whatsapp.send",
    toSend.map((outboundId) => ({ type: "whatsapp.send" as const, outboundId })),
  );
  return result;
}

export async function queueOutgoingMessage(db: Database, env: Env, message: OutgoingMessage) {
  const result = await queueOutgoingMessages(db, env, [message]);
  return result.get(message.idempotencyKey)!;
}

/**
 * Rows still `queued` long after their last change lost their queue message; rows `sending` that
 * long lost their consumer (the isolate died mid-send). Both go back to the queue. Sending again
 * is safe: the shard answers a repeated idempotency key with the first result (or says the outcome
 * is unknown, which fails the row rather than send twice).
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
    .select({ id: waOutbound.id })
    .from(waOutbound)
    .where(
      and(
        eq(waOutbound.status, "queued"),
        lt(waOutbound.updatedAt, sql`now() - make_interval(mins => ${olderThanMinutes})`),
      ),
    )
    .limit(1000);
  await enqueueBatch(
    env,
    "whatsapp.send",
    stale.map((r) => ({ type: "whatsapp.send" as const, outboundId: r.id })),
  );
  return stale.length;
}
