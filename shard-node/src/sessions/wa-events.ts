/**
 * Turns what Baileys hands us (WAMessage, message updates) into the edge's event contract. Pure
 * functions: the only place that knows both Baileys' message shapes and contracts/shard-events.ts.
 * Text and numbers go through contracts/storable.ts — the same boundary the edge's schema applies —
 * so a valid WhatsApp message (a NUL in a caption, a `fileLength` of 2^60) becomes an event the
 * edge can store, rather than one it would have to quarantine.
 */
import type { proto, WAMessage, WAMessageUpdate } from "@whiskeysockets/baileys";
import {
  lidMappingEventId,
  type MessageStatus,
  messageEventId,
  type ShardEvent,
  statusEventId,
} from "../../../contracts/shard-events.js";
import { boundedCount, boundedUnixSeconds, cleanOptionalText } from "../../../contracts/storable.js";
import { encodeMediaRef } from "./media-ref.js";

type UpsertEvent = Extract<ShardEvent, { type: "message.upsert" }>;
type StatusEvent = Extract<ShardEvent, { type: "message.status" }>;
type LidMappingEvent = Extract<ShardEvent, { type: "contact.lid_mapping" }>;

const clamp = cleanOptionalText;

function toNumber(value: number | Long | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "number") return value;
  return Number(value.toString());
}

const TEXT_MAX = 65_536;

interface Long {
  toString(): string;
}

/** Baileys' WebMessageInfo.Status: ERROR=0, PENDING=1, SERVER_ACK=2, DELIVERY_ACK=3, READ=4, PLAYED=5. */
const STATUS_BY_CODE: Record<number, MessageStatus> = {
  0: "failed",
  1: "pending",
  2: "sent",
  3: "delivered",
  4: "read",
  5: "played",
};

/** Unwraps the containers WhatsApp puts around real content (ephemeral, view-once, edits). */
function unwrap(message: proto.IMessage | null | undefined): proto.IMessage | undefined {
  let m = message ?? undefined;
  for (let i = 0; i < 5 && m; i++) {
    const inner =
      m.ephemeralMessage?.message ??
      m.viewOnceMessage?.message ??
      m.viewOnceMessageV2?.message ??
      m.documentWithCaptionMessage?.message ??
      m.editedMessage?.message;
    if (!inner) break;
    m = inner;
  }
  return m;
}

function describeContent(
  message: proto.IMessage | undefined,
  key: WAMessage["key"],
): Pick<UpsertEvent, "kind" | "text" | "media"> {
  if (!message) return { kind: "other" };
  if (message.conversation) return { kind: "text", text: clamp(message.conversation, TEXT_MAX) };
  if (message.extendedTextMessage) return { kind: "text", text: clamp(message.extendedTextMessage.text, TEXT_MAX) };
  const media = (
    kind: UpsertEvent["kind"],
    m: {
      mimetype?: string | null;
      caption?: string | null;
      fileName?: string | null;
      fileLength?: unknown;
      seconds?: number | null;
      ptt?: boolean | null;
    },
  ) => {
    const ref = encodeMediaRef(key, message);
    return {
      kind,
      text: clamp(m.caption, TEXT_MAX),
      media: {
        mimetype: clamp(m.mimetype, 200),
        fileName: clamp(m.fileName, 500),
        // Sender-controlled: above 2^53 it is not a byte count anyone can use, so it is dropped.
        sizeBytes: boundedCount(toNumber(m.fileLength as number | Long | null | undefined)),
        ...(ref ? { ref } : {}),
        ...(m.ptt ? { voiceNote: true } : {}),
        ...(boundedCount(m.seconds) !== undefined ? { seconds: m.seconds as number } : {}),
      },
    };
  };
  if (message.imageMessage) return media("image", message.imageMessage);
  if (message.videoMessage) return media("video", message.videoMessage);
  if (message.audioMessage) return media("audio", message.audioMessage);
  if (message.documentMessage) return media("document", message.documentMessage);
  if (message.stickerMessage) return media("sticker", message.stickerMessage);
  if (message.locationMessage || message.liveLocationMessage) return { kind: "location" };
  if (message.contactMessage || message.contactsArrayMessage) return { kind: "contact" };
  if (message.reactionMessage) return { kind: "reaction", text: clamp(message.reactionMessage.text, TEXT_MAX) };
  return { kind: "other" };
}

