/**
 * What both session implementations share: the state snapshot, turning Baileys-shaped inbound data
 * into outbox events (persisted before anything else happens with them), and acting on a
 * disconnect by the reconnect policy. Subclasses only open and close their transport.
 */
import { randomUUID } from "node:crypto";
import type { WAMessage, WAMessageUpdate } from "@whiskeysockets/baileys";
import type { WatchdogInfo } from "../../../contracts/shard-api.js";
import type { ConnectionState, ShardEvent } from "../../../contracts/shard-events.js";
import { decideOnDisconnect } from "./reconnect-policy.js";
import type {
  DownloadedMedia,
  OutgoingMedia,
  SentMessage,
  SessionContext,
  SessionSnapshot,
  StartOptions,
  WatchdogOptions,
  WhatsAppSession,
} from "./types.js";
import { lidMappingToEvent, messageUpdateToEvent, messageUpsertToEvent } from "./wa-events.js";

export interface SessionEventSink {
  /** Durably stores events, synchronously: when it returns, they survive a crash. */
  persist(events: ShardEvent[]): void;
  /** The snapshot changed. `terminal` means the session stopped for good (nothing scheduled). */
  stateChanged(businessId: number, snapshot: SessionSnapshot, terminal: boolean): void;
}

interface StateChange {
  state: ConnectionState;
  reason?: string;
  statusCode?: number;
  qr?: string;
  pairingCode?: string;
  phoneNumber?: string;
}

export abstract class SessionBase implements WhatsAppSession {
  readonly businessId: number;
  protected snap: SessionSnapshot;
  /** Set when we stopped on purpose or by policy: late socket events are then ignored. */
  protected stopped = true;
  protected attempt = 0;
  protected pairingPhoneNumber: string | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** When the transport last showed life (any frame from WhatsApp); the watchdog reads it. */
  private lastTrafficAt = Date.now();
  private watchdog: WatchdogInfo = { state: "ok", reconnects: 0 };
  private probing = false;

  constructor(protected readonly ctx: SessionContext) {
    this.businessId = ctx.businessId;
    this.snap = { state: "closed", reconnectAttempts: 0, updatedAt: new Date().toISOString() };
  }

  snapshot(): SessionSnapshot {
    return { ...this.snap, watchdog: { ...this.watchdog, lastTrafficAt: new Date(this.lastTrafficAt).toISOString() } };
  }

  /** The transport received something: the session is alive. */
  protected noteTraffic(): void {
    this.lastTrafficAt = Date.now();
  }

  async watchdogCheck(opts: WatchdogOptions): Promise<"ok" | "probed" | "reconnected" | "skipped"> {
    if (this.stopped || this.probing || this.snap.state !== "open") return "skipped";
    const silentMs = Date.now() - this.lastTrafficAt;
    if (silentMs < opts.silenceMs) return "ok";
    this.probing = true;
    const probeStarted = Date.now();
    this.watchdog = { ...this.watchdog, state: "probing", lastProbeAt: new Date(probeStarted).toISOString() };
    try {
      const answered = await this.probe(opts.probeTimeoutMs).catch(() => false);
      // Stopped, closed or reconnected while we waited: the probe was about a socket that is gone.
      if (this.stopped || this.snap.state !== "open") return "skipped";
      if (answered) {
        this.noteTraffic();
        this.watchdog = { ...this.watchdog, state: "ok" };
        return "probed";
      }
      const reason = `watchdog: no traffic for ${Math.round(silentMs / 1000)}s and no answer to a ping within ${Math.round(opts.probeTimeoutMs / 100) / 10}s; reconnecting`;
      this.ctx.logger.warn({ silentMs, probeTimeoutMs: opts.probeTimeoutMs }, "session looks dead; reconnecting");
      this.watchdog = { ...this.watchdog, state: "reconnecting", reason, reconnects: this.watchdog.reconnects + 1 };
      await this.forceReconnect(reason);
      return "reconnected";
    } finally {
      this.probing = false;
    }
  }

