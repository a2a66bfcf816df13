/**
 * Outbound webhook subscriptions: create (the signing secret is in the answer), list, change,
 * delete, rotate the secret (the old one keeps signing alongside for an overlap), send a test
 * event, read the delivery log, and redeliver one event or everything since a time.
 */
import { z } from "@hono/zod-openapi";
import { and, count, desc, eq, gte, inArray, lt, type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent, noContent } from "../contract/content";
import {
  webhookAttemptModel,
  webhookDeliveryModel,
  webhookEventType,
  webhookSubscriptionModel,
} from "../contract/models/integrations";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import type { Database } from "../db/client";
import { webhookAttempts, webhookDeliveries, webhookEvents, webhookSubscriptions } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { idParam, idSchema, isoDateTime } from "../lib/schemas";
import { audit } from "../services/audit";
import { emitWebhookEvent, kickDeliveries } from "../webhooks/outbox";
import { newSigningSecret } from "../webhooks/signing";
import { checkWebhookTarget } from "../webhooks/target-guard";

export const webhookRoutes = createRouter();

/** Enough for every integration a business runs; a cap keeps one business from fanning out without end. */
const MAX_SUBSCRIPTIONS = 20;

type SubscriptionRow = typeof webhookSubscriptions.$inferSelect;

