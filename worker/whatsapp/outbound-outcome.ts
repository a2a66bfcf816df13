/**
 * What happens to the record that asked for a message once the message is final (sent, failed or
 * cancelled): a broadcast recipient, a scheduled message, an appointment reminder. One function
 * per origin; the send job calls `recordOutboundOutcome` after every final state change.
 */
import { and, eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { appointments, broadcastRecipients, scheduledMessages, type waOutbound } from "../db/schema";

export type OutboundRow = typeof waOutbound.$inferSelect;
export type FinalStatus = "sent" | "failed" | "cancelled";

export async function recordOutboundOutcome(db: Database, row: OutboundRow, status: FinalStatus): Promise<void> {
  if (row.originId === null) return;
  switch (row.origin) {
    case "broadcast":
      await db
        .update(broadcastRecipients)
        .set({ status, updatedAt: new Date() })
        .where(and(eq(broadcastRecipients.outboundId, row.id), eq(broadcastRecipients.businessId, row.businessId)));
      return;
    case "scheduled":
      await db
        .update(scheduledMessages)
        .set(
          status === "sent"
            ? { status: "sent", sentAt: row.sentAt ?? new Date(), waMessageId: row.waMessageId }
            : { status: status === "cancelled" ? "cancelled" : "failed", lastError: row.lastError },
        )
        .where(and(eq(scheduledMessages.id, row.originId), eq(scheduledMessages.businessId, row.businessId)));
      return;
    case "reminder":
      await db
        .update(appointments)
        .set(
          status === "sent"
            ? { reminderStatus: "sent", reminderSentAt: row.sentAt ?? new Date() }
            : { reminderStatus: "failed" },
        )
        .where(and(eq(appointments.id, row.originId), eq(appointments.businessId, row.businessId)));
      return;
    case "reply":
      return;
  }
}
