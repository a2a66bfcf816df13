/**
 * An in-memory WhatsApp session for tests and benchmarks (SHARD_SESSION_DRIVER=fake). It uses the
 * real auth store, outbox path and reconnect policy; only the socket is simulated. "Paired" means
 * the stored creds have `me`, exactly as with Baileys, so restarts restore fake sessions as open.
 *
 * The `simulate*` methods are the test seam, reachable over HTTP only through the fake-driver
 * routes (src/http/routes/fake-driver.ts), which exist only when the driver is "fake".
 */
import { createHash, randomBytes } from "node:crypto";
import type { proto, WAMessage, WAMessageUpdate } from "@whiskeysockets/baileys";
import type { MediaKind } from "../../../contracts/shard-api.js";
import { decodeMediaRef, mediaOf } from "./media-ref.js";
import { SessionBase } from "./session-base.js";
import {
  type DownloadedMedia,
  MediaExpiredError,
  MediaTooLargeError,
  type OutgoingMedia,
  type SentMessage,
  type SessionFactory,
  SessionNotOpenError,
} from "./types.js";
import { normaliseUserJid } from "./wa-events.js";

export interface FakeSent {
  chatJid: string;
  text: string;
  messageId: string;
  media?: {
    kind: MediaKind;
    mimetype: string;
    fileName?: string;
    voiceNote?: boolean;
    sizeBytes: number;
    sha256: string;
  };
}

/** A file on the fake "WhatsApp CDN". */
interface CdnFile {
  bytes: Buffer;
  mimetype: string;
  /** WhatsApp no longer has it (and the phone cannot re-upload it). */
  expired: boolean;
  /** Downloads that fail (as a network error would) before one succeeds. */
  failuresLeft: number;
}

export interface FakeMediaInput {
  kind: MediaKind;
  mimetype: string;
  bytes: Buffer;
  fileName?: string;
  caption?: string;
  voiceNote?: boolean;
  seconds?: number;
  expired?: boolean;
  failTimes?: number;
}

const MESSAGE_FIELD: Record<MediaKind, keyof proto.IMessage> = {
  image: "imageMessage",
  video: "videoMessage",
  audio: "audioMessage",
  document: "documentMessage",
  sticker: "stickerMessage",
};

export class FakeSession extends SessionBase {
  readonly sent: FakeSent[] = [];
  /** The bytes of each media message "sent", by message id: what the customer's phone received. */
  readonly sentMedia = new Map<string, Buffer>();
  private readonly cdn = new Map<string, CdnFile>();
  /** Baileys' LID mapping store, in memory. */
  private readonly lidToPn = new Map<string, string>();
  /** The socket went quiet: nothing arrives and pings go unanswered, though it still says open. */
  private silent = false;
  private qrCounter = 0;
  private connectTimer: NodeJS.Immediate | undefined;

  protected async connect(): Promise<void> {
    // A new socket: whatever made the old one silent is gone.
    this.silent = false;
    this.setState({ state: "connecting" });
    const { state } = this.ctx.authStore.load(this.businessId);
    this.connectTimer = setImmediate(() => {
      this.connectTimer = undefined;
      if (this.stopped) return;
      const me = state.creds.me?.id;
      if (me) this.opened(me.split(/[:@]/)[0]);
      else if (this.pairingPhoneNumber) this.setState({ state: "qr", pairingCode: "FAKE1234" });
      else this.setState({ state: "qr", qr: `fake-qr:${this.businessId}:${++this.qrCounter}` });
    });
  }

  protected async closeTransport(): Promise<void> {
    if (this.connectTimer) clearImmediate(this.connectTimer);
    this.connectTimer = undefined;
  }

  protected async unlinkDevice(): Promise<void> {}

  /** Scripted refusals: the next `remaining` sends fail as WhatsApp would, with this status. */
  private refusals: { statusCode: number; remaining: number } | null = null;

  refuseNextSends(statusCode: number, count: number): void {
    this.refusals = count > 0 ? { statusCode, remaining: count } : null;
  }

  private refuseIfScripted(): void {
    if (this.snap.state !== "open") throw new SessionNotOpenError(this.snap.state);
    if (this.refusals && this.refusals.remaining > 0) {
      this.refusals.remaining--;
      // Shaped like Baileys' Boom errors, which carry WhatsApp's status in output.statusCode.
      throw Object.assign(new Error(`fake refusal ${this.refusals.statusCode}`), {
        output: { statusCode: this.refusals.statusCode },
      });
    }
  }

  async sendMedia(chatJid: string, media: OutgoingMedia, messageId: string): Promise<SentMessage> {
    this.refuseIfScripted();
    const sha256 = createHash("sha256").update(media.bytes).digest("hex");
    this.sent.push({
      chatJid,
      text: media.caption ?? "",
      messageId,
      media: {
        kind: media.kind,
        mimetype: media.mimetype,
        ...(media.fileName ? { fileName: media.fileName } : {}),
        ...(media.voiceNote ? { voiceNote: true } : {}),
        sizeBytes: media.bytes.length,
        sha256,
      },
    });
    this.sentMedia.set(messageId, Buffer.from(media.bytes));
    // The echo carries a downloadable ref, as Baileys' does (the upload put it on the CDN).
    await this.handleUpsert(
      [
        {
          key: { remoteJid: chatJid, id: messageId, fromMe: true },
          message: this.mediaMessage({ ...media }),
          messageTimestamp: Math.floor(Date.now() / 1000),
        },
      ],
      "append",
    );
    return { messageId, chatJid };
  }

