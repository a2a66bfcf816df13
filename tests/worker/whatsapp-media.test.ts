/**
 * WhatsApp media and LID ids through a REAL shard process (the fake session driver plays the
 * customer's phone and WhatsApp's CDN): the shard builds and signs each event, the edge relay
 * (tests/setup/edge-relay.ts) passes it to the Worker, the media queue downloads the file through
 * the shard into R2 (Miniflare), and the dashboard's API serves it back.
 *
 * What a user would notice:
 *  - a customer's photo and voice note arrive and play: the bytes read back through the API are
 *    the bytes the phone sent, with Range for seeking; another business cannot read them;
 *  - media WhatsApp no longer has is marked expired; a flaky download is retried until it works;
 *  - an agent's PDF reaches the customer once (same clientMessageId → one send), is readable
 *    back byte for byte, and gets delivery ticks like text;
 *  - a file over WhatsApp's limit for its kind is a 413 naming `file`, and nothing is stored;
 *  - a customer whose chat switches from their phone id to a LID stays one lead and one
 *    conversation, and replies go to the address they last wrote from.
 */
import { env } from "cloudflare:workers";
import { and, count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { leads, waConversations, waMessages, waOutbound, waSessions } from "../../worker/db/schema";
import { createTenant, type Tenant } from "./fixtures";
import { call, errorOf, testDb } from "./helpers";
import { uniquePhone } from "./phones";
import { shardKey, shardNode } from "./whatsapp-helpers";

const { db, close } = testDb();

async function relay(path: string, body: unknown) {
  const res = await fetch(`${env.TEST_EDGE_RELAY_URL}${path}`, { method: "POST", body: JSON.stringify(body) });
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON from the relay
  return (await res.json()) as any;
}

/** Passes the business's deliveries from its shard to the Worker (and the answers back) until `check` holds. */
async function pumpUntil<T>(businessId: number, check: () => Promise<T | undefined | false>, timeoutMs = 25_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("pumpUntil timed out");
    const { delivery } = await relay("/_relay/next", { businessId, waitMs: 300 });
    if (!delivery) continue;
    const res = await call("/internal/shards/events", {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    await relay("/_relay/reply", { id: delivery.id, status: res.status, body: text });
  }
}

function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(bytes.subarray(i, Math.min(n, i + 65_536)));
  return bytes;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 8192) binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(binary);
}

