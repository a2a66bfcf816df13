/**
 * Turns what Baileys hands us (WAMessage, message updates) into the edge's event contract. Pure
 * functions: the only place that knows both Baileys' message shapes and contracts/shard-events.ts.
 * Values are clamped to the contract's limits so a valid WhatsApp message never becomes an event
 * the edge would refuse forever (which would stall that business's outbox lane).
 */
import type { proto, WAMessage, WAMessageUpdate } from "@whiskeysockets/baileys";
import { type MessageStatus, messageEventId, type ShardEvent, statusEventId } from "../../../contracts/shard-events.js";

type UpsertEvent = Extract<ShardEvent, { type: "message.upsert" }>;
type StatusEvent = Extract<ShardEvent, { type: "message.status" }>;

const clamp = (value: string | null | undefined, max: number): string | undefined =>
  value ? value.slice(0, max) : undefined;

function toNumber(value: number | Long | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "number") return value;
  return Number(value.toString());
}

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

function describeContent(message: proto.IMessage | undefined): Pick<UpsertEvent, "kind" | "text" | "media"> {
  if (!message) return { kind: "other" };
  if (message.conversation) return { kind: "text", text: message.conversation };
  if (message.extendedTextMessage) return { kind: "text", text: message.extendedTextMessage.text ?? undefined };
  const media = (
    kind: UpsertEvent["kind"],
    m: { mimetype?: string | null; caption?: string | null; fileName?: string | null; fileLength?: unknown },
  ) => ({
    kind,
    text: m.caption ?? undefined,
    media: {
      mimetype: clamp(m.mimetype, 200),
      fileName: clamp(m.fileName, 500),
      sizeBytes: toNumber(m.fileLength as number | Long | null | undefined),
    },
  });
  if (message.imageMessage) return media("image", message.imageMessage);
  if (message.videoMessage) return media("video", message.videoMessage);
  if (message.audioMessage) return media("audio", message.audioMessage);
  if (message.documentMessage) return media("document", message.documentMessage);
  if (message.stickerMessage) return media("sticker", message.stickerMessage);
  if (message.locationMessage || message.liveLocationMessage) return { kind: "location" };
  if (message.contactMessage || message.contactsArrayMessage) return { kind: "contact" };
  if (message.reactionMessage) return { kind: "reaction", text: message.reactionMessage.text ?? undefined };
  return { kind: "other" };
}

function keyOf(
  key: proto.IMessageKey | null | undefined,
): { chatJid: string; messageId: string; fromMe: boolean; participantJid?: string } | undefined {
  if (!key?.remoteJid || !key.id) return undefined;
  return {
    chatJid: key.remoteJid.slice(0, 200),
    messageId: key.id.slice(0, 200),
    fromMe: !!key.fromMe,
    ...(key.participant ? { participantJid: key.participant.slice(0, 200) } : {}),
  };
}

export function messageUpsertToEvent(
  ctx: { businessId: number; shardId: number; now: Date },
  msg: WAMessage,
  upsertType: "notify" | "append",
): UpsertEvent | undefined {
  const key = keyOf(msg.key);
  if (!key) return undefined;
  const content = describeContent(unwrap(msg.message));
  const timestamp = toNumber(msg.messageTimestamp as number | Long | null | undefined);
  return {
    id: messageEventId(ctx.businessId, key),
    type: "message.upsert",
    businessId: ctx.businessId,
    shardId: ctx.shardId,
    occurredAt: ctx.now.toISOString(),
    upsertType,
    key,
    ...(msg.pushName ? { pushName: msg.pushName.slice(0, 200) } : {}),
    messageTimestamp: timestamp && timestamp > 0 ? Math.floor(timestamp) : Math.floor(ctx.now.getTime() / 1000),
    kind: content.kind,
    ...(content.text ? { text: content.text.slice(0, 65_536) } : {}),
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
