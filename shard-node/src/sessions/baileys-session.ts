/**
 * The real WhatsApp session: one Baileys socket per business, auth state from the shard's SQLite
 * store, inbound events persisted to the outbox inside Baileys' event handler (before Baileys moves
 * on), and reconnects decided by ./reconnect-policy.ts.
 */
import {
  type AnyMessageContent,
  type BaileysEventMap,
  downloadMediaMessage,
  jidDecode,
  jidNormalizedUser,
  makeCacheableSignalKeyStore,
  makeWASocket,
  type proto,
  S_WHATSAPP_NET,
  type WASocket,
} from "@whiskeysockets/baileys";
import { decodeMediaRef } from "./media-ref.js";
import { SessionBase } from "./session-base.js";
import {
  type DownloadedMedia,
  MediaExpiredError,
  MediaTooLargeError,
  type OutgoingMedia,
  type SentMessage,
  type SessionContext,
  type SessionFactory,
  SessionNotOpenError,
} from "./types.js";

/** WhatsApp's CDN answers these for media it no longer has (Baileys then asks the phone to re-upload). */
const GONE_STATUSES = new Set([404, 410]);

function statusOf(err: unknown): number | undefined {
  const e = err as { output?: { statusCode?: unknown }; status?: unknown } | null;
  const code = e?.output?.statusCode ?? e?.status;
  return typeof code === "number" ? code : undefined;
}

function mediaContent(media: OutgoingMedia): AnyMessageContent {
  switch (media.kind) {
    case "image":
      return { image: media.bytes, mimetype: media.mimetype, caption: media.caption };
    case "video":
      return { video: media.bytes, mimetype: media.mimetype, caption: media.caption };
    case "audio":
      return { audio: media.bytes, mimetype: media.mimetype, ptt: media.voiceNote ?? false };
    case "sticker":
      return { sticker: media.bytes, mimetype: media.mimetype };
    case "document":
      return {
        document: media.bytes,
        mimetype: media.mimetype,
        fileName: media.fileName ?? "file",
        caption: media.caption,
      };
  }
}

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
    // Every frame from WhatsApp (keep-alive answers included) is a sign of life for the watchdog.
    sock.ws.on("frame", () => {
      if (generation === this.generation) this.noteTraffic();
    });

    sock.ev.process(async (events) => {
      if (generation !== this.generation) return;
      // Order matters: creds first (a 515 right after pairing must find them saved), then the
      // inbound data (persisted before this handler returns), then the connection state.
      if (events["creds.update"]) saveCreds();
      // Mappings before messages: a message in the same batch may need one to find its phone JID.
      if (events["lid-mapping.update"]) this.handleLidMappings([events["lid-mapping.update"]]);
      const history = events["messaging-history.set"];
      if (history?.lidPnMappings?.length) this.handleLidMappings(history.lidPnMappings);
      const upsert = events["messages.upsert"];
      if (upsert) await this.handleUpsert(upsert.messages, upsert.type);
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
    if (sent?.message) this.remember(id, sent.message);
    return { messageId: id, chatJid: sent?.key.remoteJid ?? chatJid };
  }

  async sendMedia(chatJid: string, media: OutgoingMedia, messageId: string): Promise<SentMessage> {
    if (this.snap.state !== "open" || !this.sock) throw new SessionNotOpenError(this.snap.state);
    const sent = await this.sock.sendMessage(chatJid, mediaContent(media), { messageId });
    const id = sent?.key.id ?? messageId;
    if (sent?.message) this.remember(id, sent.message);
    return { messageId: id, chatJid: sent?.key.remoteJid ?? chatJid };
  }

  async downloadMedia(ref: string, maxBytes: number): Promise<DownloadedMedia> {
    const message = decodeMediaRef(ref);
    if (!message) throw new MediaExpiredError("the media reference cannot be read");
    const sock = this.snap.state === "open" ? this.sock : undefined;
    let stream: AsyncIterable<Buffer>;
    try {
      // With an open socket, an expired URL makes Baileys ask the phone to upload the media again.
      stream = await downloadMediaMessage(
        message,
        "stream",
        {},
        sock ? { logger: this.ctx.logger, reuploadRequest: sock.updateMediaMessage } : undefined,
      );
    } catch (err) {
      const status = statusOf(err);
      if (status !== undefined && GONE_STATUSES.has(status)) {
        // Without a socket the phone could not be asked: try again once the session is open.
        if (!sock) throw new SessionNotOpenError(this.snap.state);
        throw new MediaExpiredError(`WhatsApp no longer has this media (${status})`);
      }
      throw err;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      size += chunk.length;
      if (size > maxBytes) {
        (stream as unknown as { destroy?: () => void }).destroy?.();
        throw new MediaTooLargeError(maxBytes);
      }
      chunks.push(chunk);
    }
    const media = message.message ? Object.values(message.message)[0] : undefined;
    const mimetype = (media as { mimetype?: string } | undefined)?.mimetype ?? undefined;
    return { bytes: Buffer.concat(chunks), ...(mimetype ? { mimetype } : {}) };
  }

  protected async probe(timeoutMs: number): Promise<boolean> {
    const sock = this.sock;
    if (!sock) return false;
    try {
      await sock.query(
        {
          tag: "iq",
          attrs: { id: sock.generateMessageTag(), to: S_WHATSAPP_NET, type: "get", xmlns: "w:p" },
          content: [{ tag: "ping", attrs: {} }],
        },
        timeoutMs,
      );
      return true;
    } catch {
      return false;
    }
  }

  protected async phoneJidForLid(lid: string): Promise<string | undefined> {
    const pn = await this.sock?.signalRepository.lidMapping.getPNForLID(lid);
    return pn ? jidNormalizedUser(pn) : undefined;
  }

  private remember(id: string, message: proto.IMessage): void {
    this.recentSent.set(id, message);
    if (this.recentSent.size > RECENT_SENT_LIMIT) {
      const oldest = this.recentSent.keys().next().value;
      if (oldest !== undefined) this.recentSent.delete(oldest);
    }
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
