/**
 * Who handles a conversation. Anyone who may send may take an unassigned conversation for
 * themselves, or give up their own; moving a conversation between people (assigning someone else,
 * or taking one someone else holds) needs `whatsapp.assign`. The check and the change happen on
 * the locked row, so two agents clicking "take" at once cannot both win.
 */
import { and, eq } from "drizzle-orm";
import { type AuthContext, allowed } from "../auth/middleware";
import type { Database, Transaction } from "../db/client";
import { users, waConversations } from "../db/schema";
import type { Env } from "../env";
import { ApiError, notFound } from "../errors";
import { publishLive } from "../live/publish";
import { cachedSubscriptions, type EnabledSubscriptions, emitWebhookEvent, kickDeliveries } from "../webhooks/outbox";
import { findConversation } from "./conversation-view";

export interface AssignInput {
  businessId: number;
  conversationId: number;
  /** The new assignee, or null to unassign. */
  userId: number | null;
}

/** Whether the caller may move the assignee from `current` to `next` (ids; null = nobody). */
export function mayAssign(auth: AuthContext, current: number | null, next: number | null): boolean {
  if (current === next) return true;
  if (allowed(auth, "whatsapp.assign")) return true;
  const me = auth.user.id;
  return (current === null && next === me) || (current === me && next === null);
}

export async function assignConversation(db: Database, env: Env, auth: AuthContext, input: AssignInput) {
  const outcome = await db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(waConversations)
      .where(and(eq(waConversations.id, input.conversationId), eq(waConversations.businessId, input.businessId)))
      .for("update");
    if (!row) throw notFound("Conversation");
    const previous = row.assigneeUserId;
    if (!mayAssign(auth, previous, input.userId)) {
      throw new ApiError(
        "forbidden",
        previous !== null && previous !== auth.user.id
          ? "This conversation is assigned to someone else; taking it over needs whatsapp.assign"
          : "Assigning a conversation to someone else needs whatsapp.assign",
      );
    }
    if (input.userId !== null) {
      const [assignee] = await tx
        .select({ id: users.id })
        .from(users)
        .where(and(eq(users.id, input.userId), eq(users.businessId, input.businessId), eq(users.isActive, true)));
      if (!assignee) {
        throw new ApiError("validation_failed", "Invalid body: userId", {
          fields: [{ field: "userId", message: "is not an active user of this business" }],
        });
      }
    }
    if (previous === input.userId) return { changed: false, subscribers: [] as number[] };
    const at = new Date();
    await tx.update(waConversations).set({ assigneeUserId: input.userId }).where(eq(waConversations.id, row.id));
    const subscribers = await emitAssigned(tx, input.businessId, {
      conversation: row,
      assigneeId: input.userId,
      previousAssigneeId: previous,
      assignedByUserId: auth.user.id > 0 ? auth.user.id : null,
      at,
    });
    return { changed: true, subscribers };
  });
  if (outcome.changed) {
    await kickDeliveries(env, outcome.subscribers);
    await publishLive(env, input.businessId, {
      type: "conversation",
      conversationId: input.conversationId,
      change: "assigned",
    });
  }
  const conversation = await findConversation(db, input.businessId, input.conversationId);
  if (!conversation) throw notFound("Conversation");
  return conversation;
}

/**
 * A deactivated user's conversations go back to Unassigned, so none waits on someone who can no
 * longer sign in. Runs in the deactivation's transaction; each change is a `conversation.assigned`
 * event (assignee null). Returns what to publish once that transaction commits.
 */
export async function unassignAllOf(
  tx: Transaction,
  input: { businessId: number; userId: number; byUserId: number | null },
): Promise<{ conversationIds: number[]; subscribers: number[] }> {
  const released = await tx
    .update(waConversations)
    .set({ assigneeUserId: null })
    .where(and(eq(waConversations.businessId, input.businessId), eq(waConversations.assigneeUserId, input.userId)))
    .returning({ id: waConversations.id, chatJid: waConversations.chatJid, leadId: waConversations.leadId });
  const at = new Date();
  const subscriptions = cachedSubscriptions(tx);
  const subscribers: number[] = [];
  for (const row of released) {
    const ids = await emitAssigned(
      tx,
      input.businessId,
      { conversation: row, assigneeId: null, previousAssigneeId: input.userId, assignedByUserId: input.byUserId, at },
      subscriptions,
    );
    subscribers.push(...ids);
  }
  return { conversationIds: released.map((r) => r.id), subscribers };
}

/** Tells open dashboards and webhook subscribers about `unassignAllOf`'s changes, after its commit. */
export async function publishUnassigned(
  env: Env,
  businessId: number,
  released: { conversationIds: number[]; subscribers: number[] },
): Promise<void> {
  await kickDeliveries(env, released.subscribers);
  for (const conversationId of released.conversationIds) {
    await publishLive(env, businessId, { type: "conversation", conversationId, change: "assigned" });
  }
}

/** The `conversation.assigned` webhook event of one change, written in its transaction. */
function emitAssigned(
  tx: Transaction,
  businessId: number,
  change: {
    conversation: { id: number; chatJid: string; leadId: number | null };
    assigneeId: number | null;
    previousAssigneeId: number | null;
    assignedByUserId: number | null;
    at: Date;
  },
  subscriptions?: EnabledSubscriptions,
): Promise<number[]> {
  const { conversation, at, ...who } = change;
  return emitWebhookEvent(
    tx,
    {
      businessId,
      type: "conversation.assigned",
      at,
      data: {
        conversation: { id: conversation.id, chatJid: conversation.chatJid, leadId: conversation.leadId, ...who, at },
      },
    },
    subscriptions,
  );
}
