/**
 * The HTTP API a shard node serves to the edge (edge → shard). Every route except `GET /health`
 * needs `Authorization: Bearer <SHARD_SECRET>`. Errors always have the shape of `shardErrorBody`.
 *
 * Routes:
 *   POST /sessions/:businessId/start     startSessionRequest   → sessionInfo (200)
 *   GET  /sessions/:businessId                                 → sessionInfo
 *   POST /sessions/:businessId/stop      stopSessionRequest    → sessionInfo (socket closed, auth kept)
 *   POST /sessions/:businessId/logout    logoutSessionRequest  → sessionInfo (device unlinked, auth wiped)
 *   POST /sessions/:businessId/messages  sendMessageRequest    → sendMessageResponse
 *   POST /sessions/:businessId/media-messages  body = the file's bytes, header X-Send-Media =
 *        base64url(JSON sendMediaRequest)                       → sendMessageResponse
 *   POST /sessions/:businessId/media/download  mediaDownloadRequest → the media's bytes (Content-Type,
 *        Content-Length, X-Media-Sha256 = hex SHA-256 of the bytes); 410 media_expired
 *   GET  /sessions                                             → sessionList
 *   GET  /health (no auth)                                     → shardHealth
 *   GET  /metrics (Bearer METRICS_TOKEN)                       → Prometheus text
 *
 * Runtime-neutral (zod only): imported by the Worker and by the shard node.
 */
import { z } from "zod";
import { connectionStates } from "./shard-events.js";

/** Machine codes a shard answers with, and the HTTP status each one comes with. */
export const shardErrorStatus = {
  validation_failed: 400,
  invalid_json: 400,
  payload_too_large: 413,
  unauthorized: 401,
  not_found: 404,
  session_not_found: 404,
  /** The session is not open (still connecting, waiting for a QR scan, closed or logged out). */
  session_not_open: 409,
  /** A start/stop/send carried a fencing token lower than one this shard has already seen. */
  stale_fencing_token: 409,
  /** The same idempotency key was used with a different message. */
  idempotency_key_conflict: 409,
  /** A send with this idempotency key is still running. */
  idempotency_key_in_flight: 409,
  /**
   * A send with this key was started but the shard stopped before it learned the outcome: the
   * message may or may not have gone out. Not retried automatically, to never send it twice.
   */
  send_outcome_unknown: 409,
  /** WhatsApp no longer has the media (its URL expired and the phone could not re-upload it). */
  media_expired: 410,
  /** The media is larger than SHARD_MEDIA_MAX_BYTES. */
  media_too_large: 413,
  /** Downloading the media from WhatsApp failed (network, WhatsApp's CDN): worth retrying. */
  media_download_failed: 502,
  /** The shard already holds SHARD_MAX_SESSIONS sessions: pick another shard. */
  shard_at_capacity: 503,
  shutting_down: 503,
  send_failed: 502,
  internal_error: 500,
} as const;
export type ShardErrorCode = keyof typeof shardErrorStatus;

export const shardErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ShardErrorBody = z.infer<typeof shardErrorBody>;

export const businessIdParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Fencing tokens come from the BusinessDO, one per shard assignment; higher wins. */
export const fencingToken = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const startSessionRequest = z
  .object({
    fencingToken: fencingToken.optional(),
    /**
     * Pair with an 8-character code typed on the phone instead of scanning a QR: the phone
     * number in international format, digits only (e.g. 972501234567).
     */
    pairingPhoneNumber: z
      .string()
      .regex(/^\d{7,15}$/, "must be 7-15 digits, international format without +")
      .optional(),
  })
  .strict();
export type StartSessionRequest = z.infer<typeof startSessionRequest>;

export const stopSessionRequest = z.object({ fencingToken: fencingToken.optional() }).strict();
export type StopSessionRequest = z.infer<typeof stopSessionRequest>;

export const logoutSessionRequest = stopSessionRequest;
export type LogoutSessionRequest = StopSessionRequest;

export const watchdogStates = ["ok", "probing", "reconnecting"] as const;

/**
 * The session watchdog: a session that says `open` but shows no traffic (no frame from WhatsApp,
 * keep-alive answers included) for SHARD_WATCHDOG_SILENCE_MS is probed with a ping; no answer
 * within SHARD_WATCHDOG_PROBE_TIMEOUT_MS means the socket is dead, and the session reconnects.
 */
export const watchdogInfo = z.object({
  state: z.enum(watchdogStates),
  /** The last traffic seen on the socket. */
  lastTrafficAt: z.iso.datetime().optional(),
  lastProbeAt: z.iso.datetime().optional(),
  /** Why the watchdog last acted, e.g. "no traffic for 120s and no answer to a ping within 10s". */
  reason: z.string().optional(),
  /** Reconnects the watchdog forced since the shard started. */
  reconnects: z.number().int().nonnegative(),
});
export type WatchdogInfo = z.infer<typeof watchdogInfo>;

