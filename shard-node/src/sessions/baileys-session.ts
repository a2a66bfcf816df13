/**
 * The real WhatsApp session: one Baileys socket per business, auth state from the shard's SQLite
 * store, inbound events persisted to the outbox inside Baileys' event handler (before Baileys moves
 * on), and reconnects decided by ./reconnect-policy.ts.
 */
import {
  type BaileysEventMap,
  jidDecode,
  makeCacheableSignalKeyStore,
  makeWASocket,
  type proto,
  type WASocket,
} from "@whiskeysockets/baileys";
import { SessionBase } from "./session-base.js";
import { type SentMessage, type SessionContext, type SessionFactory, SessionNotOpenError } from "./types.js";

export interface BaileysSocketOptions {
  waWebSocketUrl: string;
  connectTimeoutMs: number;
  keepAliveIntervalMs: number;
  defaultQueryTimeoutMs: number;
  syncFullHistory: boolean;
  markOnlineOnConnect: boolean;
  /** Level for Baileys' own (chatty) logger. */
  logLevel: string;
}

/** Sent messages kept in memory so Baileys can re-encrypt them when a recipient asks for a retry. */
const RECENT_SENT_LIMIT = 200;

export class BaileysSession extends SessionBase {
  private sock: WASocket | undefined;
  /** Bumped for every socket so events of a replaced socket are ignored. */
  private generation = 0;
  private pairingRequested = false;
  private readonly recentSent = new Map<string, proto.IMessage>();

  constructor(
    ctx: SessionContext,
    private readonly options: BaileysSocketOptions,
  ) {
    super(ctx);
  }

  protected async connect(): Promise<void> {
    await this.closeTransport();
    const generation = ++this.generation;
    const { state, saveCreds } = this.ctx.authStore.load(this.businessId);
    const logger = this.ctx.logger.child({ class: "baileys" });
    logger.level = this.options.logLevel;
    this.pairingRequested = false;
    this.setState({ state: "connecting" });

    const sock = makeWASocket({
      auth: { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, logger) },
      waWebSocketUrl: this.options.waWebSocketUrl,
      connectTimeoutMs: this.options.connectTimeoutMs,
      keepAliveIntervalMs: this.options.keepAliveIntervalMs,
      defaultQueryTimeoutMs: this.options.defaultQueryTimeoutMs,
      syncFullHistory: this.options.syncFullHistory,
      markOnlineOnConnect: this.options.markOnlineOnConnect,
      logger,
      getMessage: async (key) => (key.id ? this.recentSent.get(key.id) : undefined),
    });
    this.sock = sock;

    sock.ev.process(async (events) => {
      if (generation !== this.generation) return;
      // Order matters: creds first (a 515 right after pairing must find them saved), then the
      // inbound data (persisted before this handler returns), then the connection state.
      if (events["creds.update"]) saveCreds();
      const upsert = events["messages.upsert"];
      if (upsert) this.handleUpsert(upsert.messages, upsert.type);
      if (events["messages.update"]) this.handleUpdates(events["messages.update"]);
      if (events["connection.update"]) await this.onConnectionUpdate(events["connection.update"], generation);
    });
  }

  private async onConnectionUpdate(update: BaileysEventMap["connection.update"], generation: number): Promise<void> {
    if (update.qr) {
      if (this.pairingPhoneNumber && !this.pairingRequested && this.sock) {
        // Pairing by code replaces the QR: ask once per socket, when the socket can talk.
        this.pairingRequested = true;
        try {
          const code = await this.sock.requestPairingCode(this.pairingPhoneNumber);
          if (generation === this.generation) this.setState({ state: "qr", pairingCode: code });
        } catch (err) {
          this.ctx.logger.warn({ err }, "pairing code request failed; falling back to the QR");
          this.setState({ state: "qr", qr: update.qr });
        }
      } else if (!this.pairingPhoneNumber) {
        this.setState({ state: "qr", qr: update.qr });
      }
    }
    if (update.connection === "open") {
      const me = this.sock?.user?.id;
      this.opened(me ? jidDecode(me)?.user : undefined);
    }
    if (update.connection === "close") {
      if (generation !== this.generation) return;
      this.sock = undefined;
      const statusCode = (update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output
        ?.statusCode;
      this.handleDisconnect(statusCode);
    }
  }

  async sendText(chatJid: string, text: string, messageId: string): Promise<SentMessage> {
    if (this.snap.state !== "open" || !this.sock) throw new SessionNotOpenError(this.snap.state);
    const sent = await this.sock.sendMessage(chatJid, { text }, { messageId });
    const id = sent?.key.id ?? messageId;
    if (sent?.message) {
      this.recentSent.set(id, sent.message);
      if (this.recentSent.size > RECENT_SENT_LIMIT) {
        const oldest = this.recentSent.keys().next().value;
        if (oldest !== undefined) this.recentSent.delete(oldest);
      }
    }
    return { messageId: id, chatJid: sent?.key.remoteJid ?? chatJid };
  }

  protected async closeTransport(): Promise<void> {
    const sock = this.sock;
    this.sock = undefined;
    this.generation++;
    if (!sock) return;
    try {
      await sock.end(undefined);
    } catch (err) {
      this.ctx.logger.debug({ err }, "error while closing socket");
    }
  }

  protected async unlinkDevice(): Promise<void> {
    if (this.sock && this.snap.state === "open") await this.sock.logout();
  }
}

export function baileysSessionFactory(options: BaileysSocketOptions): SessionFactory {
  return (ctx) => new BaileysSession(ctx, options);
}
