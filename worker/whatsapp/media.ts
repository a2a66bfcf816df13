/**
 * WhatsApp media in R2 (the MEDIA bucket): one home for its keys, for storing a stream with its
 * SHA-256, for the media queue's download job, and for serving a file to the dashboard with Range.
 *
 * Inbound: ingest stores a media message as `pending` with the shard's ref and queues
 * `whatsapp.media_download`. The job asks the business's shard to download the file from WhatsApp
 * (the shard holds it in memory only) and streams the answer into R2, hashing it on the way. A
 * failure is retried by the queue with backoff; WhatsApp no longer having the file (expired) is
 * final and marked so; retries spent → `failed` (dead-letter hook). A sweep re-queues downloads
 * whose queue message was lost. Every step is idempotent: only a `pending` row changes.
 */
import { and, eq, lt, sql } from "drizzle-orm";
import { MEDIA_SHA256_HEADER } from "../../contracts/shard-api";
import type { Database } from "../db/client";
import { waMessages } from "../db/schema";
import type { Env } from "../env";
import { ApiError, notFound } from "../errors";
import { log } from "../lib/log";
import { publishLive } from "../live/publish";
import type { JobHandler } from "../queues/handler";
import { enqueueBatch } from "../queues/producer";
import { businessShard } from "./business-shard";
import { ATTACHMENT_CONTENT_TYPES } from "./media-limits";
import { ShardError } from "./shard-client";

export function inboundMediaKey(businessId: number, messageId: number): string {
  return `wa/${businessId}/in/${messageId}`;
}