async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function sameBytes(a: ArrayBuffer | Uint8Array, b: Uint8Array): boolean {
  const x = new Uint8Array(a);
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

let tenant: Tenant;
let other: Tenant;
let shard: ReturnType<typeof shardNode>;
let shardNumber: 1 | 2;

beforeAll(async () => {
  tenant = await createTenant(db, "Media inbox business");
  other = await createTenant(db, "Another media business");
  await relay("/_relay/attach", { businessId: tenant.businessId });
  const res = await tenant.owner.request("POST", "/api/whatsapp/connect");
  expect(res.status).toBe(200);
  shardNumber = ((await res.json()) as { shard: 1 | 2 }).shard;
  shard = shardNode(shardNumber);
  const paired = await shard("POST", `/_fake/sessions/${tenant.businessId}/pair`, { phoneNumber: "972500000003" });
  expect(paired.body.state).toBe("open");
  await pumpUntil(tenant.businessId, async () => {
    const [session] = await db.select().from(waSessions).where(eq(waSessions.businessId, tenant.businessId));
    return session?.state === "open";
  });
});

afterAll(async () => {
  await relay("/_relay/detach", { businessId: tenant.businessId });
  await close();
});

const inbound = (messages: unknown[]) =>
  shard("POST", `/_fake/sessions/${tenant.businessId}/inbound`, { upsertType: "notify", messages });

async function messageRow(chatJid: string, waMessageId: string) {
  const [row] = await db
    .select()
    .from(waMessages)
    .where(
      and(
        eq(waMessages.businessId, tenant.businessId),
        eq(waMessages.chatJid, chatJid),
        eq(waMessages.waMessageId, waMessageId),
      ),
    );
  return row;
}

function expectRow<T>(row: T | undefined): T {
  if (!row) throw new Error("not stored yet");
  return row;
}

/** Pumps events until the message exists, then waits for the media queue to settle its media. */
async function settledMedia(chatJid: string, waMessageId: string, timeout = 20_000) {
  await pumpUntil(tenant.businessId, async () => messageRow(chatJid, waMessageId));
  return vi.waitFor(
    async () => {
      const row = await messageRow(chatJid, waMessageId);
      expect(row?.mediaStatus).not.toBe("pending");
      return row!;
    },
    { timeout, interval: 100 },
  );
}

describe("media from customers", () => {
  const chatJid = `${uniquePhone().slice(1)}@s.whatsapp.net`;
  const photo = randomBytes(300_000);
  const voice = randomBytes(24_000);

  it("a photo and a voice note are stored in R2 and read back byte for byte, with Range for seeking", async () => {
    expect(
      (
        await inbound([
          {
            chatJid,
            messageId: "PHOTO-1",
            pushName: "Dana",
            text: "the broken part",
            media: { kind: "image", mimetype: "image/jpeg", dataBase64: base64(photo) },
          },
          {
            chatJid,
            messageId: "VOICE-1",
            media: {
              kind: "audio",
              mimetype: "audio/ogg; codecs=opus",
              dataBase64: base64(voice),
              voiceNote: true,
              seconds: 3,
            },
          },
        ])
      ).status,
    ).toBe(200);
    const image = await settledMedia(chatJid, "PHOTO-1");
    const audio = await settledMedia(chatJid, "VOICE-1");
    expect(image).toMatchObject({
      kind: "image",
      mediaStatus: "stored",
      mediaMimeType: "image/jpeg",
      mediaSizeBytes: photo.length,
      mediaSha256: await sha256Hex(photo),
      mediaKey: `wa/${tenant.businessId}/in/${image.id}`,
    });
    expect(audio).toMatchObject({ kind: "audio", mediaStatus: "stored", mediaSha256: await sha256Hex(voice) });

    // What the inbox shows: the media's state and its URL, never the shard's ref or the R2 key.
    const page = (await (
      await tenant.agent.request("GET", `/api/whatsapp/conversations/${image.conversationId}/messages`)
    ).json()) as { messages: Record<string, unknown>[] };
    const shown = page.messages.find((m) => m.waMessageId === "PHOTO-1")!;
    expect(shown).toMatchObject({
      kind: "image",
      text: "the broken part",
      mediaStatus: "stored",
      mediaUrl: `/api/whatsapp/messages/${image.id}/media`,
      media: { mimetype: "image/jpeg", sizeBytes: photo.length },
    });
    expect(shown).not.toHaveProperty("mediaRef");
    expect(shown).not.toHaveProperty("mediaKey");
    const voiceShown = page.messages.find((m) => m.waMessageId === "VOICE-1")!;
    expect(voiceShown.media).toEqual({
      mimetype: "audio/ogg; codecs=opus",
      sizeBytes: voice.length,
      voiceNote: true,
      seconds: 3,
    });

    const whole = await tenant.agent.request("GET", `/api/whatsapp/messages/${image.id}/media`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("image/jpeg");
    expect(whole.headers.get("accept-ranges")).toBe("bytes");
    expect(whole.headers.get("content-disposition")).toMatch(/^inline/);
    expect(sameBytes(await whole.arrayBuffer(), photo)).toBe(true);

    const voiceRes = await tenant.agent.request("GET", `/api/whatsapp/messages/${audio.id}/media`);
    expect(voiceRes.headers.get("content-type")).toBe("audio/ogg; codecs=opus");
    expect(sameBytes(await voiceRes.arrayBuffer(), voice)).toBe(true);

    // Seeking: a byte range, an open-ended one, a suffix, and one past the end.
    const part = await tenant.agent.request("GET", `/api/whatsapp/messages/${image.id}/media`, undefined, {
      Range: "bytes=1000-1999",
    });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 1000-1999/${photo.length}`);
    expect(sameBytes(await part.arrayBuffer(), photo.subarray(1000, 2000))).toBe(true);
    const tail = await tenant.agent.request("GET", `/api/whatsapp/messages/${audio.id}/media`, undefined, {
      Range: "bytes=-100",
    });
    expect(tail.status).toBe(206);
    expect(sameBytes(await tail.arrayBuffer(), voice.subarray(voice.length - 100))).toBe(true);
    const open = await tenant.agent.request("GET", `/api/whatsapp/messages/${audio.id}/media`, undefined, {
      Range: "bytes=20000-",
    });
    expect(sameBytes(await open.arrayBuffer(), voice.subarray(20_000))).toBe(true);
    const past = await tenant.agent.request("GET", `/api/whatsapp/messages/${audio.id}/media`, undefined, {
      Range: `bytes=${voice.length}-`,
    });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${voice.length}`);

    // A download link asks for an attachment.
    const download = await tenant.agent.request("GET", `/api/whatsapp/messages/${image.id}/media?download=1`);
    expect(download.headers.get("content-disposition")).toMatch(/^attachment/);
    await download.arrayBuffer();
  });

  it("another business cannot read them (404), nor can a signed-out request (401)", async () => {
    const image = await messageRow(chatJid, "PHOTO-1");
    const foreign = await other.owner.request("GET", `/api/whatsapp/messages/${image!.id}/media`);
    expect(foreign.status).toBe(404);
    expect((await errorOf(foreign)).code).toBe("not_found");
    expect((await call(`/api/whatsapp/messages/${image!.id}/media`)).status).toBe(401);
  });

  it("media WhatsApp no longer has is marked expired; a download that fails once is retried and stored", async () => {
    const flaky = randomBytes(5_000);
    await inbound([
      {
        chatJid,
        messageId: "OLD-DOC",
        media: {
          kind: "document",
          mimetype: "application/pdf",
          dataBase64: base64(randomBytes(100)),
          fileName: "old.pdf",
          expired: true,
        },
      },
      {
        chatJid,
        messageId: "FLAKY-VIDEO",
        media: { kind: "video", mimetype: "video/mp4", dataBase64: base64(flaky), failTimes: 1 },
      },
    ]);
    const expired = await settledMedia(chatJid, "OLD-DOC");
    expect(expired).toMatchObject({ mediaStatus: "expired", mediaKey: null, mediaRef: null });
    const res = await tenant.agent.request("GET", `/api/whatsapp/messages/${expired.id}/media`);
    expect(res.status).toBe(404);
    expect((await errorOf(res)).message).toMatch(/expired/);

    const video = await settledMedia(chatJid, "FLAKY-VIDEO");
    expect(video).toMatchObject({ mediaStatus: "stored", mediaSha256: await sha256Hex(flaky) });
  });
});

describe("files from agents", () => {
  const chatJid = `${uniquePhone().slice(1)}@s.whatsapp.net`;
  let conversationId: number;

  beforeAll(async () => {
    await inbound([{ chatJid, messageId: "ASK-1", text: "can you send the invoice?", pushName: "Noa" }]);
    const message = await pumpUntil(tenant.businessId, async () => messageRow(chatJid, "ASK-1"));
    conversationId = message.conversationId;
  });

  const attach = (bytes: Uint8Array, type: string, query: string, headers: Record<string, string> = {}) =>
    tenant.agent.request("POST", `/api/whatsapp/conversations/${conversationId}/media?${query}`, bytes, {
      "Content-Type": type,
      ...headers,
    });

  it("a PDF reaches the customer once, reads back byte for byte, and gets delivery ticks", async () => {
    const pdf = new Uint8Array([...new TextEncoder().encode("%PDF-1.4\n"), ...randomBytes(150_000)]);
    const query = `fileName=${encodeURIComponent("חשבונית 2026.pdf")}&caption=${encodeURIComponent("your invoice")}&clientMessageId=invoice-0001`;
    const first = await attach(pdf, "application/pdf", query);
    expect(first.status).toBe(202);
    const { outboundId, duplicate } = (await first.json()) as { outboundId: number; duplicate: boolean };
    expect(duplicate).toBe(false);
    // The dashboard retries (a lost answer): one message.
    const again = await attach(pdf, "application/pdf", query);
    expect(await again.json()).toEqual({ outboundId, duplicate: true });

    const sent = await vi.waitFor(
      async () => {
        const [row] = await db.select().from(waOutbound).where(eq(waOutbound.id, outboundId));
        expect(row!.status).toBe("sent");
        return row!;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(sent).toMatchObject({ mediaKind: "document", mediaFileName: "חשבונית 2026.pdf", text: "your invoice" });

    const atPhone = (await shard("GET", `/_fake/sessions/${tenant.businessId}/sent`)).body.sent as {
      messageId: string;
      chatJid: string;
      text: string;
      media?: { kind: string; fileName: string; sha256: string; sizeBytes: number };
    }[];
    const mine = atPhone.filter((s) => s.chatJid === chatJid);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      messageId: sent.waMessageId,
      text: "your invoice",
      media: { kind: "document", fileName: "חשבונית 2026.pdf", sizeBytes: pdf.length, sha256: await sha256Hex(pdf) },
    });
    // What the customer's phone received, byte for byte.
    const base = shardNumber === 1 ? env.BAILEYS_SHARD_1_URL : env.BAILEYS_SHARD_2_URL;
    const received = await fetch(`${base}/_fake/sessions/${tenant.businessId}/sent/${sent.waMessageId}/media`, {
      headers: { Authorization: `Bearer ${await shardKey(shardNumber)}` },
    });
    expect(sameBytes(await received.arrayBuffer(), pdf)).toBe(true);

    // The inbox shows it with the file, readable back through the API.
    const row = await vi.waitFor(async () => expectRow(await messageRow(chatJid, sent.waMessageId!)), {
      timeout: 5_000,
    });
    expect(row).toMatchObject({ kind: "document", fromMe: true, status: "sent", mediaStatus: "stored" });
    const back = await tenant.agent.request("GET", `/api/whatsapp/messages/${row!.id}/media`);
    expect(back.headers.get("content-disposition")).toBe(
      `attachment; filename*=UTF-8''${encodeURIComponent("חשבונית 2026.pdf")}`,
    );
    expect(sameBytes(await back.arrayBuffer(), pdf)).toBe(true);

    // Ticks: the phone's receipts move it to delivered, then read.
    await shard("POST", `/_fake/sessions/${tenant.businessId}/status`, {
      updates: [{ chatJid, messageId: sent.waMessageId, status: 3 }],
    });
    await pumpUntil(
      tenant.businessId,
      async () => (await messageRow(chatJid, sent.waMessageId!))?.status === "delivered",
    );
    await shard("POST", `/_fake/sessions/${tenant.businessId}/status`, {
      updates: [{ chatJid, messageId: sent.waMessageId, status: 4 }],
    });
    await pumpUntil(tenant.businessId, async () => (await messageRow(chatJid, sent.waMessageId!))?.status === "read");
    // The shard's echo of our own send added nothing.
    const [{ n }] = (await db
      .select({ n: count() })
      .from(waMessages)
      .where(and(eq(waMessages.businessId, tenant.businessId), eq(waMessages.waMessageId, sent.waMessageId!)))) as [
      { n: number },
    ];
    expect(n).toBe(1);
  });

  it("a file over WhatsApp's limit for its kind is a 413 naming `file`; nothing is stored or sent", async () => {
    const before = await db.select({ n: count() }).from(waOutbound).where(eq(waOutbound.businessId, tenant.businessId));
    const image = randomBytes(5 * 1024 * 1024 + 1);
    const res = await attach(image, "image/jpeg", "clientMessageId=too-big-0001");
    expect(res.status).toBe(413);
    const error = await errorOf(res);
    expect(error.code).toBe("payload_too_large");
    expect(error.details).toMatchObject({
      fields: [{ field: "file", message: expect.stringMatching(/image files of at most 5 MB/) }],
      kind: "image",
      maxBytes: 5 * 1024 * 1024,
    });
    // The same bytes as a document are within its 100 MB limit — but a voice note must be audio.
    const notAudio = await attach(randomBytes(10), "application/pdf", "voiceNote=true");
    expect(notAudio.status).toBe(400);
    expect((await errorOf(notAudio)).details).toMatchObject({ fields: [{ field: "voiceNote" }] });
    const unsupported = await attach(randomBytes(10), "text/html", "");
    expect(unsupported.status).toBe(415);
    const after = await db.select({ n: count() }).from(waOutbound).where(eq(waOutbound.businessId, tenant.businessId));
    expect(after).toEqual(before);
  });
});

describe("LID ids: one customer, one lead, one conversation", () => {
  it("a chat that switches from the phone id to a LID mid-conversation stays one conversation; replies go to the LID", async () => {
    const phone = uniquePhone();
    const pn = `${phone.slice(1)}@s.whatsapp.net`;
    const lid = `${Math.floor(Math.random() * 1e14) + 1e14}@lid`;
    await inbound([{ chatJid: pn, messageId: "PN-1", text: "hi, by phone", pushName: "Yael" }]);
    // WhatsApp switches the chat to the LID (and says which phone it is).
    await inbound([{ chatJid: lid, chatJidAlt: pn, messageId: "LID-1", text: "now by LID", pushName: "Yael" }]);
    const second = await pumpUntil(tenant.businessId, async () => messageRow(pn, "LID-1"));
    const first = await messageRow(pn, "PN-1");
    expect(second.conversationId).toBe(first!.conversationId);

    const conversations = await db
      .select()
      .from(waConversations)
      .where(and(eq(waConversations.businessId, tenant.businessId), eq(waConversations.id, first!.conversationId)));
    expect(conversations[0]).toMatchObject({ chatJid: pn, replyJid: lid, lastMessagePreview: "now by LID" });
    expect(await db.select().from(waConversations).where(eq(waConversations.chatJid, lid))).toEqual([]);
    const customerLeads = await db
      .select()
      .from(leads)
      .where(and(eq(leads.businessId, tenant.businessId), eq(leads.phoneE164, phone)));
    expect(customerLeads).toHaveLength(1);
    expect(conversations[0]!.leadId).toBe(customerLeads[0]!.id);

    // The agent replies: it goes to the LID the customer now writes from, and lands in the same conversation.
    const reply = await tenant.agent.request("POST", `/api/whatsapp/conversations/${first!.conversationId}/reply`, {
      text: "got it",
      clientMessageId: "lid-reply-0001",
    });
    expect(reply.status).toBe(202);
    const { outboundId } = (await reply.json()) as { outboundId: number };
    const sent = await vi.waitFor(
      async () => {
        const [row] = await db.select().from(waOutbound).where(eq(waOutbound.id, outboundId));
        expect(row!.status).toBe("sent");
        return row!;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(sent.chatJid).toBe(lid);
    const atPhone = (await shard("GET", `/_fake/sessions/${tenant.businessId}/sent`)).body.sent as {
      chatJid: string;
      text: string;
    }[];
    expect(atPhone.filter((s) => s.text === "got it")).toEqual([expect.objectContaining({ chatJid: lid })]);
    // Stored right after the shard's answer, under the phone JID's conversation.
    const stored = await vi.waitFor(async () => expectRow(await messageRow(pn, sent.waMessageId!)), { timeout: 5_000 });
    expect(stored.conversationId).toBe(first!.conversationId);
  });

  it("a chat first seen only by LID joins the customer's phone conversation once WhatsApp maps it", async () => {
    const phone = uniquePhone();
    const pn = `${phone.slice(1)}@s.whatsapp.net`;
    const lid = `${Math.floor(Math.random() * 1e14) + 1e14}@lid`;
    await inbound([{ chatJid: pn, messageId: "OLD-PN", text: "last year, by phone", pushName: "Omer" }]);
    await inbound([{ chatJid: lid, messageId: "ANON-1", text: "who is this?", pushName: "Omer" }]);
    const anon = await pumpUntil(tenant.businessId, async () => messageRow(lid, "ANON-1"));
    const byPhone = await messageRow(pn, "OLD-PN");
    // Unknown LID: kept apart for now (no phone, no lead).
    expect(anon.conversationId).not.toBe(byPhone!.conversationId);

    // WhatsApp tells the session who the LID is (Baileys' lid-mapping.update).
    await shard("POST", `/_fake/sessions/${tenant.businessId}/lid-mapping`, { mappings: [{ lid, pn }] });
    await pumpUntil(tenant.businessId, async () => (await messageRow(pn, "ANON-1")) ?? false);
    // And later messages by LID alone find it too (the session's mapping store gives the phone).
    await inbound([{ chatJid: lid, messageId: "ANON-2", text: "me again" }]);
    const later = await pumpUntil(tenant.businessId, async () => messageRow(pn, "ANON-2"));

    const moved = await messageRow(pn, "ANON-1");
    expect(moved!.conversationId).toBe(byPhone!.conversationId);
    expect(later.conversationId).toBe(byPhone!.conversationId);
    expect(await db.select().from(waConversations).where(eq(waConversations.chatJid, lid))).toEqual([]);
    const [conversation] = await db
      .select()
      .from(waConversations)
      .where(eq(waConversations.id, byPhone!.conversationId));
    expect(conversation).toMatchObject({ chatJid: pn, replyJid: lid, lastMessagePreview: "me again", unreadCount: 3 });
    expect(
      await db
        .select()
        .from(leads)
        .where(and(eq(leads.businessId, tenant.businessId), eq(leads.phoneE164, phone))),
    ).toHaveLength(1);
  });
});

describe("the session watchdog on the connect page", () => {
  it("GET /api/whatsapp/status carries the shard's watchdog state for the session", async () => {
    const res = await tenant.owner.request("GET", "/api/whatsapp/status");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { session: { state: string; watchdog?: Record<string, unknown> } };
    expect(body.session.state).toBe("open");
    expect(body.session.watchdog).toMatchObject({ state: "ok", reconnects: 0, lastTrafficAt: expect.any(String) });
  });
});
