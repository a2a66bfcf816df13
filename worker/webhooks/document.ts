/**
 * The OpenAPI document's `webhooks` section: one entry per event type, the request a subscriber
 * receives (body schema, Standard Webhooks headers) and what it should answer.
 */

import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { envelopeSchema, type WebhookEventType, webhookEventData, webhookEventDescriptions } from "./events";

const standardHeaders = z.object({
  "webhook-id": z.string().openapi({ description: "The event's id: the same on every retry and replay; dedupe on it" }),
  "webhook-timestamp": z.string().openapi({ description: "Unix seconds of this attempt (signed)" }),
  "webhook-signature": z.string().openapi({
    description:
      "`v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}.{body}\">` with the secret's bytes (after `whsec_`, base64). Two space-separated signatures during a secret rotation's overlap.",
  }),
});

function operationId(type: string): string {
  return `${type.replace(/[._](\w)/g, (_, ch: string) => ch.toUpperCase())}V1`;
}

export function registerWebhookEvents(app: OpenAPIHono<AppEnv>): void {
  for (const type of Object.keys(webhookEventData) as WebhookEventType[]) {
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: type,
      operationId: operationId(type),
      summary: `${type} (v1)`,
      description: `${webhookEventDescriptions[type]}\n\nDelivered at least once, in order per subscription; retried with exponential backoff for about 25 h when the answer is not a 2xx within 10 s. Verify the signature with any Standard Webhooks library.`,
      tags: ["Integrations"],
      request: {
        headers: standardHeaders,
        body: { required: true, content: { "application/json": { schema: envelopeSchema(type) } } },
      },
      responses: {
        200: { description: "Any 2xx: delivered" },
        500: { description: "Anything else (or no answer in 10 s): tried again later" },
      },
    });
  }
}
