/**
 * An in-memory WhatsApp session for tests and benchmarks (SHARD_SESSION_DRIVER=fake). It uses the
 * real auth store, outbox path and reconnect policy; only the socket is simulated. "Paired" means
 * the stored creds have `me`, exactly as with Baileys, so restarts restore fake sessions as open.
 *
 * The `simulate*` methods are the test seam, reachable over HTTP only through the fake-driver
 * routes (src/http/routes/fake-driver.ts), which exist only when the driver is "fake".
 */
import type { WAMessage, WAMessageUpdate } from "@whiskeysockets/baileys";
import { SessionBase } from "./session-base.js";
import { type SentMessage, type SessionFactory, SessionNotOpenError } from "./types.js";

export class FakeSession extends SessionBase {
  readonly sent: { chatJid: string; text: string; messageId: string }[] = [];
  private qrCounter = 0;
  private connectTimer: NodeJS.Immediate | undefined;

  protected async connect(): Promise<void> {
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

  async sendText(chatJid: string, text: string, messageId: string): Promise<SentMessage> {
    if (this.snap.state !== "open") throw new SessionNotOpenError(this.snap.state);
    if (this.refusals && this.refusals.remaining > 0) {
      this.refusals.remaining--;
      // Shaped like Baileys' Boom errors, which carry WhatsApp's status in output.statusCode.
      throw Object.assign(new Error(`fake refusal ${this.refusals.statusCode}`), {
        output: { statusCode: this.refusals.statusCode },
      });
    }
    this.sent.push({ chatJid, text, messageId });
    // Baileys echoes our own sends as an "append" upsert; so does the fake.
    this.handleUpsert(
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

  simulateInbound(messages: WAMessage[], type: "notify" | "append"): void {
    this.handleUpsert(messages, type);
  }

  simulateStatus(updates: WAMessageUpdate[]): void {
    this.handleUpdates(updates);
  }

  /** WhatsApp closed the socket with this code. */
  simulateDisconnect(statusCode: number): void {
    this.handleDisconnect(statusCode);
  }
}

export const fakeSessionFactory: SessionFactory = (ctx) => new FakeSession(ctx);
