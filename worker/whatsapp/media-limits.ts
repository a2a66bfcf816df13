/**
 * What WhatsApp accepts as an attachment, in one home: the kinds, their MIME types and their size
 * limits (WhatsApp's published per-type limits: images 5 MB, audio and video 16 MB, documents
 * 100 MB, stickers 100 KB static / 500 KB animated — we take the animated ceiling). The upload
 * route's accepted content types (middleware/request-policy.ts) and its size check both read this.
 */
import type { MediaKind } from "../../contracts/shard-api";

const KB = 1024;
const MB = 1024 * KB;

export const MEDIA_MAX_BYTES: Record<MediaKind, number> = {
  image: 5 * MB,
  video: 16 * MB,
  audio: 16 * MB,
  document: 100 * MB,
  sticker: 500 * KB,
};

/** The kind a MIME type is sent as (a document unless WhatsApp plays or shows it inline). */
const KIND_BY_TYPE: Record<string, MediaKind> = {
  "image/jpeg": "image",
  "image/png": "image",
  "image/webp": "sticker",
  "video/mp4": "video",
  "video/3gpp": "video",
  "audio/aac": "audio",
  "audio/mp4": "audio",
  "audio/mpeg": "audio",
  "audio/amr": "audio",
  "audio/ogg": "audio",
  "audio/webm": "audio",
};

/** Document types the dashboard may attach; any other file goes as application/octet-stream. */
const DOCUMENT_TYPES = [
  "application/pdf",
  "application/msword",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.ms-excel",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/vnd.ms-powerpoint",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  "application/zip",
  // Not text/plain: a cross-site <form enctype="text/plain"> can send that without a preflight, so
  // no state-changing route takes it (middleware/request-policy.ts). A .txt goes as octet-stream.
  "text/csv",
  "application/octet-stream",
];

/** Every content type the attachment route accepts (lower case, no parameters). */
export const ATTACHMENT_CONTENT_TYPES: readonly string[] = [...Object.keys(KIND_BY_TYPE), ...DOCUMENT_TYPES];

/** The largest attachment of any kind: the route's body limit. */
export const ATTACHMENT_MAX_BYTES = Math.max(...Object.values(MEDIA_MAX_BYTES));

export function mediaKindOf(mimeType: string, asDocument = false): MediaKind {
  if (asDocument) return "document";
  return KIND_BY_TYPE[mimeType] ?? "document";
}

export function formatBytes(bytes: number): string {
  if (bytes >= MB) return `${Math.round((bytes / MB) * 10) / 10} MB`;
  if (bytes >= KB) return `${Math.round((bytes / KB) * 10) / 10} KB`;
  return `${bytes} bytes`;
}

/** Why a file of this kind and size cannot go to WhatsApp, or null when it can. */
export function sizeRefusal(kind: MediaKind, sizeBytes: number): string | null {
  const max = MEDIA_MAX_BYTES[kind];
  if (sizeBytes === 0) return "the file is empty";
  return sizeBytes > max
    ? `WhatsApp takes ${kind} files of at most ${formatBytes(max)}; this one is ${formatBytes(sizeBytes)}`
    : null;
}
