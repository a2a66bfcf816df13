/**
 * The outbound webhook events: each type's `data` schema, version 1. The body of every delivery
 * is `{ "type", "timestamp", "data" }` (the Standard Webhooks payload shape); the OpenAPI
 * document's `webhooks` section publishes these schemas (./document.ts). A schema only grows
 * (new optional fields); a breaking change is a new type name (`lead.created.v2`).
 */
import { z } from "@hono/zod-openapi";
import { id, timestamp } from "../contract/models/common";
import { leadModel } from "../contract/models/lead";

const messageKind = z.string().openapi({ example: "text" });

export const webhookEventData = {
  "lead.created": z.strictObject({ lead: leadModel }).openapi("LeadCreatedEventData"),
  "lead.updated": z
    .strictObject({
      lead: leadModel,
      changed: z.array(z.string()).openapi({ description: "The fields the change set", example: ["status"] }),
    })
    .openapi("LeadUpdatedEventData"),
  "message.received": z
    .strictObject({
      message: z.strictObject({
        id: z.string().openapi({ description: "WhatsApp's message id" }),
        conversationId: id,
        chatJid: z.string().openapi({ example: "972501234567@s.whatsapp.net" }),
        phone: z.string().nullable().openapi({ description: "E.164; null for groups", example: "+972501234567" }),
        leadId: id.nullable(),
        pushName: z.string().nullable(),
        kind: messageKind,
        text: z.string().nullable(),
        sentAt: timestamp,
      }),
    })
    .openapi("MessageReceivedEventData"),
  "message.status": z
    .strictObject({
      message: z.strictObject({
        id: z.string(),
        chatJid: z.string(),
        fromMe: z.boolean(),
        status: z.string().openapi({ example: "read" }),
        at: timestamp,
      }),
    })
    .openapi("MessageStatusEventData"),
  "call.ended": z
    .strictObject({
      call: z.strictObject({
        id,
        callSid: z.string().nullable(),
        direction: z.enum(["inbound", "outbound"]),
        source: z.enum(["direct", "bulk", "inbound"]),
        leadId: id.nullable(),
        from: z.string().nullable(),
        to: z.string().nullable(),
        outcome: z.string().openapi({
          description: "Twilio's terminal status (completed, busy, no-answer, failed, canceled) or rejected",
        }),
        durationSeconds: z.number().int().nullable(),
        startedAt: timestamp.nullable(),
        endedAt: timestamp.nullable(),
        recordingAvailable: z.boolean().openapi({
          description: "Whether a recording is stored yet (it may arrive after the call ends)",
        }),
      }),
    })
    .openapi("CallEndedEventData"),
  "campaign.finished": z
    .strictObject({ campaign: z.strictObject({ id, status: z.string(), finishedAt: timestamp.nullable() }) })
    .openapi("CampaignFinishedEventData"),
  "broadcast.finished": z
    .strictObject({ broadcast: z.strictObject({ id, status: z.string(), finishedAt: timestamp.nullable() }) })
    .openapi("BroadcastFinishedEventData"),
  "whatsapp.connection": z
    .strictObject({
      connection: z.strictObject({
        state: z.string().openapi({ example: "open" }),
        reason: z.string().nullable(),
        phoneNumber: z.string().nullable(),
        at: timestamp,
      }),
    })
    .openapi("WhatsappConnectionEventData"),
  "conversation.assigned": z
    .strictObject({
      conversation: z.strictObject({
        id,
        chatJid: z.string().openapi({ example: "972501234567@s.whatsapp.net" }),
        leadId: id.nullable(),
        assigneeId: id.nullable().openapi({ description: "The new assignee; null when unassigned" }),
        previousAssigneeId: id.nullable(),
        assignedByUserId: id.nullable().openapi({ description: "Who made the change" }),
        at: timestamp,
      }),
    })
    .openapi("ConversationAssignedEventData"),
  "conversation.resolved": z
    .strictObject({
      conversation: z.strictObject({
        id,
        chatJid: z.string().openapi({ example: "972501234567@s.whatsapp.net" }),
        leadId: id.nullable(),
        assigneeId: id.nullable(),
        resolvedAt: timestamp,
        firstResponseSeconds: z.number().int().nullable().openapi({
          description: "From the customer's first waiting message to the business's first reply, this cycle",
        }),
        resolutionSeconds: z.number().int().openapi({ description: "From when the conversation (re)opened" }),
      }),
    })
    .openapi("ConversationResolvedEventData"),
  /** Sent only by the test-event button, only to that subscription. */
  "webhook.test": z.strictObject({ subscriptionId: id, message: z.string() }).openapi("WebhookTestEventData"),
} as const;

export type WebhookEventType = keyof typeof webhookEventData;
/** Dates stand for their ISO strings: the data is serialised to JSON when the event is written. */
type Serialisable<T> = T extends string
  ? T | Date
  : T extends readonly (infer U)[]
    ? Serialisable<U>[]
    : T extends object
      ? { [K in keyof T]: Serialisable<T[K]> }
      : T;
export type WebhookEventDataOf<T extends WebhookEventType> = Serialisable<z.input<(typeof webhookEventData)[T]>>;

/** What a subscription may ask for (the test event is not subscribed to; the button sends it). */
export const subscribableEventTypes = [
  "lead.created",
  "lead.updated",
  "message.received",
  "message.status",
  "call.ended",
  "campaign.finished",
  "broadcast.finished",
  "whatsapp.connection",
  "conversation.assigned",
  "conversation.resolved",
] as const satisfies readonly WebhookEventType[];

export const webhookEventDescriptions: Record<WebhookEventType, string> = {
  "lead.created": "A lead was added (API, dashboard, or a new contact writing in on WhatsApp).",
  "lead.updated": "A lead's fields changed (including a bulk status change).",
  "message.received": "A customer's WhatsApp message arrived (live messages; not history sync).",
  "message.status": "A WhatsApp message's delivery status moved on (sent, delivered, read…).",
  "call.ended": "A call reached its terminal status: outcome, duration, recording availability.",
  "campaign.finished": "A bulk call campaign has no job left to dial.",
  "broadcast.finished": "A broadcast has sent to every recipient.",
  "whatsapp.connection": "The business's WhatsApp connection changed state (open, closed, logged out…).",
  "conversation.assigned": "A WhatsApp conversation was assigned to a user, moved to another, or unassigned.",
  "conversation.resolved": "A WhatsApp conversation was resolved: with its first-response and resolution times.",
  "webhook.test": "The test event of the dashboard's button; sent only to the subscription tested.",
};

/** The body of one event, as sent: `{ type, timestamp, data }`. */
export function webhookEnvelope(type: WebhookEventType, at: Date, data: unknown) {
  return { type, timestamp: at.toISOString(), data };
}

export function envelopeSchema(type: WebhookEventType) {
  return z.strictObject({
    type: z.literal(type),
    timestamp,
    data: webhookEventData[type],
  });
}
