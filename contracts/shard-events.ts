/**
 * Events a shard node forwards to the edge at `POST /internal/shards/events`.
 *
 * A delivery is a JSON body `{ events: ShardEvent[] }` (one or more, in order for each business),
 * signed as described in ./shard-signing.ts. The edge answers 2xx only after it has stored every
 * event in the body; anything else means "send it all again", so the edge dedupes on `id`.
 */
import { z } from "zod";

/** WhatsApp JIDs look like `972501234567@s.whatsapp.net` or `1203...@g.us`. */
const jid = z.string().min(3).max(200);

const messageKey = z.object({
  chatJid: jid,
  messageId: z.string().min(1).max(200),
  fromMe: z.boolean(),
  /** Sender inside a group chat; absent in one-to-one chats. */
  participantJid: jid.optional(),
});
export type MessageKey = z.infer<typeof messageKey>;

/**
 * The stable id of a message event: the edge dedupes on it. Same message → same id, whichever
 * shard or retry delivers it.
 */
export function messageEventId(businessId: number, key: Pick<MessageKey, "chatJid" | "messageId" | "fromMe">): string {
  return `msg:${businessId}:${key.chatJid}:${key.messageId}:${key.fromMe ? 1 : 0}`;
}

export function statusEventId(
  businessId: number,
  key: Pick<MessageKey, "chatJid" | "messageId" | "fromMe">,
  status: MessageStatus,
): string {
  return `status:${businessId}:${key.chatJid}:${key.messageId}:${key.fromMe ? 1 : 0}:${status}`;
}

export const messageStatuses = ["pending", "sent", "delivered", "read", "played", "failed"] as const;
export type MessageStatus = (typeof messageStatuses)[number];

export const connectionStates = ["connecting", "qr", "open", "closed", "logged_out"] as const;
export type ConnectionState = (typeof connectionStates)[number];

const base = {
  /** Stable id for dedupe (see messageEventId / statusEventId); connection events use a uuid. */
  id: z.string().min(1).max(500),
  businessId: z.number().int().positive(),
  shardId: z.number().int().positive(),
  /** When the shard observed it (ISO 8601). */
  occurredAt: z.iso.datetime({ offset: true }),
};

export const messageUpsertEvent = z.object({
  ...base,
  type: z.literal("message.upsert"),
  /** Baileys' upsert type: "notify" for live messages, "append" for history/sync and messages queued while offline. Both are stored. */
  upsertType: z.enum(["notify", "append"]),
  key: messageKey,
  pushName: z.string().max(200).optional(),
  /** Unix seconds, from the message itself. */
  messageTimestamp: z.number().int().nonnegative(),
  kind: z.enum(["text", "image", "video", "audio", "document", "sticker", "location", "contact", "reaction", "other"]),
  text: z.string().max(65_536).optional(),
  media: z
    .object({
      mimetype: z.string().max(200).optional(),
      fileName: z.string().max(500).optional(),
      sizeBytes: z.number().int().nonnegative().optional(),
      /** Opaque reference the shard can resolve to download the media later. */
      ref: z.string().max(2000).optional(),
    })
    .optional(),
});

export const messageStatusEvent = z.object({
  ...base,
  type: z.literal("message.status"),
  key: messageKey,
  status: z.enum(messageStatuses),
});

export const connectionUpdateEvent = z.object({
  ...base,
  type: z.literal("connection.update"),
  state: z.enum(connectionStates),
  /** Why the state changed, e.g. "logged out (401)", "restart required (515)". */
  reason: z.string().max(500).optional(),
  /** Disconnect status code when the state is closed/logged_out. */
  statusCode: z.number().int().optional(),
  /** The phone number (E.164 digits) the session is paired to, once open. */
  phoneNumber: z.string().max(32).optional(),
});

export const shardEvent = z.discriminatedUnion("type", [messageUpsertEvent, messageStatusEvent, connectionUpdateEvent]);
export type ShardEvent = z.infer<typeof shardEvent>;

export const shardEventDelivery = z.object({ events: z.array(shardEvent).min(1).max(500) });
export type ShardEventDelivery = z.infer<typeof shardEventDelivery>;
