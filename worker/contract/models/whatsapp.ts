/** WhatsApp response models: the session on its shard, the send pause, and the inbox. */
import { z } from "@hono/zod-openapi";
import { sessionInfo } from "../../../contracts/shard-api";
import { waMessageStatuses, waOutboundOrigins, waOutboundStatuses } from "../../db/schema";
import { id, timestamp } from "./common";

/** The live session as the shard reports it (QR and pairing code only for whatsapp.manage). */
export const sessionModel = z.strictObject(sessionInfo.shape).openapi("WhatsAppSession");

/** When the shard could not be asked: its error code instead of the session. */
export const sessionUnavailableModel = z.strictObject({ error: z.string() });

export const sendStateModel = z
  .strictObject({
    paused: z.boolean(),
    pausedReason: z.string().nullable(),
    pausedAt: z.string().nullable(),
    sentToday: z.number().int(),
    day: z.string().nullable(),
  })
  .openapi("WhatsAppSendState");

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
    createdAt: timestamp,
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
    media: z.unknown().nullable(),
    status: z.enum(waMessageStatuses),
    statusUpdatedAt: timestamp.nullable(),
    sentAt: timestamp,
    idempotencyKey: z.string().nullable(),
    createdByUserId: id.nullable(),
    createdAt: timestamp,
  })
  .openapi("Message");

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
  })
  .openapi("OutboundMessage");
