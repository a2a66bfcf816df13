/**
 * The webhook outbox. `emitWebhookEvent` is called inside the transaction of the change that
 * causes the event: the event and one delivery row per subscribed endpoint commit with the change,
 * or not at all. After the commit the caller kicks delivery (`kickDeliveries`); if that kick is
 * lost (a crash between commit and send), the minute sweep (./deliver.ts) finds the due
 * deliveries anyway. A business with no subscription for the type writes nothing.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Executor } from "../db/client";
import { webhookDeliveries, webhookEvents, webhookSubscriptions } from "../db/schema";
import type { Env } from "../env";
import { log } from "../lib/log";
import { enqueueBatch } from "../queues/producer";
import { type WebhookEventDataOf, type WebhookEventType, webhookEnvelope, webhookEventData } from "./events";

/** A Standard Webhooks message id: unique per event, the same on every retry and replay. */
export function newEventId(): string {
  return `msg_${crypto.randomUUID().replaceAll("-", "")}`;
}

export type EnabledSubscriptions = (businessId: number) => Promise<{ id: number; eventTypes: string[] }[]>;

/**
 * The enabled subscriptions of a business, read once per business for a batch of changes (a
 * shard's delivery of hundreds of events): one query per business instead of one per event. A
 * subscription created while the batch is stored may miss its events, as it would a moment earlier.
 */
export function cachedSubscriptions(db: Executor): EnabledSubscriptions {
  const cache = new Map<number, Promise<{ id: number; eventTypes: string[] }[]>>();
  return (businessId) => {
    let found = cache.get(businessId);
    if (!found) {
      found = db
        .select({ id: webhookSubscriptions.id, eventTypes: webhookSubscriptions.eventTypes })
        .from(webhookSubscriptions)
        .where(and(eq(webhookSubscriptions.businessId, businessId), eq(webhookSubscriptions.enabled, true)));
      cache.set(businessId, found);
    }
    return found;
  };
}

export async function emitWebhookEvent<T extends WebhookEventType>(
  tx: Executor,
  event: { businessId: number; type: T; data: WebhookEventDataOf<T>; at?: Date; onlySubscriptionId?: number },
  subscriptions?: EnabledSubscriptions,
): Promise<number[]> {
  const subscribers = subscriptions
    ? (await subscriptions(event.businessId)).filter((s) =>
        event.onlySubscriptionId === undefined ? s.eventTypes.includes(event.type) : s.id === event.onlySubscriptionId,
      )
    : await tx
        .select({ id: webhookSubscriptions.id })
        .from(webhookSubscriptions)
        .where(
          and(
            eq(webhookSubscriptions.businessId, event.businessId),
            eq(webhookSubscriptions.enabled, true),
            event.onlySubscriptionId === undefined
              ? sql`${event.type} = any(${webhookSubscriptions.eventTypes})`
              : eq(webhookSubscriptions.id, event.onlySubscriptionId),
          ),
        );
  if (subscribers.length === 0) return [];
  const body = JSON.stringify(webhookEnvelope(event.type, event.at ?? new Date(), event.data));
  // The published schema is the promise; a mismatch is our bug, logged loudly but not allowed to
  // undo the customer's change (tests check the received bodies against the schemas).
  const check = webhookEventData[event.type].safeParse(JSON.parse(body).data);
  if (!check.success)
    log.error("webhook event does not match its published schema", { type: event.type, issues: check.error.message });
  const [row] = await tx
    .insert(webhookEvents)
    .values({ businessId: event.businessId, eventId: newEventId(), type: event.type, body })
    .returning({ id: webhookEvents.id });
  await tx
    .insert(webhookDeliveries)
    .values(subscribers.map((s) => ({ businessId: event.businessId, subscriptionId: s.id, eventRowId: row!.id })));
  return subscribers.map((s) => s.id);
}

/**
 * After the commit: ask the queue to deliver these subscriptions' due events now. Never throws:
 * the change is committed, and the sweep delivers if this send fails.
 */
export async function kickDeliveries(env: Env, subscriptionIds: Iterable<number>): Promise<void> {
  const ids = [...new Set(subscriptionIds)];
  if (ids.length === 0) return;
  try {
    await enqueueBatch(
      env,
      "webhook.deliver",
      ids.map((subscriptionId) => ({ type: "webhook.deliver" as const, subscriptionId })),
    );
  } catch (err) {
    log.warn("webhook kick failed; the sweep will deliver", { subscriptionIds: ids, error: String(err) });
  }
}