function publicSubscription(row: SubscriptionRow) {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    failingSince: row.failingSince,
    previousSecretExpiresAt:
      row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date() ? row.previousSecretExpiresAt : null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const url = z.string().trim().min(1).max(2000).openapi({ example: "https://example.com/hooks/prosaas" });

async function refuseBadTarget(c: Context<AppEnv>, target: string): Promise<void> {
  const check = await checkWebhookTarget(target, c.get("config"));
  if (!check.ok) {
    throw new ApiError("validation_failed", "Invalid body: url", { fields: [{ field: "url", message: check.reason }] });
  }
}

async function ownSubscription(db: Database, businessId: number, id: number): Promise<SubscriptionRow> {
  const [row] = await db
    .select()
    .from(webhookSubscriptions)
    .where(and(eq(webhookSubscriptions.id, id), eq(webhookSubscriptions.businessId, businessId)));
  if (!row) throw notFound("Webhook subscription");
  return row;
}

const subscriptionBody = z.strictObject({ subscription: webhookSubscriptionModel });
const withSecret = z.strictObject({
  subscription: webhookSubscriptionModel,
  secret: z.string().openapi({
    description: "The Standard Webhooks signing secret (`whsec_…`). Shown with the creation and each rotation only.",
  }),
});

// ---- subscriptions ---------------------------------------------------------------------------

const listSubscriptions = apiRoute({
  method: "get",
  path: "/api/webhooks",
  tag: "Integrations",
  summary: "The business's webhook subscriptions",
  auth: { permission: "webhooks.read" },
  responses: {
    200: jsonContent(
      z.strictObject({ subscriptions: z.array(webhookSubscriptionModel), eventTypes: z.array(webhookEventType) }),
      "Subscriptions, and the event types one can subscribe to",
    ),
  },
});

webhookRoutes.openapi(listSubscriptions, async (c) => {
  const rows = await c
    .get("db")()
    .select()
    .from(webhookSubscriptions)
    .where(eq(webhookSubscriptions.businessId, businessIdOf(c)))
    .orderBy(webhookSubscriptions.id);
  return c.json({ subscriptions: rows.map(publicSubscription), eventTypes: [...webhookEventType.options] }, 200);
});

const createBody = z.strictObject({
  url,
  eventTypes: z.array(webhookEventType).min(1).max(20),
  description: z.string().trim().max(200).nullable().optional(),
  enabled: z.boolean().default(true),
});

const createSubscription = apiRoute({
  method: "post",
  path: "/api/webhooks",
  tag: "Integrations",
  summary: "Subscribe a URL to events",
  description:
    "Deliveries are POSTs signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) with the returned secret; a 2xx answer within 10 s is a delivery, redirects are not followed. In production the URL must be https and must not resolve to a private, loopback or link-local address.",
  auth: { permission: "webhooks.manage" },
  request: { body: jsonBody(createBody) },
  responses: { 201: jsonContent(withSecret, "The subscription and its signing secret") },
  errors: ["conflict"],
});

webhookRoutes.openapi(createSubscription, async (c) => {
  const businessId = businessIdOf(c);
  const body = c.req.valid("json");
  await refuseBadTarget(c, body.url);
  const db = c.get("db")();
  const [existing] = await db
    .select({ n: count() })
    .from(webhookSubscriptions)
    .where(eq(webhookSubscriptions.businessId, businessId));
  if ((existing?.n ?? 0) >= MAX_SUBSCRIPTIONS)
    throw new ApiError("conflict", `A business may have at most ${MAX_SUBSCRIPTIONS} webhook subscriptions`);
  const secret = newSigningSecret();
  const row = await db.transaction(async (tx) => {
    const [created] = await tx
      .insert(webhookSubscriptions)
      .values({
        businessId,
        url: body.url,
        description: body.description ?? null,
        eventTypes: [...new Set(body.eventTypes)],
        secret,
        enabled: body.enabled,
      })
      .returning();
    await audit(c, tx, {
      businessId,
      action: "webhook.created",
      targetType: "webhook",
      targetId: created!.id,
      details: { url: body.url, eventTypes: created!.eventTypes },
    });
    return created!;
  });
  return c.json({ subscription: publicSubscription(row), secret }, 201);
});

const getSubscription = apiRoute({
  method: "get",
  path: "/api/webhooks/{id}",
  tag: "Integrations",
  summary: "One webhook subscription",
  auth: { permission: "webhooks.read" },
  request: { params: idParam },
  responses: { 200: jsonContent(subscriptionBody, "The subscription") },
  errors: ["not_found"],
});

webhookRoutes.openapi(getSubscription, async (c) => {
  const row = await ownSubscription(c.get("db")(), businessIdOf(c), c.req.valid("param").id);
  return c.json({ subscription: publicSubscription(row) }, 200);
});

const updateBody = z
  .strictObject({
    url,
    eventTypes: z.array(webhookEventType).min(1).max(20),
    description: z.string().trim().max(200).nullable(),
    enabled: z.boolean(),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: "give at least one field" });

const updateSubscription = apiRoute({
  method: "patch",
  path: "/api/webhooks/{id}",
  tag: "Integrations",
  summary: "Change a subscription's URL, events, description, or enable/disable it",
  description:
    "Enabling a subscription the platform disabled clears the reason; its pending events are delivered again from where they stopped.",
  auth: { permission: "webhooks.manage" },
  request: { params: idParam, body: jsonBody(updateBody) },
  responses: { 200: jsonContent(subscriptionBody, "The updated subscription") },
  errors: ["not_found"],
});

webhookRoutes.openapi(updateSubscription, async (c) => {
  const businessId = businessIdOf(c);
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const db = c.get("db")();
  const before = await ownSubscription(db, businessId, id);
  if (body.url !== undefined) await refuseBadTarget(c, body.url);
  const row = await db.transaction(async (tx) => {
    const [updated] = await tx
      .update(webhookSubscriptions)
      .set({
        ...(body.url !== undefined ? { url: body.url } : {}),
        ...(body.eventTypes !== undefined ? { eventTypes: [...new Set(body.eventTypes)] } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.enabled !== undefined
          ? body.enabled
            ? { enabled: true, disabledReason: null, failingSince: null }
            : { enabled: false, leaseToken: null, leaseUntil: null }
          : {}),
        updatedAt: new Date(),
      })
      .where(and(eq(webhookSubscriptions.id, id), eq(webhookSubscriptions.businessId, businessId)))
      .returning();
    await audit(c, tx, {
      businessId,
      action: "webhook.updated",
      targetType: "webhook",
      targetId: id,
      details: { changed: Object.keys(body), url: updated!.url, wasEnabled: before.enabled, enabled: updated!.enabled },
    });
    return updated!;
  });
  if (row.enabled) await kickDeliveries(c.env, [row.id]);
  return c.json({ subscription: publicSubscription(row) }, 200);
});

const deleteSubscription = apiRoute({
  method: "delete",
  path: "/api/webhooks/{id}",
  tag: "Integrations",
  summary: "Delete a subscription, its pending deliveries and its log",
  auth: { permission: "webhooks.manage" },
  request: { params: idParam },
  responses: { 204: { description: "Deleted" } },
  errors: ["not_found"],
});

webhookRoutes.openapi(deleteSubscription, async (c) => {
  const businessId = businessIdOf(c);
  const { id } = c.req.valid("param");
  const db = c.get("db")();
  const row = await ownSubscription(db, businessId, id);
  await db.transaction(async (tx) => {
    await tx.delete(webhookSubscriptions).where(eq(webhookSubscriptions.id, id));
    await audit(c, tx, {
      businessId,
      action: "webhook.deleted",
      targetType: "webhook",
      targetId: id,
      details: { url: row.url },
    });
  });
  return noContent(c);
});

const rotateBody = z.strictObject({
  overlapHours: z
    .number()
    .int()
    .min(0)
    .max(7 * 24)
    .default(24)
    .openapi({ description: "How long the old secret keeps signing alongside the new one" }),
});

const rotateSecret = apiRoute({
  method: "post",
  path: "/api/webhooks/{id}/rotate-secret",
  tag: "Integrations",
  summary: "Rotate the signing secret",
  description:
    "Until `previousSecretExpiresAt` every delivery carries two signatures (webhook-signature: `v1,<new> v1,<old>`), so receivers can switch to the new secret without missing one.",
  auth: { permission: "webhooks.manage" },
  request: { params: idParam, body: jsonBody(rotateBody) },
  responses: { 200: jsonContent(withSecret, "The new secret") },
  errors: ["not_found"],
});

webhookRoutes.openapi(rotateSecret, async (c) => {
  const businessId = businessIdOf(c);
  const { id } = c.req.valid("param");
  const { overlapHours } = c.req.valid("json");
  const db = c.get("db")();
  const before = await ownSubscription(db, businessId, id);
  const secret = newSigningSecret();
  const row = await db.transaction(async (tx) => {
    const [updated] = await tx
      .update(webhookSubscriptions)
      .set({
        secret,
        previousSecret: overlapHours > 0 ? before.secret : null,
        previousSecretExpiresAt: overlapHours > 0 ? new Date(Date.now() + overlapHours * 3_600_000) : null,
        updatedAt: new Date(),
      })
      .where(eq(webhookSubscriptions.id, id))
      .returning();
    await audit(c, tx, {
      businessId,
      action: "webhook.secret_rotated",
      targetType: "webhook",
      targetId: id,
      details: { overlapHours },
    });
    return updated!;
  });
  return c.json({ subscription: publicSubscription(row), secret }, 200);
});

const testEvent = apiRoute({
  method: "post",
  path: "/api/webhooks/{id}/test",
  tag: "Integrations",
  summary: "Send a test event (webhook.test) to this subscription",
  description: "Queued behind the subscription's pending events, like any other; follow it in the delivery log.",
  auth: { permission: "webhooks.manage" },
  request: { params: idParam },
  responses: {
    202: jsonContent(z.strictObject({ eventId: z.string() }), "Queued; its webhook-id"),
  },
  errors: ["not_found", "conflict"],
});

webhookRoutes.openapi(testEvent, async (c) => {
  const businessId = businessIdOf(c);
  const { id } = c.req.valid("param");
  const db = c.get("db")();
  const sub = await ownSubscription(db, businessId, id);
  if (!sub.enabled) throw new ApiError("conflict", "The subscription is disabled; enable it first");
  const eventId = await db.transaction(async (tx) => {
    const subscribers = await emitWebhookEvent(tx, {
      businessId,
      type: "webhook.test",
      data: { subscriptionId: id, message: "A test event from ProSaaS" },
      onlySubscriptionId: id,
    });
    if (subscribers.length === 0) throw new ApiError("conflict", "The subscription is disabled; enable it first");
    const [event] = await tx
      .select({ eventId: webhookEvents.eventId })
      .from(webhookEvents)
      .innerJoin(webhookDeliveries, eq(webhookDeliveries.eventRowId, webhookEvents.id))
      .where(and(eq(webhookDeliveries.subscriptionId, id), eq(webhookEvents.type, "webhook.test")))
      .orderBy(desc(webhookEvents.id))
      .limit(1);
    return event!.eventId;
  });
  await kickDeliveries(c.env, [id]);
  return c.json({ eventId }, 202);
});

// ---- the delivery log ------------------------------------------------------------------------

const deliveryColumns = {
  id: webhookDeliveries.id,
  eventId: webhookEvents.eventId,
  eventType: webhookEvents.type,
  status: webhookDeliveries.status,
  attempts: webhookDeliveries.attempts,
  nextAttemptAt: sql<Date | null>`case when ${webhookDeliveries.status} = 'pending' then ${webhookDeliveries.nextAttemptAt} end`,
  lastStatusCode: webhookDeliveries.lastStatusCode,
  lastError: webhookDeliveries.lastError,
  deliveredAt: webhookDeliveries.deliveredAt,
  createdAt: webhookDeliveries.createdAt,
};

/** Timestamps from raw SQL come back as text: one shape for the response. */
function deliveryOut<T extends { nextAttemptAt: Date | string | null }>(row: T) {
  return { ...row, nextAttemptAt: row.nextAttemptAt === null ? null : new Date(row.nextAttemptAt) };
}

const deliveriesQuery = z
  .object({
    status: z.enum(["pending", "succeeded", "failed"]).optional(),
    before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

const listDeliveries = apiRoute({
  method: "get",
  path: "/api/webhooks/{id}/deliveries",
  tag: "Integrations",
  summary: "The delivery log: each event sent (or to send) to this subscription, newest first",
  auth: { permission: "webhooks.read" },
  request: { params: idParam, query: deliveriesQuery },
  responses: {
    200: jsonContent(
      z.strictObject({
        deliveries: z.array(webhookDeliveryModel),
        nextCursor: z.number().int().max(Number.MAX_SAFE_INTEGER).nullable(),
      }),
      "One page",
    ),
  },
  errors: ["not_found"],
});

webhookRoutes.openapi(listDeliveries, async (c) => {
  const businessId = businessIdOf(c);
  const { id } = c.req.valid("param");
  const q = c.req.valid("query");
  const db = c.get("db")();
  await ownSubscription(db, businessId, id);
  const where: SQL[] = [eq(webhookDeliveries.subscriptionId, id), eq(webhookDeliveries.businessId, businessId)];
  if (q.status) where.push(eq(webhookDeliveries.status, q.status));
  if (q.before) where.push(lt(webhookDeliveries.id, q.before));
  const rows = await db
    .select(deliveryColumns)
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventRowId))
    .where(and(...where))
    .orderBy(desc(webhookDeliveries.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  return c.json(
    {
      deliveries: page.map(deliveryOut),
      nextCursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
    },
    200,
  );
});

const deliveryParams = z.object({ id: idSchema, deliveryId: idSchema });

async function ownDelivery(db: Database, businessId: number, subscriptionId: number, deliveryId: number) {
  const [row] = await db
    .select({ ...deliveryColumns, body: webhookEvents.body })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventRowId))
    .where(
      and(
        eq(webhookDeliveries.id, deliveryId),
        eq(webhookDeliveries.subscriptionId, subscriptionId),
        eq(webhookDeliveries.businessId, businessId),
      ),
    );
  if (!row) throw notFound("Delivery");
  return row;
}

const getDelivery = apiRoute({
  method: "get",
  path: "/api/webhooks/{id}/deliveries/{deliveryId}",
  tag: "Integrations",
  summary: "One delivery: the body sent, and every attempt (headers, status, answer, duration)",
  auth: { permission: "webhooks.read" },
  request: { params: deliveryParams },
  responses: {
    200: jsonContent(
      z.strictObject({
        delivery: webhookDeliveryModel,
        body: z.string().openapi({ description: "The request body, exactly as sent" }),
        attempts: z.array(webhookAttemptModel),
      }),
      "The delivery and its attempts, newest first",
    ),
  },
  errors: ["not_found"],
});

webhookRoutes.openapi(getDelivery, async (c) => {
  const businessId = businessIdOf(c);
  const { id, deliveryId } = c.req.valid("param");
  const db = c.get("db")();
  const { body, ...delivery } = await ownDelivery(db, businessId, id, deliveryId);
  const attempts = await db
    .select({
      id: webhookAttempts.id,
      url: webhookAttempts.url,
      requestHeaders: webhookAttempts.requestHeaders,
      responseStatus: webhookAttempts.responseStatus,
      responseSnippet: webhookAttempts.responseSnippet,
      error: webhookAttempts.error,
      durationMs: webhookAttempts.durationMs,
      createdAt: webhookAttempts.createdAt,
    })
    .from(webhookAttempts)
    .where(and(eq(webhookAttempts.deliveryId, deliveryId), eq(webhookAttempts.businessId, businessId)))
    .orderBy(desc(webhookAttempts.id))
    .limit(100);
  return c.json({ delivery: deliveryOut(delivery), body, attempts }, 200);
});

// ---- redelivery ------------------------------------------------------------------------------

const redeliverOne = apiRoute({
  method: "post",
  path: "/api/webhooks/{id}/deliveries/{deliveryId}/redeliver",
  tag: "Integrations",
  summary: "Send one event again (same webhook-id, same body), with a fresh set of attempts",
  description: "Receivers that already have it see a webhook-id they know and can ignore it.",
  auth: { permission: "webhooks.manage" },
  request: { params: deliveryParams },
  responses: { 202: jsonContent(z.strictObject({ delivery: webhookDeliveryModel }), "Queued again") },
  errors: ["not_found"],
});

webhookRoutes.openapi(redeliverOne, async (c) => {
  const businessId = businessIdOf(c);
  const { id, deliveryId } = c.req.valid("param");
  const db = c.get("db")();
  await ownDelivery(db, businessId, id, deliveryId);
  await db.transaction(async (tx) => {
    await tx
      .update(webhookDeliveries)
      .set({ status: "pending", attempts: 0, nextAttemptAt: sql`now()`, lastError: null, updatedAt: sql`now()` })
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.businessId, businessId)));
    await audit(c, tx, {
      businessId,
      action: "webhook.redelivered",
      targetType: "webhook",
      targetId: id,
      details: { deliveryId },
    });
  });
  await kickDeliveries(c.env, [id]);
  const { body: _body, ...delivery } = await ownDelivery(db, businessId, id, deliveryId);
  return c.json({ delivery: deliveryOut(delivery) }, 202);
});