  /** Drops the transport without asking WhatsApp and connects again at once. */
  protected async forceReconnect(reason: string): Promise<void> {
    this.clearReconnect();
    await this.closeTransport();
    if (this.stopped) return;
    this.attempt++;
    this.setState({ state: "connecting", reason });
    this.runConnect();
  }

  async start(opts: StartOptions): Promise<void> {
    this.clearReconnect();
    this.stopped = false;
    this.attempt = 0;
    this.pairingPhoneNumber = opts.pairingPhoneNumber;
    await this.connect();
  }

  async close(reason: string): Promise<void> {
    this.stopped = true;
    this.clearReconnect();
    await this.closeTransport();
    this.setState({ state: "closed", reason }, true);
  }

  async logout(): Promise<void> {
    this.stopped = true;
    this.clearReconnect();
    try {
      await this.unlinkDevice();
    } catch (err) {
      this.ctx.logger.warn({ err }, "unlink on logout failed; wiping local auth anyway");
    }
    await this.closeTransport();
    this.ctx.authStore.wipe(this.businessId);
    this.setState({ state: "logged_out", reason: "logged out by request" }, true);
  }

  abstract sendText(chatJid: string, text: string, messageId: string): Promise<SentMessage>;
  abstract sendMedia(chatJid: string, media: OutgoingMedia, messageId: string): Promise<SentMessage>;
  abstract downloadMedia(ref: string, maxBytes: number): Promise<DownloadedMedia>;
  /** Asks WhatsApp for an answer (a ping); resolves true if one came within the timeout. */
  protected abstract probe(timeoutMs: number): Promise<boolean>;
  /** The phone JID this session knows for a LID (Baileys' LID mapping store), if any. */
  protected abstract phoneJidForLid(lid: string): Promise<string | undefined>;
  /** Opens a transport with the stored auth state; state updates arrive through the helpers below. */
  protected abstract connect(): Promise<void>;
  /** Closes the transport without emitting a disconnect (no reconnect follows). */
  protected abstract closeTransport(): Promise<void>;
  /** Tells WhatsApp to unlink this device (best effort). */
  protected abstract unlinkDevice(): Promise<void>;

  protected setState(change: StateChange, terminal = false): void {
    const previous = this.snap.state;
    this.snap = {
      state: change.state,
      ...(change.reason !== undefined ? { reason: change.reason } : {}),
      ...(change.statusCode !== undefined ? { statusCode: change.statusCode } : {}),
      ...(change.qr !== undefined ? { qr: change.qr } : {}),
      ...(change.pairingCode !== undefined ? { pairingCode: change.pairingCode } : {}),
      ...((change.phoneNumber ?? this.snap.phoneNumber) !== undefined
        ? { phoneNumber: change.phoneNumber ?? this.snap.phoneNumber }
        : {}),
      reconnectAttempts: this.attempt,
      updatedAt: new Date().toISOString(),
    };
    // Every transition is an event for the edge; a refreshed QR code is not (the edge polls GET).
    if (previous !== change.state || terminal) {
      this.ctx.sink.persist([
        {
          id: `conn:${randomUUID()}`,
          type: "connection.update",
          businessId: this.businessId,
          shardId: this.ctx.shardId,
          occurredAt: this.snap.updatedAt,
          state: change.state,
          ...(change.reason !== undefined ? { reason: change.reason.slice(0, 500) } : {}),
          ...(change.statusCode !== undefined ? { statusCode: change.statusCode } : {}),
          ...(this.snap.phoneNumber !== undefined ? { phoneNumber: this.snap.phoneNumber } : {}),
        },
      ]);
    }
    this.ctx.sink.stateChanged(this.businessId, this.snapshot(), terminal);
  }

  protected opened(phoneNumber: string | undefined): void {
    this.attempt = 0;
    this.noteTraffic();
    if (this.watchdog.state !== "ok") this.watchdog = { ...this.watchdog, state: "ok" };
    this.setState({ state: "open", ...(phoneNumber ? { phoneNumber } : {}) });
  }

