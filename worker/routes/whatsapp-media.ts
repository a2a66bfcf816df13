/**
 * WhatsApp media for the dashboard: a message's file (inbound downloads and our own attachments,
 * both in R2) served with Range, and sending a file into a conversation. Both are scoped to the
 * session's business: a message or conversation of another business is a 404.
 */
import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { businessIdOf } from "../auth/middleware";
import { jsonContent } from "../contract/content";
import { id } from "../contract/models/common";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { waMessages, waOutbound } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { idParam } from "../lib/schemas";
import { mediaUnavailable, outboundMediaKey, putMedia, SERVED_MEDIA_TYPES, serveMedia } from "../whatsapp/media";
import { ATTACHMENT_CONTENT_TYPES, MEDIA_MAX_BYTES, mediaKindOf, sizeRefusal } from "../whatsapp/media-limits";
import { queueOutgoingMessage } from "../whatsapp/outbound";
import { conversationOf } from "./whatsapp";

export const whatsappMediaRoutes = createRouter();

const binary = z.string().openapi({ format: "binary" });
const file = (description: string) => ({
  description,
  content: Object.fromEntries(SERVED_MEDIA_TYPES.map((type) => [type, { schema: binary }])),
});

const getMedia = apiRoute({
  method: "get",
  path: "/api/whatsapp/messages/{id}/media",
  tag: "WhatsApp",
  summary: "A message's media file (image, voice note, audio, video, document, sticker), with Range",
  description:
    "Images, audio and video are served inline with their own type (so `<img>`, `<audio>` and `<video>` play them and can seek); anything else, or any file with `download=1`, as an attachment. 409 while the file is still being downloaded from WhatsApp; 404 once it expired there.",
  auth: { permission: "whatsapp.read" },
  request: {
    params: idParam,
    query: z.strictObject({
      download: z.enum(["1", "0"]).optional().openapi({ description: "`1`: as a download (attachment)" }),
    }),
    headers: z.object({
      range: z.string().optional().openapi({ description: "`bytes=start-end`, `bytes=start-` or `bytes=-suffix`" }),
    }),
  },
  responses: {
    200: file("The whole file"),
    206: {
      ...file("The requested byte range"),
      headers: z.object({ "Content-Range": z.string().openapi({ example: "bytes 0-1023/48000" }) }),
    },
    416: {
      description: "The range lies outside the file",
      headers: z.object({ "Content-Range": z.string().openapi({ example: "bytes */48000" }) }),
    },
  },
  errors: ["not_found", "conflict"],
});

whatsappMediaRoutes.openapi(getMedia, async (c) => {
  const [message] = await c
    .get("db")()
    .select({
      mediaStatus: waMessages.mediaStatus,
      mediaKey: waMessages.mediaKey,
      mediaMimeType: waMessages.mediaMimeType,
      media: waMessages.media,
      kind: waMessages.kind,
    })
    .from(waMessages)
    .where(and(eq(waMessages.id, c.req.valid("param").id), eq(waMessages.businessId, businessIdOf(c))));
  if (!message) throw notFound("Message");
  if (message.mediaStatus !== "stored" || !message.mediaKey) throw mediaUnavailable(message.mediaStatus);
  const declared = (message.media ?? {}) as { fileName?: unknown };
  const fileName = typeof declared.fileName === "string" ? declared.fileName : `${message.kind}`;
  return serveMedia(c.env.MEDIA, message.mediaKey, {
    rangeHeader: c.req.header("range"),
    contentType: message.mediaMimeType,
    fileName,
    download: c.req.valid("query").download === "1",
  });
});

const flag = z.enum(["true", "false"]).optional();

const attachQuery = z.strictObject({
  caption: z.string().trim().max(1024).optional(),
  fileName: z
    .string()
    .trim()
    .min(1)
    .max(255)
    .refine(
      (v) => !/[/\\]/.test(v) && ![...v].some((ch) => ch.charCodeAt(0) < 0x20),
      "must be a file name, without slashes or control characters",
    )
    .optional(),
  clientMessageId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,64}$/, "must be 8-64 letters, digits, - or _")
    .optional(),
  asDocument: flag.openapi({ description: "`true`: send an image, video or audio as a document" }),
  voiceNote: flag.openapi({ description: "`true`: send audio as a voice note (push-to-talk)" }),
});

