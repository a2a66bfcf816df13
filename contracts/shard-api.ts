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
