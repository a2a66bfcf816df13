/**
 * The seam between the shard and WhatsApp: everything above it (HTTP API, session manager,
 * outbox) works with `WhatsAppSession`, so the real Baileys socket and the in-memory fake are
 * interchangeable.
 */
import type { MediaKind, WatchdogInfo } from "../../../contracts/shard-api.js";
import type { ConnectionState } from "../../../contracts/shard-events.js";
import type { Logger } from "../logger.js";
import type { SqliteAuthStore } from "../store/auth-store.js";
import type { ReconnectPolicyConfig } from "./reconnect-policy.js";
import type { SessionEventSink } from "./session-base.js";

export interface SessionSnapshot {
  state: ConnectionState;
  reason?: string;
  statusCode?: number;
  /** Raw QR payload while state is "qr". */
  qr?: string;
  pairingCode?: string;
  phoneNumber?: string;
  reconnectAttempts: number;
  watchdog?: WatchdogInfo;
  updatedAt: string;
}

export interface StartOptions {
  /** Pair by code instead of QR (digits, international format). */
  pairingPhoneNumber?: string;
}

export interface SentMessage {
  messageId: string;
  chatJid: string;
}

export interface OutgoingMedia {
  kind: MediaKind;
  mimetype: string;
  fileName?: string;
  caption?: string;
  voiceNote?: boolean;
  bytes: Buffer;
}

export interface DownloadedMedia {
  bytes: Buffer;
  mimetype?: string;
}

/** WhatsApp no longer has the media: its URL expired and the phone could not re-upload it. */
export class MediaExpiredError extends Error {
  constructor(message = "WhatsApp no longer has this media") {
    super(message);
    this.name = "MediaExpiredError";
  }
}

export class MediaTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`media larger than ${maxBytes} bytes`);
    this.name = "MediaTooLargeError";
  }
}

export interface WatchdogOptions {
  silenceMs: number;
  probeTimeoutMs: number;
}

export interface WhatsAppSession {
  readonly businessId: number;
  snapshot(): SessionSnapshot;
  /** Connects (or reconnects) using the stored auth state; resolves once the attempt is under way. */
  start(opts: StartOptions): Promise<void>;
  /** Sends a text; `messageId` is chosen by the caller so a retried send can be recognised. */
  sendText(chatJid: string, text: string, messageId: string): Promise<SentMessage>;
  /** Sends an image, video, audio, document or sticker (uploaded to WhatsApp's CDN by Baileys). */
  sendMedia(chatJid: string, media: OutgoingMedia, messageId: string): Promise<SentMessage>;
  /**
   * Downloads (and decrypts) a message's media by its ref (./media-ref.ts), into memory: never to
   * disk. Throws MediaExpiredError when WhatsApp no longer has it, MediaTooLargeError past maxBytes.
   */
  downloadMedia(ref: string, maxBytes: number): Promise<DownloadedMedia>;
  /**
   * The watchdog's check: an open session silent for longer than `silenceMs` is probed, and
   * reconnected when the probe goes unanswered. Resolves once decided.
   */
  watchdogCheck(opts: WatchdogOptions): Promise<"ok" | "probed" | "reconnected" | "skipped">;
  /** Unlinks the device from the phone and wipes the auth state. */
  logout(): Promise<void>;
  /** Closes the socket and stops reconnecting; keeps the auth state (shutdown, shard moves). */
  close(reason: string): Promise<void>;
}

export interface SessionContext {
  businessId: number;
  shardId: number;
  authStore: SqliteAuthStore;
  sink: SessionEventSink;
  logger: Logger;
  reconnect: ReconnectPolicyConfig;
}

export type SessionFactory = (ctx: SessionContext) => WhatsAppSession;

export class SessionNotOpenError extends Error {
  constructor(readonly state: ConnectionState) {
    super(`session is ${state}, not open`);
    this.name = "SessionNotOpenError";
  }
}
