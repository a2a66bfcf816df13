/**
 * Where a conversation stands: open, pending, resolved, or snoozed until a time. A status change
 * happens on the locked row and records the cycle's times:
 *  - resolving sets resolved_at and resolution_seconds (from opened_at) and sends
 *    `conversation.resolved` in the same transaction;
 *  - leaving `resolved` (by hand, or by the customer writing again: ./activity.ts) starts a new
 *    cycle: opened_at is now, and the first-response and resolution times start over.
 * Setting the status a conversation already has changes nothing and publishes nothing.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { type ConversationStatus, waConversations } from "../db/schema";
import type { Env } from "../env";
import { ApiError, notFound } from "../errors";
import { publishLive } from "../live/publish";
import { emitWebhookEvent, kickDeliveries } from "../webhooks/outbox";
import { effectiveStatus, findConversation } from "./conversation-view";

export interface StatusInput {
  businessId: number;
  conversationId: number;
  status: ConversationStatus;
  /** ISO time; required with snoozed, refused otherwise. */
  snoozedUntil?: string;
}

function snoozeRefusal(message: string): ApiError {
  return new ApiError("validation_failed", "Invalid body: snoozedUntil", {
    fields: [{ field: "snoozedUntil", message }],
  });
}

/** The columns that start a new cycle when a resolved conversation opens again at `at`. */
export function newCycle(at: Date) {
  return { openedAt: at, firstResponseSeconds: null, resolvedAt: null, resolutionSeconds: null };
}

export async function setConversationStatus(db: Database, env: Env, input: StatusInput) {
  let snoozedUntil: Date | null = null;
  if (input.status === "snoozed") {
    if (input.snoozedUntil === undefined) throw snoozeRefusal("is required to snooze");
    snoozedUntil = new Date(input.snoozedUntil);
    if (snoozedUntil.getTime() <= Date.now()) throw snoozeRefusal("must be in the future");
  } else if (input.snoozedUntil !== undefined) {
    throw snoozeRefusal(`is only for status snoozed, not ${input.status}`);
  }

  const outcome = await db.transaction(async (tx) => {
    const [row] = await tx
      .select({ conversation: waConversations, current: effectiveStatus })
      .from(waConversations)
      .where(and(eq(waConversations.id, input.conversationId), eq(waConversations.businessId, input.businessId)))
      .for("update");
    if (!row) throw notFound("Conversation");
    const { conversation, current } = row;
    if (current === input.status && input.status !== "snoozed") return { changed: false, subscribers: [] as number[] };
    const at = new Date();
    const set: Partial<typeof waConversations.$inferInsert> = {
      status: input.status,
      snoozedUntil,
      statusChangedAt: at,
      ...(current === "resolved" ? newCycle(at) : {}),
    };
    let subscribers: number[] = [];
    if (input.status === "resolved") {
      const resolutionSeconds = Math.max(0, Math.round((at.getTime() - conversation.openedAt.getTime()) / 1000));
      Object.assign(set, { resolvedAt: at, resolutionSeconds });
      subscribers = await emitWebhookEvent(tx, {
        businessId: input.businessId,
        type: "conversation.resolved",
        at,
        data: {
          conversation: {
            id: conversation.id,
            chatJid: conversation.chatJid,
            leadId: conversation.leadId,
            assigneeId: conversation.assigneeUserId,
            resolvedAt: at,
            firstResponseSeconds: conversation.firstResponseSeconds,
            resolutionSeconds,
          },
        },
      });
    }
    await tx.update(waConversations).set(set).where(eq(waConversations.id, conversation.id));
    return { changed: true, subscribers };
  });
  if (outcome.changed) {
    await kickDeliveries(env, outcome.subscribers);
    await publishLive(env, input.businessId, {
      type: "conversation",
      conversationId: input.conversationId,
      change: "status",
    });
  }
  const conversation = await findConversation(db, input.businessId, input.conversationId);
  if (!conversation) throw notFound("Conversation");
  return conversation;
}

/**
 * Snoozes that ran out, stored as open (they already read as open: ./conversation-view.ts), so
 * open dashboards hear of it. Returns what changed, for the live publish.
 */
export async function wakeSnoozed(db: Database, limit: number) {
  return db
    .update(waConversations)
    .set({ status: "open", snoozedUntil: null, statusChangedAt: sql`${waConversations.snoozedUntil}` })
    .where(
      sql`${waConversations.id} in (select ${waConversations.id} from ${waConversations}
        where ${waConversations.status} = 'snoozed' and ${waConversations.snoozedUntil} <= now()
        order by ${waConversations.snoozedUntil} limit ${limit} for update skip locked)`,
    )
    .returning({ businessId: waConversations.businessId, id: waConversations.id });
}