const redeliverSinceBody = z.strictObject({
  since: isoDateTime.describe("Events created at or after this time"),
  onlyFailed: z
    .boolean()
    .default(true)
    .openapi({ description: "Only events that ran out of attempts (default); false: every event since then" }),
});

const redeliverSince = apiRoute({
  method: "post",
  path: "/api/webhooks/{id}/redeliver",
  tag: "Integrations",
  summary: "Send again every (failed) event since a time, in their original order",
  auth: { permission: "webhooks.manage" },
  request: { params: idParam, body: jsonBody(redeliverSinceBody) },
  responses: {
    202: jsonContent(z.strictObject({ requeued: z.number().int().min(0) }), "How many deliveries were queued again"),
  },
  errors: ["not_found"],
});

webhookRoutes.openapi(redeliverSince, async (c) => {
  const businessId = businessIdOf(c);
  const { id } = c.req.valid("param");
  const { since, onlyFailed } = c.req.valid("json");
  const db = c.get("db")();
  await ownSubscription(db, businessId, id);
  const requeued = await db.transaction(async (tx) => {
    const rows = await tx
      .update(webhookDeliveries)
      .set({ status: "pending", attempts: 0, nextAttemptAt: sql`now()`, lastError: null, updatedAt: sql`now()` })
      .where(
        and(
          eq(webhookDeliveries.subscriptionId, id),
          eq(webhookDeliveries.businessId, businessId),
          gte(webhookDeliveries.createdAt, new Date(since)),
          onlyFailed
            ? eq(webhookDeliveries.status, "failed")
            : inArray(webhookDeliveries.status, ["failed", "succeeded"]),
        ),
      )
      .returning({ id: webhookDeliveries.id });
    await audit(c, tx, {
      businessId,
      action: "webhook.redelivered",
      targetType: "webhook",
      targetId: id,
      details: { since, onlyFailed, requeued: rows.length },
    });
    return rows.length;
  });
  await kickDeliveries(c.env, [id]);
  return c.json({ requeued }, 202);
});
