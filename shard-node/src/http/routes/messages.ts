import { createHash } from "node:crypto";
import { Hono } from "hono";
import {
  decodeHeaderJson,
  MEDIA_SHA256_HEADER,
  mediaDownloadRequest,
  SEND_MEDIA_HEADER,
  type SendMessageResponse,
  sendMediaRequest,
  sendMessageRequest,
} from "../../../../contracts/shard-api.js";
import { ShardError, validationError } from "../../errors.js";
import type { SessionManager } from "../../sessions/manager.js";
import { businessIdOf, readJson } from "../validate.js";

export function messageRoutes(manager: SessionManager): Hono {
  const app = new Hono();
  app.post("/:businessId/messages", async (c) => {
    const businessId = businessIdOf(c);
    const body = await readJson(c, sendMessageRequest);
    const result: SendMessageResponse = await manager.send(businessId, body);
    return c.json(result, result.replayed ? 200 : 201);
  });

  /**
   * A media send: the body is the file, its description is the X-Send-Media header (base64url
   * JSON). The bytes must match the declared size and SHA-256, so a cut-off upload is refused
   * rather than sent.
   */
  app.post("/:businessId/media-messages", async (c) => {
    const businessId = businessIdOf(c);
    const header = c.req.header(SEND_MEDIA_HEADER);
    let meta: unknown;
    try {
      meta = header ? decodeHeaderJson(header) : undefined;
    } catch {
      throw new ShardError("invalid_json", `${SEND_MEDIA_HEADER} is not base64url JSON`);
    }
    const parsed = sendMediaRequest.safeParse(meta ?? {});
    if (!parsed.success) throw validationError(parsed.error, "body");
    const input = parsed.data;
    const bytes = Buffer.from(await c.req.arrayBuffer());
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (bytes.length !== input.sizeBytes || sha256 !== input.sha256) {
      throw new ShardError("validation_failed", "Invalid body: the file does not match sizeBytes and sha256", {
        fields: [{ field: "body", message: `got ${bytes.length} bytes with SHA-256 ${sha256}` }],
      });
    }
    const result: SendMessageResponse = await manager.sendMedia(businessId, {
      to: input.to,
      idempotencyKey: input.idempotencyKey,
      ...(input.fencingToken !== undefined ? { fencingToken: input.fencingToken } : {}),
      sha256,
      media: {
        kind: input.kind,
        mimetype: input.mimetype,
        bytes,
        ...(input.fileName !== undefined ? { fileName: input.fileName } : {}),
        ...(input.caption !== undefined ? { caption: input.caption } : {}),
        ...(input.voiceNote !== undefined ? { voiceNote: input.voiceNote } : {}),
      },
    });
    return c.json(result, result.replayed ? 200 : 201);
  });

  /** The media of a message, downloaded from WhatsApp now, straight back in the answer (never written to disk). */
  app.post("/:businessId/media/download", async (c) => {
    const businessId = businessIdOf(c);
    const { ref } = await readJson(c, mediaDownloadRequest);
    const media = await manager.downloadMedia(businessId, ref);
    const sha256 = createHash("sha256").update(media.bytes).digest("hex");
    return c.body(new Uint8Array(media.bytes), 200, {
      "content-type": media.mimetype ?? "application/octet-stream",
      "content-length": String(media.bytes.length),
      [MEDIA_SHA256_HEADER]: sha256,
    });
  });
  return app;
}
