/** WhatsApp response models: the session on its shard, the send pause, and the inbox. */
import { z } from "@hono/zod-openapi";
import { mediaKinds, sessionInfo, watchdogInfo } from "../../../contracts/shard-api";
import {
  conversationStatuses,
  waMediaStatuses,
  waMessageStatuses,
  type waMessages,
  type waOutbound,
  waOutboundOrigins,
  waOutboundStatuses,
} from "../../db/schema";
import { id, timestamp } from "./common";

/** The live session as the shard reports it (QR and pairing code only for whatsapp.manage). */
export const sessionModel = z
  .strictObject({
    ...sessionInfo.shape,
    watchdog: z.strictObject(watchdogInfo.shape).optional().openapi({
      description:
        "The shard's session watchdog: an open session silent for too long is pinged, and reconnected when the ping goes unanswered (`reason` says when and why)",
    }),
  })
  .openapi("WhatsAppSession");

/** When the shard could not be asked: its error code instead of the session. */
export const sessionUnavailableModel = z.strictObject({ error: z.string() });

export const sendStateModel = z
  .strictObject({
    paused: z.boolean(),
    pausedReason: z.string().nullable(),
    pausedAt: z.string().nullable(),
    sentToday: z.number().int(),
    day: z.string().nullable(),
    waiting: z.number().int().openapi({ description: "Sends held in the schedule, not yet handed to the queue" }),
  })
  .openapi("WhatsAppSendState");

/** A message not sent yet: why it waits and when it should go (from the business's send schedule). */
export const waitingSendModel = z
  .strictObject({
    outboundId: id,
    text: z.string(),
    status: z.enum(waOutboundStatuses),
    origin: z.enum(waOutboundOrigins),
    lastError: z.string().nullable(),
    createdAt: timestamp,
    mediaKind: z.enum(mediaKinds).nullable().openapi({ description: "An attachment's kind (text is its caption)" }),
    mediaFileName: z.string().nullable(),
    reason: z.enum(["paused", "quiet_hours", "daily_cap", "rate", "retry", "sending", "held", "queued"]),
    detail: z.string(),
    expectedAt: z.string().nullable().openapi({ description: "An estimate; null while paused" }),
  })
  .openapi("WaitingSend");

export const shardMoveModel = z
  .strictObject({ from: z.number().int(), to: z.number().int(), fencingToken: z.number().int(), startedAt: z.string() })
  .nullable();

export const lastReportedSessionModel = z
  .strictObject({
    businessId: id,
    shardId: z.number().int(),
    state: z.string(),
    reason: z.string().nullable(),
    phoneNumber: z.string().nullable(),
    updatedAt: timestamp,
  })
  .nullable();

export const conversationStatusModel = z.enum(conversationStatuses).openapi({
  description:
    "open (default), pending (waiting on someone else), resolved, snoozed (until `snoozedUntil`, then open again). A new customer message reopens pending, resolved and snoozed conversations.",
});

/** A user named on a record (an assignee, a note's author). */
export const userRefModel = z.strictObject({ id, name: z.string() }).openapi("UserRef");

export const conversationModel = z
  .strictObject({
    id,
    businessId: id,
    chatJid: z.string(),
    leadId: id.nullable(),
    displayName: z.string().nullable(),
    lastMessageAt: timestamp.nullable(),
    lastMessagePreview: z.string().nullable(),
    unreadCount: z.number().int(),
    replyJid: z.string().nullable().openapi({
      description:
        "Where replies go: the address the customer last wrote from (a LID or the phone JID); `chatJid` is the phone JID whenever it is known",
    }),
    createdAt: timestamp,
    status: conversationStatusModel,
    snoozedUntil: timestamp.nullable(),
    assignee: userRefModel.nullable(),
    firstResponseSeconds: z.number().int().nullable().openapi({
      description:
        "From the customer's first message waiting for an answer to the business's first reply after it (this cycle: a resolved conversation that reopens starts a new one)",
    }),
    resolutionSeconds: z.number().int().nullable().openapi({
      description: "From when the conversation (re)opened to its latest resolution",
    }),
    match: z.strictObject({ messageId: id, snippet: z.string() }).nullable().optional().openapi({
      description:
        "Only when searching (`q`): the latest message whose text matched, or null when the name or phone matched",
    }),
  })
  .openapi("Conversation");