const attach = apiRoute({
  method: "post",
  path: "/api/whatsapp/conversations/{id}/media",
  tag: "WhatsApp",
  summary: "Send a file in a conversation (persisted in R2, then sent once through the throttle)",
  description: `The body is the file itself, with its own Content-Type; caption, file name and \`clientMessageId\` go in the query. The kind follows the type (JPEG/PNG images, WebP stickers, MP4/3GPP video, audio, anything else a document). WhatsApp's limits per kind: ${Object.entries(
    MEDIA_MAX_BYTES,
  )
    .map(([k, v]) => `${k} ${Math.round(v / 1024)} KB`)
    .join(
      ", ",
    )}; a larger file is a 413 naming the field \`file\`. The same \`clientMessageId\` sends one message, as for text replies.`,
  auth: { permission: "whatsapp.send" },
  request: {
    params: idParam,
    query: attachQuery,
    body: {
      required: true,
      description: "The file",
      content: Object.fromEntries(ATTACHMENT_CONTENT_TYPES.map((type) => [type, { schema: binary }])),
    },
  },
  responses: {
    202: jsonContent(
      z.strictObject({ outboundId: id, duplicate: z.boolean() }),
      "Accepted: the file is stored and the message queued",
    ),
  },
  errors: ["not_found"],
});

function tooLarge(message: string, kind: string, sizeBytes: number): ApiError {
  return new ApiError("payload_too_large", `Invalid file: ${message}`, {
    fields: [{ field: "file", message }],
    kind,
    sizeBytes,
    maxBytes: MEDIA_MAX_BYTES[kind as keyof typeof MEDIA_MAX_BYTES],
  });
}

whatsappMediaRoutes.openapi(attach, async (c) => {
  const conversation = await conversationOf(c, c.req.valid("param").id);
  const query = c.req.valid("query");
  const auth = c.get("auth");
  const db = c.get("db")();
  // The request policy admitted only ATTACHMENT_CONTENT_TYPES.
  const mimeType = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const kind = mediaKindOf(mimeType, query.asDocument === "true");
  if (query.voiceNote === "true" && kind !== "audio") {
    throw new ApiError("validation_failed", "Invalid query: voiceNote", {
      fields: [{ field: "voiceNote", message: `only audio can be a voice note; this file is sent as ${kind}` }],
    });
  }
  // Refused before a byte is read or stored when the declared size already says no.
  const declared = c.req.header("content-length");
  const declaredBytes = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : null;
  if (declaredBytes !== null) {
    const refusal = sizeRefusal(kind, declaredBytes);
    if (refusal) throw tooLarge(refusal, kind, declaredBytes);
  }
  const idempotencyKey = `reply:${auth.user.id}:${query.clientMessageId ?? crypto.randomUUID()}`;
  if (query.clientMessageId) {
    const [existing] = await db
      .select({ id: waOutbound.id })
      .from(waOutbound)
      .where(and(eq(waOutbound.businessId, conversation.businessId), eq(waOutbound.idempotencyKey, idempotencyKey)));
    if (existing) {
      await c.req.raw.body?.cancel();
      return c.json({ outboundId: existing.id, duplicate: true }, 202);
    }
  }

  let body: ReadableStream<Uint8Array> | ArrayBuffer;
  let sizeBytes: number;
  if (declaredBytes !== null && c.req.raw.body) {
    body = c.req.raw.body;
    sizeBytes = declaredBytes;
  } else {
    body = await c.req.arrayBuffer();
    sizeBytes = body.byteLength;
    const refusal = sizeRefusal(kind, sizeBytes);
    if (refusal) throw tooLarge(refusal, kind, sizeBytes);
  }
  const key = outboundMediaKey(conversation.businessId);
  const sha256 = await putMedia(c.env.MEDIA, key, body, sizeBytes, mimeType);
  const queued = await queueOutgoingMessage(db, c.env, {
    businessId: conversation.businessId,
    leadId: conversation.leadId,
    to: conversation.replyJid ?? conversation.chatJid,
    text: query.caption ?? "",
    idempotencyKey,
    origin: "reply",
    createdByUserId: auth.user.id,
    attachment: {
      key,
      kind,
      mimeType,
      sizeBytes,
      sha256,
      fileName: query.fileName ?? null,
      voiceNote: query.voiceNote === "true",
    },
  });
  // Two identical requests raced past the check above: the loser's copy is not needed.
  if (!queued.created) c.executionCtx.waitUntil(c.env.MEDIA.delete(key));
  return c.json({ outboundId: queued.outboundId, duplicate: !queued.created }, 202);
});