export const sessionInfo = z.object({
  businessId: z.number().int().positive(),
  shardId: z.number().int().positive(),
  state: z.enum(connectionStates),
  /** Why the session is in this state, e.g. "logged out (401)". */
  reason: z.string().optional(),
  /** The disconnect code behind a closed/logged_out state. */
  statusCode: z.number().int().optional(),
  /** Present while state is "qr": the raw QR payload and the same rendered as a PNG data URL. */
  qr: z.string().optional(),
  qrDataUrl: z.string().optional(),
  /** Present while pairing by code. */
  pairingCode: z.string().optional(),
  /** E.164 digits of the paired phone, once known. */
  phoneNumber: z.string().optional(),
  fencingToken: z.number().int().nonnegative().optional(),
  /** Reconnect attempts since the last open. */
  reconnectAttempts: z.number().int().nonnegative(),
  /** Present while the shard holds a live session. */
  watchdog: watchdogInfo.optional(),
  updatedAt: z.iso.datetime(),
});
export type SessionInfo = z.infer<typeof sessionInfo>;

export const sessionList = z.object({ sessions: z.array(sessionInfo) });
export type SessionList = z.infer<typeof sessionList>;

export const sendMessageRequest = z
  .object({
    /** Phone digits (E.164 without +) or a full JID (`...@s.whatsapp.net`, `...@g.us`). */
    to: z
      .string()
      .regex(/^(\d{7,15}|[0-9A-Za-z.:_-]{1,100}@(s\.whatsapp\.net|g\.us|lid))$/, "must be phone digits or a JID"),
    text: z.string().min(1).max(65_536),
    /**
     * Makes the send safe to retry: the shard remembers the key (per business) and answers a repeat
     * with the first result instead of sending again.
     */
    idempotencyKey: z.string().min(1).max(200),
    fencingToken: fencingToken.optional(),
  })
  .strict();
export type SendMessageRequest = z.infer<typeof sendMessageRequest>;

export const sendMessageResponse = z.object({
  messageId: z.string(),
  /** The JID the message went to. */
  chatJid: z.string(),
  /** When the shard handed the message to WhatsApp (ISO 8601). */
  sentAt: z.iso.datetime(),
  /** True when this answer repeats an earlier send with the same idempotency key. */
  replayed: z.boolean(),
});
export type SendMessageResponse = z.infer<typeof sendMessageResponse>;

export const mediaKinds = ["image", "video", "audio", "document", "sticker"] as const;
export type MediaKind = (typeof mediaKinds)[number];

/** The header carrying a media send's description (base64url of its JSON); the body is the file. */
export const SEND_MEDIA_HEADER = "x-send-media";
/** The hex SHA-256 of a downloaded media's bytes. */
export const MEDIA_SHA256_HEADER = "x-media-sha256";

export const sendMediaRequest = z
  .object({
    to: sendMessageRequest.shape.to,
    kind: z.enum(mediaKinds),
    mimetype: z.string().min(3).max(200),
    fileName: z.string().min(1).max(500).optional(),
    caption: z.string().max(4096).optional(),
    /** Audio sent as a voice note (push-to-talk). */
    voiceNote: z.boolean().optional(),
    /** Of the body: the shard refuses a body whose size or hash differ (a truncated upload). */
    sizeBytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    idempotencyKey: sendMessageRequest.shape.idempotencyKey,
    fencingToken: fencingToken.optional(),
  })
  .strict();
export type SendMediaRequest = z.infer<typeof sendMediaRequest>;

export const mediaDownloadRequest = z.object({ ref: z.string().min(1).max(4000) }).strict();
export type MediaDownloadRequest = z.infer<typeof mediaDownloadRequest>;

/** base64url(JSON) — header-safe for any caption (Hebrew included). Runtime-neutral. */
export function encodeHeaderJson(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeHeaderJson(value: string): unknown {
  const binary = atob(value.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

export const shardHealth = z.object({
  status: z.enum(["ok", "shutting_down"]),
  shardId: z.number().int().positive(),
  sessions: z.object({
    total: z.number().int().nonnegative(),
    max: z.number().int().positive(),
    byState: z.record(z.enum(connectionStates), z.number().int().nonnegative()),
  }),
  outbox: z.object({
    pending: z.number().int().nonnegative(),
    oldestAgeSeconds: z.number().nonnegative().nullable(),
    /** Events parked in the dead lane after repeated refusals by the edge. */
    dead: z.number().int().nonnegative(),
  }),
  memory: z.object({ rssBytes: z.number(), heapUsedBytes: z.number() }),
  uptimeSeconds: z.number().nonnegative(),
});
export type ShardHealth = z.infer<typeof shardHealth>;