export const messageModel = z
  .strictObject({
    id,
    businessId: id,
    conversationId: id,
    chatJid: z.string(),
    waMessageId: z.string(),
    fromMe: z.boolean(),
    kind: z.string(),
    text: z.string().nullable(),
    media: z
      .strictObject({
        mimetype: z.string().optional(),
        fileName: z.string().optional(),
        sizeBytes: z.number().int().optional(),
        voiceNote: z.boolean().optional(),
        seconds: z.number().int().optional(),
      })
      .nullable()
      .openapi({ description: "What the sender declared about the media" }),
    mediaStatus: z.enum(waMediaStatuses).nullable().openapi({
      description:
        "pending: being downloaded from WhatsApp; stored: at `mediaUrl`; expired: WhatsApp no longer has it; too_large; failed",
    }),
    mediaUrl: z.string().nullable().openapi({ description: "The file (with Range), once stored" }),
    mediaMimeType: z.string().nullable(),
    mediaSizeBytes: z.number().int().nullable(),
    mediaSha256: z.string().nullable().openapi({ description: "Hex SHA-256 of the stored file" }),
    status: z.enum(waMessageStatuses),
    statusUpdatedAt: timestamp.nullable(),
    sentAt: timestamp,
    idempotencyKey: z.string().nullable(),
    createdByUserId: id.nullable(),
    createdAt: timestamp,
  })
  .openapi("Message");

/** A stored message as the API shows it: the shard's media ref and the R2 key stay inside. */
export function messageView(row: typeof waMessages.$inferSelect) {
  const { mediaRef: _ref, mediaKey: _key, mediaError: _error, media, ...rest } = row;
  const declared = (media ?? null) as Record<string, unknown> | null;
  return {
    ...rest,
    media: declared
      ? {
          ...(typeof declared.mimetype === "string" ? { mimetype: declared.mimetype } : {}),
          ...(typeof declared.fileName === "string" ? { fileName: declared.fileName } : {}),
          ...(typeof declared.sizeBytes === "number" ? { sizeBytes: declared.sizeBytes } : {}),
          ...(declared.voiceNote === true ? { voiceNote: true } : {}),
          ...(typeof declared.seconds === "number" ? { seconds: declared.seconds } : {}),
        }
      : null,
    mediaUrl: row.mediaStatus === "stored" ? `/api/whatsapp/messages/${row.id}/media` : null,
  };
}

export const outboundModel = z
  .strictObject({
    id,
    businessId: id,
    leadId: id.nullable(),
    to: z.string(),
    text: z.string(),
    idempotencyKey: z.string(),
    origin: z.enum(waOutboundOrigins),
    originId: id.nullable(),
    status: z.enum(waOutboundStatuses),
    attempts: z.number().int(),
    waMessageId: z.string().nullable(),
    chatJid: z.string().nullable(),
    lastError: z.string().nullable(),
    createdByUserId: id.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
    sentAt: timestamp.nullable(),
    mediaKind: z.enum(mediaKinds).nullable(),
    mediaMimeType: z.string().nullable(),
    mediaSizeBytes: z.number().int().nullable(),
    mediaSha256: z.string().nullable(),
    mediaFileName: z.string().nullable(),
    voiceNote: z.boolean(),
  })
  .openapi("OutboundMessage");

export function outboundView(row: typeof waOutbound.$inferSelect) {
  const { mediaKey: _key, ...rest } = row;
  return rest;
}