type KeyWithAlt = proto.IMessageKey & { remoteJidAlt?: string | null; participantAlt?: string | null };

function keyOf(key: KeyWithAlt | null | undefined): UpsertEvent["key"] | undefined {
  const chatJid = clamp(key?.remoteJid, 200);
  const messageId = clamp(key?.id, 200);
  if (!chatJid || chatJid.length < 3 || !messageId) return undefined;
  const participantJid = clamp(key?.participant, 200);
  const chatJidAlt = clamp(key?.remoteJidAlt, 200);
  const participantJidAlt = clamp(key?.participantAlt, 200);
  return {
    chatJid,
    messageId,
    fromMe: !!key?.fromMe,
    ...(participantJid && participantJid.length >= 3 ? { participantJid } : {}),
    ...(chatJidAlt && chatJidAlt.length >= 3 && chatJidAlt !== chatJid ? { chatJidAlt } : {}),
    ...(participantJidAlt && participantJidAlt.length >= 3 ? { participantJidAlt } : {}),
  };
}

export function messageUpsertToEvent(
  ctx: { businessId: number; shardId: number; now: Date },
  msg: WAMessage,
  upsertType: "notify" | "append",
): UpsertEvent | undefined {
  const key = keyOf(msg.key);
  if (!key) return undefined;
  const content = describeContent(unwrap(msg.message), msg.key);
  const timestamp = boundedUnixSeconds(toNumber(msg.messageTimestamp as number | Long | null | undefined));
  const pushName = clamp(msg.pushName, 200);
  return {
    id: messageEventId(ctx.businessId, key),
    type: "message.upsert",
    businessId: ctx.businessId,
    shardId: ctx.shardId,
    occurredAt: ctx.now.toISOString(),
    upsertType,
    key,
    ...(pushName ? { pushName } : {}),
    messageTimestamp: timestamp ?? Math.floor(ctx.now.getTime() / 1000),
    kind: content.kind,
    ...(content.text ? { text: content.text } : {}),
    ...(content.media ? { media: content.media } : {}),
  };
}

export function messageUpdateToEvent(
  ctx: { businessId: number; shardId: number; now: Date },
  update: WAMessageUpdate,
): StatusEvent | undefined {
  const key = keyOf(update.key);
  const code = update.update.status;
  if (!key || code === null || code === undefined) return undefined;
  const status = STATUS_BY_CODE[code];
  if (!status) return undefined;
  return {
    id: statusEventId(ctx.businessId, key, status),
    type: "message.status",
    businessId: ctx.businessId,
    shardId: ctx.shardId,
    occurredAt: ctx.now.toISOString(),
    key,
    status,
  };
}

/** A LID ↔ phone pair WhatsApp told us about; the ids are normalised (no device suffix). */
export function lidMappingToEvent(
  ctx: { businessId: number; shardId: number; now: Date },
  mapping: { lid: string; pn: string },
): LidMappingEvent | undefined {
  const lid = normaliseUserJid(mapping.lid, "lid");
  const pn = normaliseUserJid(mapping.pn, "s.whatsapp.net");
  if (!lid || !pn) return undefined;
  return {
    id: lidMappingEventId(ctx.businessId, lid, pn),
    type: "contact.lid_mapping",
    businessId: ctx.businessId,
    shardId: ctx.shardId,
    occurredAt: ctx.now.toISOString(),
    lid,
    pn,
  };
}

/** `123:4@lid` → `123@lid`; a bare user part gets the server; anything else is undefined. */
export function normaliseUserJid(jid: string | null | undefined, server: "lid" | "s.whatsapp.net"): string | undefined {
  if (!jid) return undefined;
  const match = /^(\d{1,30})(?::\d+)?(?:@(lid|s\.whatsapp\.net))?$/.exec(jid);
  if (!match || (match[2] && match[2] !== server)) return undefined;
  return `${match[1]}@${server}`;
}
