/**
 * Media both ways, LID ↔ phone ids, and the session watchdog, through the shard's HTTP API with the
 * fake driver (in-process; the outbox is read directly, nothing is forwarded):
 *  - an inbound photo's event carries a ref the edge can download the bytes with, byte for byte;
 *    expired media is a 410, a flaky download a 502 the edge retries;
 *  - a media send goes out once per idempotency key, and a truncated body is refused;
 *  - a chat that switches from the phone id to a LID still names the phone (chatJidAlt);
 *  - a session that says open but has gone silent is probed and reconnected, and says why.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { encodeHeaderJson, MEDIA_SHA256_HEADER, SEND_MEDIA_HEADER } from "../../contracts/shard-api.js";
import type { ShardEvent } from "../../contracts/shard-events.js";
import type { FakeSession } from "../src/sessions/fake-session.js";
import { createShard, type Shard } from "../src/shard.js";
import { TEST_SECRET, testConfig } from "./helpers/config.js";
import { waitFor } from "./helpers/fake-wa-server.js";

const auth = { authorization: `Bearer ${TEST_SECRET}`, "content-type": "application/json" };
const shards: Shard[] = [];

afterEach(async () => {
  for (const s of shards.splice(0)) await s.shutdown().catch(() => {});
});

function makeShard(overrides: Record<string, string> = {}): Shard {
  const shard = createShard(testConfig(overrides));
  shards.push(shard);
  return shard;
}

async function call(shard: Shard, method: string, path: string, body?: unknown) {
  const res = await shard.app.request(path, {
    method,
    headers: auth,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function openSession(shard: Shard, businessId: number) {
  expect((await call(shard, "POST", `/sessions/${businessId}/start`, {})).status).toBe(200);
  await waitFor(() => shard.manager.view(businessId)?.state === "qr");
  const paired = await call(shard, "POST", `/_fake/sessions/${businessId}/pair`, { phoneNumber: "972501234567" });
  expect(paired.body.state).toBe("open");
}

function events(shard: Shard, businessId: number): ShardEvent[] {
  return shard.outbox.peek(businessId, 1000).map((r) => JSON.parse(r.payload) as ShardEvent);
}

function upserts(shard: Shard, businessId: number) {
  return events(shard, businessId).filter(
    (e): e is Extract<ShardEvent, { type: "message.upsert" }> => e.type === "message.upsert",
  );
}

describe("inbound media", () => {
  it("the event carries a ref; downloading it returns the exact bytes with their SHA-256", async () => {
    const shard = makeShard();
    await openSession(shard, 1);
    const photo = randomBytes(50_000);
    const voice = randomBytes(8_000);
    const res = await call(shard, "POST", "/_fake/sessions/1/inbound", {
      messages: [
        {
          chatJid: "972509999999@s.whatsapp.net",
          messageId: "PHOTO-1",
          text: "my invoice photo",
          media: { kind: "image", mimetype: "image/jpeg", dataBase64: photo.toString("base64") },
        },
        {
          chatJid: "972509999999@s.whatsapp.net",
          messageId: "VOICE-1",
          media: {
            kind: "audio",
            mimetype: "audio/ogg; codecs=opus",
            dataBase64: voice.toString("base64"),
            voiceNote: true,
            seconds: 4,
          },
        },
      ],
    });
    expect(res.status).toBe(200);
    const [image, audio] = upserts(shard, 1);
    expect(image).toMatchObject({
      kind: "image",
      text: "my invoice photo",
      media: { mimetype: "image/jpeg", sizeBytes: 50_000, ref: expect.stringMatching(/^m1\./) },
    });
    expect(audio).toMatchObject({ kind: "audio", media: { voiceNote: true, seconds: 4 } });

    for (const [event, bytes] of [
      [image, photo],
      [audio, voice],
    ] as const) {
      const download = await shard.app.request("/sessions/1/media/download", {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ ref: event!.media!.ref }),
      });
      expect(download.status).toBe(200);
      const got = Buffer.from(await download.arrayBuffer());
      expect(got.equals(bytes)).toBe(true);
      expect(download.headers.get(MEDIA_SHA256_HEADER)).toBe(createHash("sha256").update(bytes).digest("hex"));
      expect(download.headers.get("content-type")).toBe(event!.media!.mimetype);
    }
  });

  it("expired media is 410 media_expired; a flaky download is 502 media_download_failed, then succeeds", async () => {
    const shard = makeShard();
    await openSession(shard, 1);
    const bytes = randomBytes(1000);
    await call(shard, "POST", "/_fake/sessions/1/inbound", {
      messages: [
        {
          chatJid: "972509999999@s.whatsapp.net",
          messageId: "OLD",
          media: {
            kind: "document",
            mimetype: "application/pdf",
            dataBase64: "AAAA",
            fileName: "a.pdf",
            expired: true,
          },
        },
        {
          chatJid: "972509999999@s.whatsapp.net",
          messageId: "FLAKY",
          media: { kind: "video", mimetype: "video/mp4", dataBase64: bytes.toString("base64"), failTimes: 1 },
        },
      ],
    });
    const [old, flaky] = upserts(shard, 1);
    expect(old!.media).toMatchObject({ fileName: "a.pdf" });
    const expired = await call(shard, "POST", "/sessions/1/media/download", { ref: old!.media!.ref });
    expect(expired.status).toBe(410);
    expect(expired.body.error.code).toBe("media_expired");

    const first = await call(shard, "POST", "/sessions/1/media/download", { ref: flaky!.media!.ref });
    expect(first.status).toBe(502);
    expect(first.body.error.code).toBe("media_download_failed");
    const second = await shard.app.request("/sessions/1/media/download", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ ref: flaky!.media!.ref }),
    });
    expect(second.status).toBe(200);
    expect(Buffer.from(await second.arrayBuffer()).equals(bytes)).toBe(true);

    const bad = await call(shard, "POST", "/sessions/1/media/download", { ref: "not-a-ref" });
    expect(bad.status).toBe(400);
  });
});

describe("outbound media", () => {
  it("sends a PDF once per idempotency key, and refuses a body that does not match its size and hash", async () => {
    const shard = makeShard();
    await openSession(shard, 1);
    const pdf = Buffer.concat([Buffer.from("%PDF-1.4\n"), randomBytes(20_000)]);
    const meta = {
      to: "972509999999",
      kind: "document",
      mimetype: "application/pdf",
      fileName: "חשבונית.pdf",
      caption: "your invoice",
      sizeBytes: pdf.length,
      sha256: createHash("sha256").update(pdf).digest("hex"),
      idempotencyKey: "outbound:77",
    };
    const send = (body: Buffer, m: object = meta) =>
      shard.app.request("/sessions/1/media-messages", {
        method: "POST",
        headers: {
          authorization: `Bearer ${TEST_SECRET}`,
          "content-type": "application/pdf",
          [SEND_MEDIA_HEADER]: encodeHeaderJson(m),
        },
        body: new Uint8Array(body),
      });
    const first = await send(pdf);
    expect(first.status).toBe(201);
    const sent = (await first.json()) as { messageId: string; chatJid: string };
    expect(sent.chatJid).toBe("972509999999@s.whatsapp.net");
    const again = await send(pdf);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ messageId: sent.messageId, replayed: true });

    const truncated = await send(pdf.subarray(0, 100), { ...meta, idempotencyKey: "outbound:78" });
    expect(truncated.status).toBe(400);

    const session = shard.manager.get(1) as FakeSession;
    expect(session.sent).toHaveLength(1);
    expect(session.sent[0]).toMatchObject({
      messageId: sent.messageId,
      text: "your invoice",
      media: { kind: "document", fileName: "חשבונית.pdf", sizeBytes: pdf.length, sha256: meta.sha256 },
    });
    expect(session.sentMedia.get(sent.messageId)!.equals(pdf)).toBe(true);
  });
});

describe("LID and phone ids", () => {
  it("a chat that switches from the phone id to a LID still names the phone, from the alt id or the mapping store", async () => {
    const shard = makeShard();
    await openSession(shard, 1);
    const pn = "972508888888@s.whatsapp.net";
    const lid = "123456789012345@lid";
    await call(shard, "POST", "/_fake/sessions/1/inbound", {
      messages: [{ chatJid: pn, messageId: "A", text: "from my phone id" }],
    });
    // WhatsApp now addresses the chat by LID and says which phone it is (remoteJidAlt).
    await call(shard, "POST", "/_fake/sessions/1/inbound", {
      messages: [{ chatJid: lid, chatJidAlt: pn, messageId: "B", text: "now by LID" }],
    });
    // A LID with no alt: unknown until the mapping arrives, then resolved from the store.
    await call(shard, "POST", "/_fake/sessions/1/inbound", {
      messages: [{ chatJid: "999999999999999@lid", messageId: "C", text: "who am I" }],
    });
    expect((await call(shard, "POST", "/_fake/sessions/1/lid-mapping", { mappings: [{ lid, pn }] })).status).toBe(200);
    await call(shard, "POST", "/_fake/sessions/1/inbound", {
      messages: [{ chatJid: lid, messageId: "D", text: "again" }],
    });
    const byId = new Map(upserts(shard, 1).map((e) => [e.key.messageId, e]));
    expect(byId.get("A")!.key).toEqual({ chatJid: pn, messageId: "A", fromMe: false });
    expect(byId.get("B")!.key).toMatchObject({ chatJid: lid, chatJidAlt: pn });
    expect(byId.get("C")!.key.chatJidAlt).toBeUndefined();
    expect(byId.get("D")!.key).toMatchObject({ chatJid: lid, chatJidAlt: pn });
    const mapping = events(shard, 1).find((e) => e.type === "contact.lid_mapping");
    expect(mapping).toMatchObject({ lid, pn, id: `lid:1:${lid}:${pn}` });

    // A reply can go to either address.
    const reply = await call(shard, "POST", "/sessions/1/messages", { to: lid, text: "hi", idempotencyKey: "k1" });
    expect(reply.status).toBe(201);
    expect(reply.body.chatJid).toBe(lid);
  });
});

describe("session watchdog", () => {
  const fast = {
    SHARD_WATCHDOG_SILENCE_MS: "150",
    SHARD_WATCHDOG_PROBE_TIMEOUT_MS: "100",
    SHARD_WATCHDOG_INTERVAL_MS: "50",
    METRICS_TOKEN: "metrics-token-0123456789",
  };

  it("an idle but live session is probed and left alone", async () => {
    const shard = makeShard(fast);
    await openSession(shard, 1);
    shard.manager.startWatchdog();
    await waitFor(async () => {
      const m = await shard.metrics.registry.getSingleMetricAsString("shard_watchdog_probes_total");
      return /result="answered"[^\n]* [1-9]/.test(m);
    });
    const view = (await call(shard, "GET", "/sessions/1")).body;
    expect(view).toMatchObject({ state: "open", reconnectAttempts: 0, watchdog: { state: "ok", reconnects: 0 } });
  });

  it("a session that says open but has gone silent is probed, found dead, reconnected, and says why", async () => {
    const shard = makeShard(fast);
    await openSession(shard, 1);
    shard.manager.startWatchdog();
    const states: string[] = [];
    const seen = shard.outbox.peek(1, 1000).length;
    expect((await call(shard, "POST", "/_fake/sessions/1/silence")).status).toBe(200);

    // It goes connecting (with the watchdog's reason) and comes back open on a new socket.
    const view = await waitFor(async () => {
      const v = (await call(shard, "GET", "/sessions/1")).body;
      states.push(v.state);
      return v.watchdog?.reconnects === 1 && v.state === "open" && v;
    });
    expect(view.watchdog).toMatchObject({
      state: "ok",
      reconnects: 1,
      reason: expect.stringMatching(/^watchdog: no traffic for \d+s and no answer to a ping/),
      lastProbeAt: expect.any(String),
    });
    const transitions = events(shard, 1)
      .slice(seen)
      .filter((e) => e.type === "connection.update");
    expect(transitions.map((e) => (e as { state: string }).state)).toEqual(["connecting", "open"]);
    expect((transitions[0] as { reason?: string }).reason).toMatch(/^watchdog: /);

    const metrics = await shard.app.request("/metrics", {
      headers: { authorization: `Bearer ${fast.METRICS_TOKEN}` },
    });
    const text = await metrics.text();
    expect(text).toMatch(/shard_watchdog_reconnects_total\{shard="1"\} 1/);
    expect(text).toMatch(/shard_watchdog_probes_total\{result="unanswered",shard="1"\} 1/);
    expect(text).toMatch(/shard_watchdog_sessions\{state="ok",shard="1"\} 1/);

    // Sends work again on the new socket.
    const send = await call(shard, "POST", "/sessions/1/messages", {
      to: "972509999999",
      text: "back",
      idempotencyKey: "w1",
    });
    expect(send.status).toBe(201);
  });
});
