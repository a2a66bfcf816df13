/** API keys, webhook subscriptions, their delivery log, and the audit log, as the API shows them. */
import { z } from "@hono/zod-openapi";
import { apiKeyScopeNames } from "../../auth/permissions";
import { webhookDeliveryStatuses } from "../../db/schema";
import { subscribableEventTypes } from "../../webhooks/events";
import { id, timestamp } from "./common";

export const apiKeyScope = z.enum(apiKeyScopeNames).openapi("ApiKeyScope");

export const apiKeyModel = z
  .strictObject({
    id,
    name: z.string(),
    prefix: z.string().openapi({ description: "The key's visible start", example: "psk_ab12cd34" }),
    scopes: z.array(z.string()),
    status: z.enum(["active", "expired", "revoked"]),
    createdByUserId: id.nullable(),
    createdAt: timestamp,
    expiresAt: timestamp.nullable(),
    lastUsedAt: timestamp.nullable(),
    lastUsedIp: z.string().nullable(),
    revokedAt: timestamp.nullable(),
  })
  .openapi("ApiKey");

export const webhookEventType = z.enum(subscribableEventTypes).openapi("WebhookEventType");

export const webhookSubscriptionModel = z
  .strictObject({
    id,
    url: z.string(),
    description: z.string().nullable(),
    eventTypes: z.array(z.string()),
    enabled: z.boolean(),
    disabledReason: z
      .string()
      .nullable()
      .openapi({ description: "Why the platform disabled it (it kept failing); null otherwise" }),
    failingSince: timestamp.nullable().openapi({ description: "Since when every attempt has failed" }),
    previousSecretExpiresAt: timestamp
      .nullable()
      .openapi({ description: "Until when the previous secret also signs (after a rotation)" }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .openapi("WebhookSubscription");

export const webhookDeliveryModel = z
  .strictObject({
    id,
    eventId: z.string().openapi({ description: "The webhook-id header", example: "msg_0f3c…" }),
    eventType: z.string(),
    status: z.enum(webhookDeliveryStatuses),
    attempts: z.number().int().min(0),
    nextAttemptAt: timestamp.nullable().openapi({ description: "When it is tried next (pending only)" }),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    deliveredAt: timestamp.nullable(),
    createdAt: timestamp,
  })
  .openapi("WebhookDelivery");

export const webhookAttemptModel = z
  .strictObject({
    id,
    url: z.string(),
    requestHeaders: z.record(z.string(), z.string()),
    responseStatus: z.number().int().nullable(),
    responseSnippet: z.string().nullable().openapi({ description: "The first KB of the answer" }),
    error: z.string().nullable(),
    durationMs: z.number().int().min(0),
    createdAt: timestamp,
  })
  .openapi("WebhookAttempt");

export const auditEntryModel = z
  .strictObject({
    id,
    action: z.string().openapi({ example: "api_key.created" }),
    actor: z
      .strictObject({
        userId: id.nullable(),
        userName: z.string().nullable(),
        apiKeyId: id.nullable(),
        apiKeyPrefix: z.string().nullable(),
      })
      .openapi({ description: "A user, an API key, or neither (the platform itself)" }),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    ip: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
    createdAt: timestamp,
  })
  .openapi("AuditEntry");