export function outboundMediaKey(businessId: number): string {
  return `wa/${businessId}/out/${crypto.randomUUID()}`;
}

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Streams `body` (exactly `length` bytes) into R2 under `key` and returns its hex SHA-256,
 * computed on the way (no copy of the file is ever held whole in the Worker's memory).
 */
export async function putMedia(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array> | ArrayBuffer,
  length: number,
  contentType: string,
): Promise<string> {
  if (body instanceof ArrayBuffer) {
    await bucket.put(key, body, { httpMetadata: { contentType } });
    return hex(await crypto.subtle.digest("SHA-256", body));
  }
  const [toBucket, toHash] = body.tee();
  const digest = new crypto.DigestStream("SHA-256");
  const hashing = toHash.pipeTo(digest);
  // R2 needs the length of a streamed body up front; FixedLengthStream also refuses a short one.
  const fixed = new FixedLengthStream(length);
  const copying = toBucket.pipeTo(fixed.writable);
  await Promise.all([bucket.put(key, fixed.readable, { httpMetadata: { contentType } }), copying, hashing]);
  return hex(await digest.digest);
}

type MediaRow = Pick<
  typeof waMessages.$inferSelect,
  "id" | "businessId" | "chatJid" | "mediaStatus" | "mediaRef" | "mediaMimeType"
>;

/** Moves a still-pending row to its final media state (a later or concurrent job changes nothing). */
async function settle(db: Database, env: Env, row: MediaRow, set: Partial<typeof waMessages.$inferInsert>) {
  const [done] = await db
    .update(waMessages)
    .set(set)
    .where(and(eq(waMessages.id, row.id), eq(waMessages.mediaStatus, "pending")))
    .returning({ id: waMessages.id });
  if (done) await publishLive(env, row.businessId, { type: "inbox", chatJids: [row.chatJid] });
}

export const whatsappMediaDownload: JobHandler<"whatsapp.media_download"> = async (job, { db: getDb, env, config }) => {
  const db = getDb();
  const [row] = await db
    .select({
      id: waMessages.id,
      businessId: waMessages.businessId,
      chatJid: waMessages.chatJid,
      mediaStatus: waMessages.mediaStatus,
      mediaRef: waMessages.mediaRef,
      mediaMimeType: waMessages.mediaMimeType,
    })
    .from(waMessages)
    .where(eq(waMessages.id, job.messageId));
  // Gone, already stored or settled (a redelivered or swept job): nothing to do.
  if (row?.mediaStatus !== "pending" || !row.mediaRef) return undefined;

  const shard = await businessShard(db, env, config, row.businessId);
  if (shard.move) return { retryAfterSeconds: 60, reason: `shard move to ${shard.move.to} in progress` };
  let res: Response;
  try {
    res = await shard.client.downloadMedia(row.businessId, row.mediaRef);
  } catch (err) {
    if (err instanceof ShardError && err.code === "media_expired") {
      await settle(db, env, row, { mediaStatus: "expired", mediaError: err.message, mediaRef: null });
      return undefined;
    }
    if (err instanceof ShardError && err.code === "media_too_large") {
      await settle(db, env, row, { mediaStatus: "too_large", mediaError: err.message });
      return undefined;
    }
    // Anything else (shard down, session not open, WhatsApp's CDN failing) is worth retrying:
    // the queue backs off, and once its retries are spent the dead-letter hook marks it failed.
    await db
      .update(waMessages)
      .set({ mediaError: err instanceof Error ? err.message.slice(0, 500) : String(err) })
      .where(and(eq(waMessages.id, row.id), eq(waMessages.mediaStatus, "pending")));
    throw err;
  }
  const length = Number(res.headers.get("content-length"));
  if (!res.body || !Number.isSafeInteger(length) || length <= 0) {
    await res.body?.cancel();
    throw new Error("the shard's media answer has no usable Content-Length");
  }
  const contentType = res.headers.get("content-type") ?? row.mediaMimeType ?? "application/octet-stream";
  const key = inboundMediaKey(row.businessId, row.id);
  const sha256 = await putMedia(env.MEDIA, key, res.body, length, contentType);
  const expected = res.headers.get(MEDIA_SHA256_HEADER);
  if (expected && expected !== sha256) throw new Error(`media hash mismatch: shard said ${expected}, got ${sha256}`);
  await settle(db, env, row, {
    mediaStatus: "stored",
    mediaKey: key,
    mediaMimeType: contentType,
    mediaSizeBytes: length,
    mediaSha256: sha256,
    mediaError: null,
  });
  log.info("whatsapp media stored", { businessId: row.businessId, messageId: row.id, bytes: length });
  return undefined;
};

/** Retries spent: the download failed for good, with the last reason. */
export async function whatsappMediaDownloadDeadLettered(db: Database, messageId: number, reason: string) {
  await db
    .update(waMessages)
    .set({ mediaStatus: "failed", mediaError: sql`coalesce(${waMessages.mediaError}, ${reason})` })
    .where(and(eq(waMessages.id, messageId), eq(waMessages.mediaStatus, "pending")));
}

/** Downloads still pending long after they were stored lost their queue message: queue them again. */
export const whatsappMediaSweep: JobHandler<"whatsapp.media_sweep"> = async (job, { db, env }) => {
  const rows = await db()
    .select({ id: waMessages.id })
    .from(waMessages)
    .where(
      and(
        eq(waMessages.mediaStatus, "pending"),
        lt(waMessages.createdAt, sql`now() - make_interval(mins => ${job.olderThanMinutes})`),
      ),
    )
    .orderBy(waMessages.createdAt)
    .limit(500);
  await enqueueBatch(
    env,
    "whatsapp.media_download",
    rows.map((r) => ({ type: "whatsapp.media_download" as const, messageId: r.id })),
  );
  return undefined;
};

/** Types a browser may show inline from our origin; anything else is served as a download. */
const INLINE_TYPES = [
  "image/jpeg",
  "image/png",
  "image/webp",
  "image/gif",
  "audio/ogg",
  "audio/mpeg",
  "audio/mp4",
  "audio/aac",
  "audio/amr",
  "audio/webm",
  "audio/wav",
  "video/mp4",
  "video/3gpp",
  "video/webm",
];

/**
 * The content types a media file is served with (the route declares each): its own type when it is
 * one of these, else application/octet-stream — a sender-chosen type is never echoed blindly.
 */
export const SERVED_MEDIA_TYPES: readonly string[] = [...new Set([...INLINE_TYPES, ...ATTACHMENT_CONTENT_TYPES])];

/**
 * Serves an R2 object with Range (one `bytes=a-b`, `a-` or `-n` range; other forms get the whole
 * file), as the dashboard's players and download links need. Files people sent us are untrusted:
 * only images, audio and video are shown inline, everything else is an attachment, and a sandbox
 * CSP with nosniff stops an HTML or SVG file from running as our origin.
 */
export async function serveMedia(
  bucket: R2Bucket,
  key: string,
  opts: { rangeHeader: string | undefined; contentType: string | null; fileName: string | null; download: boolean },
): Promise<Response> {
  const head = await bucket.head(key);
  if (!head) throw notFound("Media");
  const size = head.size;
  let range: { offset: number; length: number } | undefined;
  const match = opts.rangeHeader ? /^bytes=(\d*)-(\d*)$/.exec(opts.rangeHeader.trim()) : null;
  if (match && (match[1] !== "" || match[2] !== "")) {
    let start: number;
    let end: number;
    if (match[1] === "") {
      // A suffix range: the last n bytes.
      start = Math.max(0, size - Number(match[2]));
      end = size - 1;
    } else {
      start = Number(match[1]);
      end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
    }
    if (start >= size || start > end) {
      return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${size}` } });
    }
    range = { offset: start, length: end - start + 1 };
  }
  const object = await bucket.get(key, range ? { range } : {});
  if (!object) throw notFound("Media");
  const declared = opts.contentType ?? head.httpMetadata?.contentType ?? "";
  const type = declared.split(";")[0]!.trim().toLowerCase();
  const known = SERVED_MEDIA_TYPES.includes(type);
  const inline = !opts.download && INLINE_TYPES.includes(type);
  const name = opts.fileName ?? "file";
  const headers = new Headers({
    // Parameters (an audio codec) help the player; only for a known type.
    "Content-Type": known ? declared : "application/octet-stream",
    "Content-Length": String(range ? range.length : size),
    "Accept-Ranges": "bytes",
    "Cache-Control": "private, max-age=3600",
    ETag: head.httpEtag,
    "Content-Disposition": `${inline ? "inline" : "attachment"}; filename*=UTF-8''${encodeURIComponent(name)}`,
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
  });
  if (range) headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${size}`);
  return new Response(object.body, { status: range ? 206 : 200, headers });
}

/** A refusal for a message without servable media, saying why. */
export function mediaUnavailable(status: string | null): ApiError {
  if (status === "pending") return new ApiError("conflict", "The media is still being downloaded from WhatsApp");
  if (status === "expired") return new ApiError("not_found", "WhatsApp no longer has this media (it expired)");
  if (status === "too_large") return new ApiError("not_found", "The media was too large to download");
  if (status === "failed") return new ApiError("not_found", "Downloading the media failed");
  return notFound("Media");
}
