/**
 * Attachments as the API takes them: the limits and accepted types come from the Worker's own
 * table (worker/whatsapp/media-limits.ts), so the dashboard refuses what the API would, before
 * uploading, with the same numbers.
 */
import {
  ATTACHMENT_CONTENT_TYPES,
  formatBytes,
  MEDIA_MAX_BYTES,
  mediaKindOf,
} from "../../../../worker/whatsapp/media-limits";

export { formatBytes };

/** The Content-Type to upload a file as: its own when the API takes it, else a generic document. */
export function uploadTypeOf(file: File): string {
  const type = file.type.toLowerCase();
  return ATTACHMENT_CONTENT_TYPES.includes(type) ? type : "application/octet-stream";
}

/** The kind the file will be sent as, and its limit. */
export function attachmentLimit(file: File): { kind: keyof typeof MEDIA_MAX_BYTES; maxBytes: number } {
  const kind = mediaKindOf(uploadTypeOf(file));
  return { kind, maxBytes: MEDIA_MAX_BYTES[kind] };
}