  async downloadMedia(ref: string, maxBytes: number): Promise<DownloadedMedia> {
    const message = decodeMediaRef(ref);
    const url = message ? mediaOf(message)?.url : undefined;
    const file = url ? this.cdn.get(url) : undefined;
    if (!file || file.expired) throw new MediaExpiredError();
    if (file.failuresLeft > 0) {
      file.failuresLeft--;
      throw new Error("fake CDN: connection reset");
    }
    if (file.bytes.length > maxBytes) throw new MediaTooLargeError(maxBytes);
    return { bytes: Buffer.from(file.bytes), mimetype: file.mimetype };
  }

  protected async probe(timeoutMs: number): Promise<boolean> {
    if (!this.silent) return true;
    // A dead socket: the ping is never answered.
    await new Promise((resolve) => setTimeout(resolve, timeoutMs).unref());
    return false;
  }

  protected async phoneJidForLid(lid: string): Promise<string | undefined> {
    return this.lidToPn.get(normaliseUserJid(lid, "lid") ?? lid);
  }

  /** Puts the media on the fake CDN and returns its WhatsApp message content (as a phone sends it). */
  mediaMessage(input: Omit<FakeMediaInput, "bytes"> & { bytes: Buffer }): proto.IMessage {
    const url = `https://fake-cdn.invalid/${randomBytes(12).toString("hex")}`;
    this.cdn.set(url, {
      bytes: Buffer.from(input.bytes),
      mimetype: input.mimetype,
      expired: input.expired ?? false,
      failuresLeft: input.failTimes ?? 0,
    });
    const fields = {
      url,
      directPath: new URL(url).pathname,
      mediaKey: randomBytes(32),
      fileSha256: createHash("sha256").update(input.bytes).digest(),
      fileEncSha256: randomBytes(32),
      fileLength: input.bytes.length,
      mimetype: input.mimetype,
      ...(input.caption !== undefined && input.kind !== "audio" && input.kind !== "sticker"
        ? { caption: input.caption }
        : {}),
      ...(input.fileName && input.kind === "document" ? { fileName: input.fileName } : {}),
      ...(input.voiceNote && input.kind === "audio" ? { ptt: true } : {}),
      ...(input.seconds !== undefined && (input.kind === "audio" || input.kind === "video")
        ? { seconds: input.seconds }
        : {}),
    };
    return { [MESSAGE_FIELD[input.kind]]: fields };
  }

  async sendText(chatJid: string, text: string, messageId: string): Promise<SentMessage> {
    this.refuseIfScripted();
    this.sent.push({ chatJid, text, messageId });
    // Baileys echoes our own sends as an "append" upsert; so does the fake.
    await this.handleUpsert(
      [
        {
          key: { remoteJid: chatJid, id: messageId, fromMe: true },
          message: { conversation: text },
          messageTimestamp: Math.floor(Date.now() / 1000),
        },
      ],
      "append",
    );
    return { messageId, chatJid };
  }

  /** The phone scanned the QR: store `me` like Baileys does after pair-success, then open. */
  simulatePairing(phoneNumber: string): void {
    const creds = this.ctx.authStore.readCreds(this.businessId);
    if (!creds) throw new Error("no creds to pair");
    creds.me = { id: `${phoneNumber}:1@s.whatsapp.net`, name: "fake" };
    this.ctx.authStore.writeCreds(this.businessId, creds);
    this.opened(phoneNumber);
  }

  simulateInbound(messages: WAMessage[], type: "notify" | "append"): Promise<void> {
    return this.handleUpsert(messages, type);
  }

  simulateStatus(updates: WAMessageUpdate[]): void {
    this.handleUpdates(updates);
  }

  /** WhatsApp's `lid-mapping.update`: the session (and, through an event, the edge) learns the pair. */
  simulateLidMapping(mappings: { lid: string; pn: string }[]): void {
    for (const m of mappings) {
      const lid = normaliseUserJid(m.lid, "lid");
      const pn = normaliseUserJid(m.pn, "s.whatsapp.net");
      if (lid && pn) this.lidToPn.set(lid, pn);
    }
    this.handleLidMappings(mappings);
  }

  /** The socket goes quiet but keeps saying open: what the watchdog is for. */
  simulateSilence(): void {
    this.silent = true;
  }

  /** WhatsApp closed the socket with this code. */
  simulateDisconnect(statusCode: number): void {
    this.handleDisconnect(statusCode);
  }
}

export const fakeSessionFactory: SessionFactory = (ctx) => new FakeSession(ctx);
