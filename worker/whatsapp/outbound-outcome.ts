/**
 * What happens to the record that asked for a message once the message is final (sent, failed or
 * cancelled): a broadcast recipient, a scheduled message, an appointment reminder. One function
 * per origin; the send job calls `recordOutboundOutcome` after every final state change.
 *
 * "Sent" is the truth and always recorded (even if the record was cancelled while the message was
 * already in the shard's hands); "failed"/"cancelled" only replace a record still waiting for it,
 * so a late outcome never overwrites a newer decision.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { appointments, broadcastRecipients, scheduledMessages, type waOutbound } from "../db/schema";
import { completeIfDone } from "../services/broadcasts";

export type OutboundRow = typeof waOutbound.$inferSelect;
export type FinalStatus = "sent" | "failed" | "cancelled";

export async function recordOutboundOutcome(db: Database, row: OutboundRow, status: FinalStatus): Promise<void> {
  if (row.originId === null) return;
  switch (row.origin) {
    case "broadcast": {
      // Matched by (broadcast, lead), not by outbound_id: the dispatch job links outbound_id after
      // queueing, so a fast send can finish before the link is written.
      const recipient =
        row.leadId === null
          ? eq(broadcastRecipients.outboundId, row.id)
          : and(eq(broadcastRecipients.broadcastId, row.originId), eq(broadcastRecipients.leadId, row.leadId));
      await db
        .update(broadcastRecipients)
        .set({ status, outboundId: row.id, updatedAt: new Date() })
        .where(
          and(
            recipient,
            eq(broadcastRecipients.businessId, row.businessId),
            status === "sent" ? undefined : eq(broadcastRecipients.status, "queued"),
          ),
        );
      await completeIfDone(db, row.originId);
      return;
    }
    case "scheduled":
      await db
        .update(scheduledMessages)
        .set(
          status === "sent"
            ? { status: "sent", sentAt: row.sentAt ?? new Date(), waMessageId: row.waMessageId, lastError: null }
            : { status: status === "cancelled" ? "cancelled" : "failed", lastError: row.lastError },
        )
        .where(
          and(
            eq(scheduledMessages.id, row.originId),
            eq(scheduledMessages.businessId, row.businessId),
            inArray(scheduledMessages.status, status === "sent" ? ["queued", "cancelled", "failed"] : ["queued"]),
          ),
        );
      return;
    case "reminder":
      // Only the reminder for the appointment's current time: after a reschedule the old
      // reminder's outcome must not mark the new one.
      await db
        .update(appointments)
        .set(
          status === "sent"
            ? { reminderStatus: "sent", reminderSentAt: row.sentAt ?? new Date() }
            : { reminderStatus: status === "cancelled" ? "skipped" : "failed" },
        )
        .where(
          and(
            eq(appointments.id, row.originId),
            eq(appointments.businessId, row.businessId),
            sql`'reminder:' || ${appointments.id} || ':' || floor(extract(epoch from ${appointments.startsAt}))::bigint = ${row.idempotencyKey}`,
            status === "sent" ? undefined : eq(appointments.reminderStatus, "queued"),
          ),
        );
      return;
    case "reply":
      return;
  }
}
