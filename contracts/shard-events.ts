/**
 * Events a shard node forwards to the edge at `POST /internal/shards/events`.
 *
 * A delivery is a JSON body `{ events: ShardEvent[] }` (one or more, in order for each business),
 * signed as described in ./shard-signing.ts. The edge checks each event on its own: it stores what
 * it can apply (each event once, by `id`), quarantines what it cannot (with the reason) and answers
 * 2xx for the delivery, so one bad event never holds back the events behind it. Anything but 2xx
 * means "send it all again".
 *
 * Sender-controlled text and numbers are cleaned and bounded by ./storable.ts, on both sides.
 */
import { z } from "zod";
import { boundedCode, boundedCount, boundedUnixSeconds, cleanText, MAX_UNIX_SECONDS, PG_INT_MAX } from "./storable.js";

/** A string cleaned to what Postgres stores (no NUL, no lone surrogate) and cut to `max`. */
const storableText = (max: number) => z.string().transform((v) => cleanText(v, max));
/** An optional number kept only when it is within bounds; anything else is dropped, not refused. */
const dropUnless = (bound: (v: unknown) => number | undefined) =>
  z.unknown().transform((v): number | undefined => bound(v));

/** WhatsApp JIDs look like `972501234567@s.whatsapp.net` or `1203...@g.us`. */
const jid = storableText(200).pipe(z.string().min(3));

const messageKey = z.object({
  chatJid: jid,
  messageId: storableText(200).pipe(z.string().min(1)),
  fromMe: z.boolean(),
  /** Sender inside a group chat; absent in one-to-one chats. */
  participantJid: jid.optional(),
  /**
   * The same chat's other address, when the shard knows it: WhatsApp addresses a person either by
   * phone (`…@s.whatsapp.net`) or by a hidden LID (`…@lid`), and may switch mid-conversation. The
   * edge keys a customer's conversation by the phone JID whichever one a message carries.
   */
  chatJidAlt: jid.optional(),
  /** The group sender's other address (phone or LID), when known. */
  participantJidAlt: jid.optional(),
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

/** The one list of message statuses (wa_messages.status uses it too). */
export const messageStatuses = ["pending", "sent", "delivered", "read", "played", "failed"] as const;
export type MessageStatus = (typeof messageStatuses)[number];

/**
 * How far along each status is: an update never moves a message backwards (read stays read when a
 * late "delivered" arrives), and "failed" only replaces a status below "delivered".
 */
export const messageStatusRank: Record<MessageStatus, number> = {
  failed: -1,
  pending: 0,
  sent: 1,
  delivered: 2,
  read: 3,
  played: 4,
};

export const connectionStates = ["connecting", "qr", "open", "closed", "logged_out"] as const;
export type ConnectionState = (typeof connectionStates)[number];

const base = {
  /** Stable id for dedupe (see messageEventId / statusEventId); connection events use a uuid. */
  id: storableText(500).pipe(z.string().min(1)),
  /** A Postgres integer: a larger id cannot name a business. */
  businessId: z.number().int().positive().max(PG_INT_MAX),
  shardId: z.number().int().positive().max(PG_INT_MAX),
  /** The fencing token the shard holds for this business's session, when it was started with one. */
  fencingToken: dropUnless(boundedCount).optional(),
  /** When the shard observed it (ISO 8601), within what a timestamp column holds. */
  occurredAt: z.iso
    .datetime({ offset: true })
    .refine((v) => Date.parse(v) > 0 && Date.parse(v) <= MAX_UNIX_SECONDS * 1000, "out of range"),
};

export const messageUpsertEvent = z.object({
  ...base,
  type: z.literal("message.upsert"),
  /** Baileys' upsert type: "notify" for live messages, "append" for history/sync and messages queued while offline. Both are stored. */
  upsertType: z.enum(["notify", "append"]),
  key: messageKey,
  pushName: storableText(200).optional(),
  /** Unix seconds, from the message itself; dropped when out of range (the edge then uses occurredAt). */
  messageTimestamp: dropUnless(boundedUnixSeconds).optional(),
  kind: z.enum(["text", "image", "video", "audio", "document", "sticker", "location", "contact", "reaction", "other"]),
  text: storableText(65_536).optional(),
  media: z
    .object({
      mimetype: storableText(200).optional(),
      fileName: storableText(500).optional(),
      /** WhatsApp's `fileLength` is sender-controlled: kept only when it is a safe integer. */
      sizeBytes: dropUnless(boundedCount).optional(),
      /** Opaque reference the shard can resolve to download the media later (POST /sessions/:id/media/download). */
      ref: storableText(4000).optional(),
      /** A voice note (push-to-talk audio), not an audio file. */
      voiceNote: z.boolean().optional(),
      /** Duration of audio and video, in seconds, as the sender declared it. */
      seconds: dropUnless(boundedCount).optional(),
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
  reason: storableText(500).optional(),
  /** Disconnect status code when the state is closed/logged_out. */
  statusCode: dropUnless(boundedCode).optional(),
  /** The phone number (E.164 digits) the session is paired to, once open. */
  phoneNumber: storableText(32).optional(),
});

/** WhatsApp told the shard that a LID and a phone JID are the same person (Baileys' `lid-mapping.update`). */
export const lidMappingEvent = z.object({
  ...base,
  type: z.literal("contact.lid_mapping"),
  /** `…@lid` */
  lid: jid.pipe(z.string().regex(/@lid$/, "must be a …@lid JID")),
  /** `…@s.whatsapp.net` */
  pn: jid.pipe(z.string().regex(/@s\.whatsapp\.net$/, "must be a …@s.whatsapp.net JID")),
});

export function lidMappingEventId(businessId: number, lid: string, pn: string): string {
  return `lid:${businessId}:${lid}:${pn}`;
}

export const shardEvent = z.discriminatedUnion("type", [
  messageUpsertEvent,
  messageStatusEvent,
  connectionUpdateEvent,
  lidMappingEvent,
]);
export type ShardEvent = z.infer<typeof shardEvent>;

/**
 * The envelope only: each event is checked on its own (`shardEvent`), so one malformed event is
 * quarantined instead of refusing the whole delivery.
 */
export const shardEventDelivery = z.object({ events: z.array(z.unknown()).min(1).max(500) });
export type ShardEventDelivery = z.infer<typeof shardEventDelivery>;
