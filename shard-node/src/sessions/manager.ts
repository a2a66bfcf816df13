/**
 * Holds every business's session on this shard: capacity guard, fencing, idempotent sends,
 * restore at boot and graceful shutdown. The HTTP routes call only this.
 */
import { createHash } from "node:crypto";
import { generateMessageIDV2, jidNormalizedUser } from "@whiskeysockets/baileys";
import type { ConnectionState, ShardEvent } from "../../../contracts/shard-events.js";
import { connectionStates } from "../../../contracts/shard-events.js";
import { ShardError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ShardMetrics } from "../metrics.js";
import type { SqliteAuthStore } from "../store/auth-store.js";
import type { IdempotencyStore } from "../store/idempotency.js";
import type { Outbox } from "../store/outbox.js";
import type { SessionRecords } from "../store/session-records.js";
import { decodeMediaRef } from "./media-ref.js";
import type { ReconnectPolicyConfig } from "./reconnect-policy.js";
import type { SessionEventSink } from "./session-base.js";
import {
  type DownloadedMedia,
  MediaExpiredError,
  MediaTooLargeError,
  type OutgoingMedia,
  type SessionFactory,
  SessionNotOpenError,
  type SessionSnapshot,
  type WatchdogOptions,
  type WhatsAppSession,
} from "./types.js";

export interface ManagerOptions {
  shardId: number;
  maxSessions: number;
  reconnect: ReconnectPolicyConfig;
  /** The session watchdog (see WhatsAppSession.watchdogCheck); undefined = off. */
  watchdog?: WatchdogOptions & { intervalMs: number };
  mediaMaxBytes: number;
}

export interface SessionView extends SessionSnapshot {
  businessId: number;
  fencingToken?: number;
}

export interface SendInput {
  to: string;
  text: string;
  idempotencyKey: string;
  fencingToken?: number;
}

export interface SendMediaInput {
  to: string;
  idempotencyKey: string;
  fencingToken?: number;
  /** Of the media's bytes, hex: part of the request's identity for idempotency. */
  sha256: string;
  media: OutgoingMedia;
}

export interface SendResult {
  messageId: string;
  chatJid: string;
  sentAt: string;
  replayed: boolean;
}

/** Phone digits become a user JID; a JID is normalised (device suffix dropped). */
export function toChatJid(to: string): string {
  return /^\d+$/.test(to) ? `${to}@s.whatsapp.net` : jidNormalizedUser(to);
}

