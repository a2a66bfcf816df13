/**
 * The media reference a shard puts on a media message's event (`media.ref`): enough of the
 * WhatsApp message to download its media later — the key (for a re-upload request to the phone)
 * and the media fields (CDN path, media key, hashes) — encoded as a protobuf WebMessageInfo.
 *
 * It travels with the event rather than staying in the shard's store, so any shard holding the
 * business (after a move, after a wiped volume) can download it, and nothing about it has to be
 * kept on the shard's disk. The media key only decrypts this one file from WhatsApp's CDN. It is
 * opaque to the edge, which stores it apart from what the dashboard sees.
 */
import { proto, type WAMessage } from "@whiskeysockets/baileys";

const PREFIX = "m1.";

type MediaField = "imageMessage" | "videoMessage" | "audioMessage" | "documentMessage" | "stickerMessage";
const MEDIA_FIELDS: readonly MediaField[] = [
  "imageMessage",
  "videoMessage",
  "audioMessage",
  "documentMessage",
  "stickerMessage",
];

interface MediaFields {
  url?: string | null;
  directPath?: string | null;
  mediaKey?: Uint8Array | null;
  fileEncSha256?: Uint8Array | null;
  fileSha256?: Uint8Array | null;
  fileLength?: unknown;
  mimetype?: string | null;
}

/** The ref of a media message (already unwrapped from ephemeral/view-once containers), or undefined. */
export function encodeMediaRef(key: WAMessage["key"], content: proto.IMessage): string | undefined {
  const field = MEDIA_FIELDS.find((f) => content[f]);
  if (!field) return undefined;
  const media = content[field] as MediaFields;
  if (!media.mediaKey || (!media.url && !media.directPath)) return undefined;
  const slim: MediaFields = {
    url: media.url,
    directPath: media.directPath,
    mediaKey: media.mediaKey,
    fileEncSha256: media.fileEncSha256,
    fileSha256: media.fileSha256,
    mimetype: media.mimetype,
  };
  const info = proto.WebMessageInfo.encode({
    key: { remoteJid: key.remoteJid, id: key.id, fromMe: key.fromMe, participant: key.participant },
    message: { [field]: slim },
  }).finish();
  return PREFIX + Buffer.from(info).toString("base64url");
}

/** The message a ref stands for (for Baileys' downloadMediaMessage), or null when it is not one. */
export function decodeMediaRef(ref: string): WAMessage | null {
  if (!ref.startsWith(PREFIX)) return null;
  try {
    const info = proto.WebMessageInfo.decode(Buffer.from(ref.slice(PREFIX.length), "base64url"));
    const message = info.message ?? undefined;
    if (!info.key?.remoteJid || !message || !MEDIA_FIELDS.some((f) => message[f])) return null;
    return { key: info.key, message } as WAMessage;
  } catch {
    return null;
  }
}

/** The media fields of a decoded ref's message. */
export function mediaOf(message: WAMessage): MediaFields | undefined {
  const content = message.message;
  if (!content) return undefined;
  const field = MEDIA_FIELDS.find((f) => content[f]);
  return field ? (content[field] as MediaFields) : undefined;
}