  /**
   * A chat WhatsApp addresses by LID gets its phone JID as `remoteJidAlt` when the session knows
   * it (Baileys sets it from the stanza when WhatsApp sends it; otherwise we ask the mapping
   * store), so the edge can keep one conversation per customer.
   */
  private async addPhoneAlternates(messages: WAMessage[]): Promise<void> {
    for (const msg of messages) {
      const key = msg.key as WAMessage["key"] & { remoteJidAlt?: string; participantAlt?: string };
      if (key.remoteJid?.endsWith("@lid") && !key.remoteJidAlt) {
        const pn = await this.phoneJidForLid(key.remoteJid).catch(() => undefined);
        if (pn) key.remoteJidAlt = pn;
      }
      if (key.participant?.endsWith("@lid") && !key.participantAlt) {
        const pn = await this.phoneJidForLid(key.participant).catch(() => undefined);
        if (pn) key.participantAlt = pn;
      }
    }
  }

  protected async handleUpsert(messages: WAMessage[], type: "notify" | "append"): Promise<void> {
    this.noteTraffic();
    await this.addPhoneAlternates(messages);
    const now = new Date();
    const events: ShardEvent[] = [];
    for (const msg of messages) {
      const event = messageUpsertToEvent({ businessId: this.businessId, shardId: this.ctx.shardId, now }, msg, type);
      if (event) events.push(event);
    }
    if (events.length > 0) this.ctx.sink.persist(events);
  }

  /** LID ↔ phone pairs WhatsApp told us about: the edge merges the customer's conversations. */
  protected handleLidMappings(mappings: { lid: string; pn: string }[]): void {
    const now = new Date();
    const events: ShardEvent[] = [];
    for (const mapping of mappings) {
      const event = lidMappingToEvent({ businessId: this.businessId, shardId: this.ctx.shardId, now }, mapping);
      if (event) events.push(event);
    }
    if (events.length > 0) this.ctx.sink.persist(events);
  }

  protected handleUpdates(updates: WAMessageUpdate[]): void {
    this.noteTraffic();
    const now = new Date();
    const events: ShardEvent[] = [];
    for (const update of updates) {
      const event = messageUpdateToEvent({ businessId: this.businessId, shardId: this.ctx.shardId, now }, update);
      if (event) events.push(event);
    }
    if (events.length > 0) this.ctx.sink.persist(events);
  }

  /** The transport closed on its own: decide by the reconnect policy. */
  protected handleDisconnect(statusCode: number | undefined): void {
    if (this.stopped) return;
    const decision = decideOnDisconnect(statusCode, {
      attempt: this.attempt,
      wasShowingQr: this.snap.state === "qr",
      config: this.ctx.reconnect,
    });
    this.ctx.logger.info({ statusCode, decision }, "session disconnected");
    switch (decision.action) {
      case "logged_out":
        this.stopped = true;
        this.ctx.authStore.wipe(this.businessId);
        this.setState({ state: "logged_out", reason: decision.reason, statusCode }, true);
        return;
      case "stop":
        this.stopped = true;
        this.setState({ state: "closed", reason: decision.reason, ...(statusCode ? { statusCode } : {}) }, true);
        return;
      case "reconnect_now":
        this.attempt++;
        this.setState({ state: "connecting", reason: decision.reason, ...(statusCode ? { statusCode } : {}) });
        this.runConnect();
        return;
      case "backoff":
        this.attempt++;
        this.setState({
          state: "closed",
          reason: `${decision.reason}; reconnecting in ${Math.ceil(decision.delayMs / 1000)}s`,
          ...(statusCode ? { statusCode } : {}),
        });
        this.reconnectTimer = setTimeout(() => {
          this.reconnectTimer = undefined;
          if (!this.stopped) this.runConnect();
        }, decision.delayMs);
        return;
    }
  }

  private runConnect(): void {
    this.connect().catch((err) => {
      this.ctx.logger.error({ err }, "reconnect failed to start");
      this.handleDisconnect(undefined);
    });
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }
}