export class SessionManager {
  private readonly sessions = new Map<number, WhatsAppSession>();
  private shuttingDown = false;
  private watchdogTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: ManagerOptions,
    private readonly deps: {
      factory: SessionFactory;
      authStore: SqliteAuthStore;
      records: SessionRecords;
      outbox: Outbox;
      idempotency: IdempotencyStore;
      metrics: ShardMetrics;
      logger: Logger;
    },
  ) {}

  /** The sink sessions write through: events go to the outbox first, state to the records. */
  private readonly sink: SessionEventSink = {
    persist: (events: ShardEvent[]) => {
      // Each event carries the fencing token this shard holds for the business, so the edge can
      // tell events of the current assignment from those of an older one.
      const businessId = events[0]?.businessId;
      const token = businessId === undefined ? undefined : this.deps.records.get(businessId)?.fencingToken;
      if (token !== null && token !== undefined) for (const e of events) e.fencingToken ??= token;
      const n = this.deps.outbox.append(events);
      this.deps.metrics.eventsAppended.inc(n);
    },
    stateChanged: (businessId, snapshot, terminal) => {
      this.deps.records.setState(businessId, snapshot);
      // A session that stopped for good frees its slot and is not restored at the next boot; one
      // closed by a shard shutdown keeps desired=running so the next boot restores it.
      if (terminal && (!this.shuttingDown || snapshot.state === "logged_out")) {
        this.deps.records.setDesired(businessId, "stopped");
        this.sessions.delete(businessId);
      }
    },
  };

  get(businessId: number): WhatsAppSession | undefined {
    return this.sessions.get(businessId);
  }

  view(businessId: number): SessionView | undefined {
    const record = this.deps.records.get(businessId);
    const live = this.sessions.get(businessId);
    const fencing = record?.fencingToken != null ? { fencingToken: record.fencingToken } : {};
    if (live) return { businessId, ...live.snapshot(), ...fencing };
    // A record that only ever held a fencing token is not a session.
    if (!record || (record.desired === "stopped" && record.reason === null && record.phoneNumber === null)) {
      return undefined;
    }
    return {
      businessId,
      state: record.state,
      ...(record.reason !== null ? { reason: record.reason } : {}),
      ...(record.statusCode !== null ? { statusCode: record.statusCode } : {}),
      ...(record.phoneNumber !== null ? { phoneNumber: record.phoneNumber } : {}),
      reconnectAttempts: 0,
      updatedAt: record.updatedAt,
      ...fencing,
    };
  }

  list(): SessionView[] {
    const ids = new Set<number>([...this.deps.records.all().map((r) => r.businessId), ...this.sessions.keys()]);
    return [...ids]
      .sort((a, b) => a - b)
      .map((id) => this.view(id))
      .filter((v): v is SessionView => v !== undefined);
  }

  countsByState(): Record<ConnectionState, number> {
    const counts = Object.fromEntries(connectionStates.map((s) => [s, 0])) as Record<ConnectionState, number>;
    for (const session of this.sessions.values()) counts[session.snapshot().state]++;
    return counts;
  }

  get size(): number {
    return this.sessions.size;
  }

  async start(businessId: number, opts: { fencingToken?: number; pairingPhoneNumber?: string }): Promise<SessionView> {
    this.assertRunning();
    this.fence(businessId, opts.fencingToken, true);
    const existing = this.sessions.get(businessId);
    if (existing) {
      const state = existing.snapshot().state;
      // Already connecting/showing a QR/open: starting again is a no-op (the edge may retry).
      if (state !== "closed" && state !== "logged_out") return this.view(businessId)!;
      // Closed and waiting for a backoff: reconnect now instead.
    } else if (this.sessions.size >= this.options.maxSessions) {
      throw new ShardError(
        "shard_at_capacity",
        `shard ${this.options.shardId} already holds its maximum of ${this.options.maxSessions} sessions`,
        { shardId: this.options.shardId, maxSessions: this.options.maxSessions },
      );
    }
    const session = existing ?? this.create(businessId);
    this.deps.records.setDesired(businessId, "running");
    await session.start(opts.pairingPhoneNumber ? { pairingPhoneNumber: opts.pairingPhoneNumber } : {});
    return this.view(businessId)!;
  }

  async stop(
    businessId: number,
    fencingToken: number | undefined,
    reason = "stopped by request",
  ): Promise<SessionView> {
    this.fence(businessId, fencingToken, false);
    const session = this.sessions.get(businessId);
    if (!session) {
      const view = this.view(businessId);
      if (!view) throw new ShardError("session_not_found", `no session for business ${businessId} on this shard`);
      this.deps.records.setDesired(businessId, "stopped");
      return view;
    }
    await session.close(reason);
    return this.view(businessId)!;
  }

  async logout(businessId: number, fencingToken: number | undefined): Promise<SessionView> {
    // A logout stores its token: the edge logs out with a move's new token, so a start carrying an
    // older one (a connect racing the move) is refused here afterwards.
    this.fence(businessId, fencingToken, true);
    const session = this.sessions.get(businessId);
    if (session) {
      await session.logout();
    } else {
      if (!this.view(businessId) && !this.deps.authStore.hasCreds(businessId)) {
        throw new ShardError("session_not_found", `no session for business ${businessId} on this shard`);
      }
      this.deps.authStore.wipe(businessId);
      this.deps.records.setDesired(businessId, "stopped");
      this.deps.records.setState(businessId, {
        state: "logged_out",
        reason: "logged out by request",
        updatedAt: new Date().toISOString(),
      });
    }
    return this.view(businessId)!;
  }

  async send(businessId: number, input: SendInput): Promise<SendResult> {
    const chatJid = toChatJid(input.to);
    return this.sendOnce(
      businessId,
      input,
      JSON.stringify([chatJid, input.text]),
      (session, messageId) => session.sendText(chatJid, input.text, messageId),
      "text",
    );
  }

  /** A media send: the same idempotency as text, keyed on what is sent (recipient, kind, bytes' hash, caption). */
  async sendMedia(businessId: number, input: SendMediaInput): Promise<SendResult> {
    const chatJid = toChatJid(input.to);
    const { media } = input;
    const result = await this.sendOnce(
      businessId,
      input,
      JSON.stringify([
        chatJid,
        media.kind,
        media.mimetype,
        media.fileName ?? null,
        media.caption ?? null,
        input.sha256,
      ]),
      (session, messageId) => session.sendMedia(chatJid, media, messageId),
      "media",
    );
    if (!result.replayed) this.deps.metrics.mediaBytes.inc({ direction: "out" }, media.bytes.length);
    return result;
  }

  private async sendOnce(
    businessId: number,
    input: { idempotencyKey: string; fencingToken?: number },
    identity: string,
    sendWith: (session: WhatsAppSession, messageId: string) => Promise<{ messageId: string; chatJid: string }>,
    kind: "text" | "media",
  ): Promise<SendResult> {
    this.assertRunning();
    this.fence(businessId, input.fencingToken, false);
    const session = this.sessions.get(businessId);
    if (!session) {
      const view = this.view(businessId);
      if (!view) throw new ShardError("session_not_found", `no session for business ${businessId} on this shard`);
      throw new ShardError("session_not_open", `session is ${view.state}, not open`, { state: view.state });
    }
    const state = session.snapshot().state;
    if (state !== "open") throw new ShardError("session_not_open", `session is ${state}, not open`, { state });

    const requestHash = createHash("sha256")
      .update(kind === "text" ? identity : `media:${identity}`)
      .digest("hex");
    const messageId = generateMessageIDV2(session.snapshot().phoneNumber);
    const claim = this.deps.idempotency.claim(businessId, input.idempotencyKey, requestHash, messageId);
    switch (claim.kind) {
      case "replay":
        this.deps.metrics.messagesSent.inc({ result: "replayed" });
        return { messageId: claim.messageId, chatJid: claim.chatJid, sentAt: claim.sentAt, replayed: true };
      case "conflict":
        throw new ShardError("idempotency_key_conflict", "idempotencyKey was already used for a different message", {
          field: "idempotencyKey",
        });
      case "in_flight":
        throw new ShardError("idempotency_key_in_flight", "a send with this idempotencyKey is still running", {
          messageId: claim.messageId,
        });
      case "outcome_unknown":
        throw new ShardError(
          "send_outcome_unknown",
          "a send with this idempotencyKey was interrupted by a shard restart; it may have been delivered",
          { messageId: claim.messageId },
        );
      case "claimed":
        break;
    }
    try {
      const sent = await sendWith(session, messageId);
      const result = { messageId: sent.messageId, chatJid: sent.chatJid, sentAt: new Date().toISOString() };
      this.deps.idempotency.complete(businessId, input.idempotencyKey, result);
      this.deps.metrics.messagesSent.inc({ result: "sent" });
      return { ...result, replayed: false };
    } catch (err) {
      // Baileys throws before writing to the socket when the connection is gone; we release the
      // key so the edge's retry can send. (A throw after the write would be indistinguishable.)
      this.deps.idempotency.release(businessId, input.idempotencyKey);
      this.deps.metrics.messagesSent.inc({ result: "failed" });
      if (err instanceof SessionNotOpenError) {
        throw new ShardError("session_not_open", err.message, { state: err.state });
      }
      this.deps.logger.error({ err, businessId }, "send failed");
      // Baileys errors are Boom errors: WhatsApp's status (429 rate-overlimit, 463 reach-out
      // timelock, …) is what the edge needs to tell a ban signal from a transient failure.
      const statusCode = (err as { output?: { statusCode?: unknown } }).output?.statusCode;
      throw new ShardError(
        "send_failed",
        `WhatsApp refused the send: ${(err as Error).message}`,
        typeof statusCode === "number" ? { statusCode } : undefined,
      );
    }
  }

  /**
   * Downloads a message's media through the business's session (held in memory, returned to the
   * edge, which stores it in R2). Errors as the contract names them: media_expired,
   * media_too_large, session_not_open, media_download_failed.
   */
  async downloadMedia(businessId: number, ref: string): Promise<DownloadedMedia> {
    this.assertRunning();
    if (!decodeMediaRef(ref)) {
      throw new ShardError("validation_failed", "Invalid body: ref", {
        fields: [{ field: "ref", message: "not a media reference this shard made" }],
      });
    }
    const session = this.sessions.get(businessId);
    if (!session) {
      const view = this.view(businessId);
      if (!view) throw new ShardError("session_not_found", `no session for business ${businessId} on this shard`);
      throw new ShardError("session_not_open", `session is ${view.state}, not open`, { state: view.state });
    }
    try {
      const media = await session.downloadMedia(ref, this.options.mediaMaxBytes);
      this.deps.metrics.mediaDownloads.inc({ result: "ok" });
      this.deps.metrics.mediaBytes.inc({ direction: "in" }, media.bytes.length);
      return media;
    } catch (err) {
      if (err instanceof MediaExpiredError) {
        this.deps.metrics.mediaDownloads.inc({ result: "expired" });
        throw new ShardError("media_expired", err.message);
      }
      if (err instanceof MediaTooLargeError) {
        this.deps.metrics.mediaDownloads.inc({ result: "too_large" });
        throw new ShardError("media_too_large", err.message, { maxBytes: err.maxBytes });
      }
      if (err instanceof SessionNotOpenError) {
        throw new ShardError("session_not_open", err.message, { state: err.state });
      }
      this.deps.metrics.mediaDownloads.inc({ result: "failed" });
      this.deps.logger.warn({ err, businessId }, "media download failed");
      throw new ShardError("media_download_failed", `downloading the media failed: ${(err as Error).message}`);
    }
  }

  /** Runs the watchdog over every open session every `intervalMs`. */
  startWatchdog(): void {
    const opts = this.options.watchdog;
    if (!opts || this.watchdogTimer) return;
    this.watchdogTimer = setInterval(() => void this.watchdogSweep(), opts.intervalMs);
    this.watchdogTimer.unref();
  }

  /** One pass of the watchdog (exported for tests that drive time themselves). */
  async watchdogSweep(): Promise<void> {
    const opts = this.options.watchdog;
    if (!opts || this.shuttingDown) return;
    await Promise.all(
      [...this.sessions.values()].map(async (session) => {
        try {
          const result = await session.watchdogCheck(opts);
          if (result === "probed") this.deps.metrics.watchdogProbes.inc({ result: "answered" });
          if (result === "reconnected") {
            this.deps.metrics.watchdogProbes.inc({ result: "unanswered" });
            this.deps.metrics.watchdogReconnects.inc();
          }
        } catch (err) {
          this.deps.logger.error({ err, businessId: session.businessId }, "watchdog check failed");
        }
      }),
    );
  }

  /** Watchdog states of the live sessions, for the metrics gauge. */
  watchdogCounts(): Record<string, number> {
    const counts: Record<string, number> = { ok: 0, probing: 0, reconnecting: 0 };
    for (const session of this.sessions.values()) {
      const state = session.snapshot().watchdog?.state;
      if (state) counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts;
  }

  /** Starts every session that was running when the shard last stopped. */
  async restoreAll(): Promise<number> {
    let restored = 0;
    for (const record of this.deps.records.running()) {
      if (this.sessions.size >= this.options.maxSessions) {
        this.deps.logger.error(
          { businessId: record.businessId, maxSessions: this.options.maxSessions },
          "not restoring session: shard at capacity",
        );
        continue;
      }
      try {
        const session = this.create(record.businessId);
        await session.start({});
        restored++;
      } catch (err) {
        this.deps.logger.error({ err, businessId: record.businessId }, "failed to restore session");
      }
    }
    return restored;
  }

  /** Closes every socket (auth kept, `desired` left as is so the next boot restores them). */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    const sessions = [...this.sessions.values()];
    await Promise.allSettled(sessions.map((s) => s.close("shard shutting down")));
    this.sessions.clear();
  }

  private create(businessId: number): WhatsAppSession {
    const session = this.deps.factory({
      businessId,
      shardId: this.options.shardId,
      authStore: this.deps.authStore,
      sink: this.sink,
      logger: this.deps.logger.child({ businessId }),
      reconnect: this.options.reconnect,
    });
    this.sessions.set(businessId, session);
    return session;
  }

  private fence(businessId: number, token: number | undefined, store: boolean): void {
    if (!this.deps.records.checkFence(businessId, token, store)) {
      const current = this.deps.records.get(businessId)?.fencingToken;
      throw new ShardError(
        "stale_fencing_token",
        `fencingToken ${token} is lower than ${current}, the highest this shard has seen for business ${businessId}`,
        { fencingToken: token, current },
      );
    }
  }

  private assertRunning(): void {
    if (this.shuttingDown) throw new ShardError("shutting_down", "shard is shutting down");
  }
}
