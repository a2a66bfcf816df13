/**
 * The shard's HTTP API with the fake session driver, in-process, events forwarded to a real local
 * edge stub over HTTP: what the edge sees when it starts, pairs, sends, logs out, and when it gets
 * things wrong (bad secret, bad input, stale fencing token, a full shard).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  sendMessageResponse,
  sessionInfo,
  sessionList,
  shardErrorBody,
  shardErrorStatus,
  shardHealth,
} from "../../contracts/shard-api.js";
import { messageEventId, statusEventId } from "../../contracts/shard-events.js";
import type { FakeSession } from "../src/sessions/fake-session.js";
import { createShard, type Shard } from "../src/shard.js";
import { TEST_SECRET, tempDir, testConfig } from "./helpers/config.js";
import { type EdgeStub, startEdgeStub } from "./helpers/edge-stub.js";
import { waitFor } from "./helpers/fake-wa-server.js";

const auth = { authorization: `Bearer ${TEST_SECRET}`, "content-type": "application/json" };
const shards: Shard[] = [];
const stubs: EdgeStub[] = [];

afterEach(async () => {
  for (const s of shards.splice(0)) await s.shutdown().catch(() => {});
  for (const s of stubs.splice(0)) await s.close();
});

function makeShard(overrides: Record<string, string> = {}): Shard {
  const shard = createShard(testConfig(overrides));
  shards.push(shard);
  return shard;
}

async function call(
  shard: Shard,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = auth,
) {
  const res = await shard.app.request(path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function openSession(shard: Shard, businessId: number, extra: Record<string, unknown> = {}) {
  const started = await call(shard, "POST", `/sessions/${businessId}/start`, extra);
  expect(started.status).toBe(200);
  await waitFor(() => shard.manager.view(businessId)?.state === "qr");
  const paired = await call(shard, "POST", `/_fake/sessions/${businessId}/pair`, { phoneNumber: "972501234567" });
  expect(paired.body.state).toBe("open");
}

describe("authentication and errors", () => {
  it("refuses a missing or wrong shard secret with 401 in the error shape; /health needs none", async () => {
    const shard = makeShard();
    const none = await call(shard, "GET", "/sessions", undefined, {});
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
    const wrong = await call(shard, "POST", "/sessions/1/start", {}, { authorization: "Bearer not-the-secret" });
    expect(wrong.status).toBe(401);
    expect(shard.manager.size).toBe(0);
    const fake = await call(shard, "POST", "/_fake/sessions/1/pair", { phoneNumber: "972501234567" }, {});
    expect(fake.status).toBe(401);

    const health = await call(shard, "GET", "/health", undefined, {});
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      status: "ok",
      shardId: 1,
      sessions: { total: 0, max: 200, byState: { connecting: 0, qr: 0, open: 0, closed: 0, logged_out: 0 } },
      outbox: { pending: 0, oldestAgeSeconds: null },
      memory: { rssBytes: expect.any(Number), heapUsedBytes: expect.any(Number) },
    });
  });

  it("answers bad input with 400 naming the fields", async () => {
    const shard = makeShard();
    const badId = await call(shard, "POST", "/sessions/abc/start", {});
    expect(badId.status).toBe(400);
    expect(badId.body.error.code).toBe("validation_failed");
    expect(badId.body.error.message).toContain("businessId");

    const badJson = await call(shard, "POST", "/sessions/1/start", "{not json");
    expect(badJson).toMatchObject({ status: 400, body: { error: { code: "invalid_json" } } });

    const badStart = await call(shard, "POST", "/sessions/1/start", { fencingToken: -1, color: "red" });
    expect(badStart.status).toBe(400);
    expect(badStart.body.error.message).toContain("fencingToken");

    const badSend = await call(shard, "POST", "/sessions/1/messages", { to: "not a number", text: "" });
    expect(badSend.status).toBe(400);
    expect(badSend.body.error.message).toBe("Invalid body: to, text, idempotencyKey");
    expect(badSend.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual([
      "to",
      "text",
      "idempotencyKey",
    ]);

    const unknown = await call(shard, "GET", "/nope");
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
    const noSession = await call(shard, "GET", "/sessions/77");
    expect(noSession).toMatchObject({ status: 404, body: { error: { code: "session_not_found" } } });
  });

  it("serves /metrics only with METRICS_TOKEN, and not at all without one", async () => {
    const off = makeShard();
    expect((await call(off, "GET", "/metrics", undefined, {})).status).toBe(404);

    const on = makeShard({ METRICS_TOKEN: "metrics-token" });
    expect((await call(on, "GET", "/metrics", undefined, {})).status).toBe(401);
    expect((await call(on, "GET", "/metrics", undefined, { authorization: `Bearer ${TEST_SECRET}` })).status).toBe(401);
    await openSession(on, 3);
    const res = await on.app.request("/metrics", { headers: { authorization: "Bearer metrics-token" } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('shard_sessions{state="open",shard="1"} 1');
    expect(text).toContain("process_resident_memory_bytes");
  });

  it("has no fake-driver routes when the driver is Baileys", async () => {
    const shard = makeShard({ SHARD_SESSION_DRIVER: "baileys" });
    const res = await call(shard, "POST", "/_fake/sessions/1/pair", { phoneNumber: "972501234567" });
    expect(res.status).toBe(404);
  });
});

describe("contract", () => {
  it("answers in the shapes contracts/shard-api.ts declares, with the declared status per error code", async () => {
    const shard = makeShard({ SHARD_MAX_SESSIONS: "1" });
    const started = await call(shard, "POST", "/sessions/50/start", { fencingToken: 1 });
    sessionInfo.parse(started.body);
    await waitFor(() => shard.manager.view(50)?.state === "qr");
    sessionInfo.parse((await call(shard, "GET", "/sessions/50")).body);
    await call(shard, "POST", "/_fake/sessions/50/pair", { phoneNumber: "972501234567" });
    const sent = await call(shard, "POST", "/sessions/50/messages", {
      to: "972500000001",
      text: "x",
      idempotencyKey: "c",
    });
    sendMessageResponse.parse(sent.body);
    sessionList.parse((await call(shard, "GET", "/sessions")).body);
    shardHealth.parse((await call(shard, "GET", "/health", undefined, {})).body);

    const errors = [
      await call(shard, "POST", "/sessions/51/start", {}),
      await call(shard, "POST", "/sessions/50/start", { fencingToken: 0 }),
      await call(shard, "GET", "/sessions/52"),
      await call(shard, "POST", "/sessions/50/messages", {}),
      await call(shard, "GET", "/sessions", undefined, {}),
    ];
    expect(errors.map((e) => e.body.error.code)).toEqual([
      "shard_at_capacity",
      "stale_fencing_token",
      "session_not_found",
      "validation_failed",
      "unauthorized",
    ]);
    for (const e of errors) {
      const body = shardErrorBody.parse(e.body);
      expect(e.status).toBe(shardErrorStatus[body.error.code as keyof typeof shardErrorStatus]);
    }
    const stopped = await call(shard, "POST", "/sessions/50/stop", {});
    expect(sessionInfo.parse(stopped.body)).toMatchObject({ state: "closed", reason: "stopped by request" });
  });
});

describe("session lifecycle", () => {
  it("start returns a QR (raw and PNG data URL), pairing opens it, and start again is a no-op", async () => {
    const shard = makeShard();
    const started = await call(shard, "POST", "/sessions/5/start", {});
    expect(started.body).toMatchObject({ businessId: 5, shardId: 1, state: "connecting" });
    await waitFor(() => shard.manager.view(5)?.state === "qr");
    const qr = await call(shard, "GET", "/sessions/5");
    expect(qr.body.qr).toBe("fake-qr:5:1");
    expect(qr.body.qrDataUrl).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/=]{100,}$/);

    await call(shard, "POST", "/_fake/sessions/5/pair", { phoneNumber: "972501234567" });
    const again = await call(shard, "POST", "/sessions/5/start", {});
    expect(again.body).toMatchObject({ state: "open", phoneNumber: "972501234567" });

    const list = await call(shard, "GET", "/sessions");
    expect(list.body.sessions).toEqual([expect.objectContaining({ businessId: 5, state: "open", shardId: 1 })]);
  });

  it("offers a pairing code instead of a QR when asked", async () => {
    const shard = makeShard();
    await call(shard, "POST", "/sessions/6/start", { pairingPhoneNumber: "972501234567" });
    await waitFor(() => shard.manager.view(6)?.state === "qr");
    const s = await call(shard, "GET", "/sessions/6");
    expect(s.body.pairingCode).toBe("FAKE1234");
    expect(s.body.qr).toBeUndefined();
  });

  it("logout unlinks, wipes auth and frees the slot; a later send says the session is not open", async () => {
    const shard = makeShard();
    await openSession(shard, 7);
    const out = await call(shard, "POST", "/sessions/7/logout", {});
    expect(out.body).toMatchObject({ state: "logged_out", reason: "logged out by request" });
    expect(shard.manager.size).toBe(0);
    const creds = shard.db.prepare("SELECT COUNT(*) AS n FROM auth_creds WHERE business_id = 7").get() as { n: number };
    expect(creds.n).toBe(0);
    const send = await call(shard, "POST", "/sessions/7/messages", {
      to: "972500000001",
      text: "hi",
      idempotencyKey: "a",
    });
    expect(send).toMatchObject({
      status: 409,
      body: { error: { code: "session_not_open", details: { state: "logged_out" } } },
    });
  });

  it("applies the reconnect policy: 428 reconnects, 401 wipes and stops", async () => {
    const shard = makeShard();
    await openSession(shard, 8);
    await call(shard, "POST", "/_fake/sessions/8/disconnect", { statusCode: 428 });
    expect(shard.manager.view(8)).toMatchObject({ state: "closed", statusCode: 428, reconnectAttempts: 1 });
    await waitFor(() => shard.manager.view(8)?.state === "open", 2000);

    await call(shard, "POST", "/_fake/sessions/8/disconnect", { statusCode: 401 });
    expect(shard.manager.view(8)).toMatchObject({ state: "logged_out", statusCode: 401 });
    expect(shard.manager.size).toBe(0);
    const keys = shard.db.prepare("SELECT COUNT(*) AS n FROM auth_creds WHERE business_id = 8").get() as { n: number };
    expect(keys.n).toBe(0);
  });

  it("restores every running session when the shard boots; stopped and logged-out ones stay down", async () => {
    const dataDir = tempDir();
    const first = makeShard({ SHARD_DATA_DIR: dataDir });
    await openSession(first, 11);
    await openSession(first, 12);
    await call(first, "POST", "/sessions/13/start", {});
    await openSession(first, 14);
    await call(first, "POST", "/sessions/14/stop", {});
    await openSession(first, 15);
    await call(first, "POST", "/sessions/15/logout", {});
    await first.shutdown();

    const second = makeShard({ SHARD_DATA_DIR: dataDir });
    const { restored } = await second.start();
    expect(restored).toBe(3);
    await waitFor(() => second.manager.countsByState().open === 2 && second.manager.countsByState().qr === 1);
    expect(second.manager.view(11)?.state).toBe("open");
    expect(second.manager.view(13)?.state).toBe("qr");
    expect(second.manager.view(14)).toMatchObject({ state: "closed", reason: "stopped by request" });
    expect(second.manager.view(15)?.state).toBe("logged_out");
  });
});

describe("capacity and fencing", () => {
  it("refuses more sessions than SHARD_MAX_SESSIONS with shard_at_capacity", async () => {
    const shard = makeShard({ SHARD_MAX_SESSIONS: "2" });
    await call(shard, "POST", "/sessions/1/start", {});
    await call(shard, "POST", "/sessions/2/start", {});
    const third = await call(shard, "POST", "/sessions/3/start", {});
    expect(third.status).toBe(503);
    expect(third.body.error).toMatchObject({ code: "shard_at_capacity", details: { shardId: 1, maxSessions: 2 } });
    // Restarting one it already holds is fine; a freed slot can be taken.
    expect((await call(shard, "POST", "/sessions/2/start", {})).status).toBe(200);
    await call(shard, "POST", "/sessions/1/logout", {});
    expect((await call(shard, "POST", "/sessions/3/start", {})).status).toBe(200);
  });

  it("refuses a start or send with a fencing token lower than the highest seen (409)", async () => {
    const shard = makeShard();
    await openSession(shard, 20, { fencingToken: 5 });
    const stale = await call(shard, "POST", "/sessions/20/start", { fencingToken: 4 });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: "stale_fencing_token", details: { fencingToken: 4, current: 5 } });
    const staleSend = await call(shard, "POST", "/sessions/20/messages", {
      to: "972500000001",
      text: "hi",
      idempotencyKey: "f1",
      fencingToken: 4,
    });
    expect(staleSend.body.error.code).toBe("stale_fencing_token");
    const okSend = await call(shard, "POST", "/sessions/20/messages", {
      to: "972500000001",
      text: "hi",
      idempotencyKey: "f2",
      fencingToken: 5,
    });
    expect(okSend.status).toBe(201);
    expect((await call(shard, "POST", "/sessions/20/start", { fencingToken: 6 })).status).toBe(200);
    expect((await call(shard, "POST", "/sessions/20/stop", { fencingToken: 5 })).body.error.code).toBe(
      "stale_fencing_token",
    );
    expect(shard.manager.view(20)).toMatchObject({ state: "open", fencingToken: 6 });
  });
});

describe("sending", () => {
  it("sends a text once per idempotency key and replays the first result", async () => {
    const shard = makeShard();
    await openSession(shard, 30);
    const body = { to: "972500000001", text: "Your table is ready", idempotencyKey: "order-1" };
    const first = await call(shard, "POST", "/sessions/30/messages", body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ chatJid: "972500000001@s.whatsapp.net", replayed: false });
    const retry = await call(shard, "POST", "/sessions/30/messages", body);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ ...first.body, replayed: true });
    const session = shard.manager.get(30) as FakeSession;
    expect(session.sent).toHaveLength(1);

    const reused = await call(shard, "POST", "/sessions/30/messages", { ...body, text: "something else" });
    expect(reused).toMatchObject({ status: 409, body: { error: { code: "idempotency_key_conflict" } } });
    expect(session.sent).toHaveLength(1);
  });

  it("remembers idempotency keys across a restart", async () => {
    const dataDir = tempDir();
    const first = makeShard({ SHARD_DATA_DIR: dataDir });
    await openSession(first, 31);
    const body = { to: "972500000001", text: "hi", idempotencyKey: "k" };
    const sent = await call(first, "POST", "/sessions/31/messages", body);
    await first.shutdown();
    const second = makeShard({ SHARD_DATA_DIR: dataDir });
    await second.start();
    await waitFor(() => second.manager.view(31)?.state === "open");
    const retry = await call(second, "POST", "/sessions/31/messages", body);
    expect(retry.body).toEqual({ ...sent.body, replayed: true });
    expect((second.manager.get(31) as FakeSession).sent).toHaveLength(0);
  });

  it("does not resend when a previous process died mid-send: send_outcome_unknown", async () => {
    const shard = makeShard();
    await openSession(shard, 32);
    shard.db
      .prepare(
        "INSERT INTO idempotency (business_id, key, request_hash, state, boot_id, message_id, created_at) VALUES (32, 'cut', ?, 'pending', 'an-older-boot', 'MSGID1', ?)",
      )
      .run(
        (await import("node:crypto"))
          .createHash("sha256")
          .update(JSON.stringify(["972500000001@s.whatsapp.net", "hi"]))
          .digest("hex"),
        Date.now(),
      );
    const res = await call(shard, "POST", "/sessions/32/messages", {
      to: "972500000001",
      text: "hi",
      idempotencyKey: "cut",
    });
    expect(res).toMatchObject({
      status: 409,
      body: { error: { code: "send_outcome_unknown", details: { messageId: "MSGID1" } } },
    });
    expect((shard.manager.get(32) as FakeSession).sent).toHaveLength(0);
  });

  it("refuses to send through a session that is not open", async () => {
    const shard = makeShard();
    await call(shard, "POST", "/sessions/33/start", {});
    await waitFor(() => shard.manager.view(33)?.state === "qr");
    const res = await call(shard, "POST", "/sessions/33/messages", {
      to: "972500000001",
      text: "hi",
      idempotencyKey: "x",
    });
    expect(res).toMatchObject({ status: 409, body: { error: { code: "session_not_open", details: { state: "qr" } } } });
  });
});

describe("inbound events reach the edge", () => {
  it("forwards messages (notify and append), receipts and connection changes, signed, in order, with stable ids", async () => {
    const stub = await startEdgeStub(TEST_SECRET);
    stubs.push(stub);
    const shard = makeShard({ EDGE_EVENTS_URL: stub.url });
    await shard.start();
    await openSession(shard, 40);
    await call(shard, "POST", "/_fake/sessions/40/inbound", {
      upsertType: "notify",
      messages: [
        { chatJid: "972500000001@s.whatsapp.net", messageId: "IN1", text: "hello", pushName: "Dana" },
        { chatJid: "972500000001@s.whatsapp.net", messageId: "IN2", text: "are you open?" },
      ],
    });
    await call(shard, "POST", "/_fake/sessions/40/inbound", {
      upsertType: "append",
      messages: [{ chatJid: "972500000002@s.whatsapp.net", messageId: "OLD1", text: "history", fromMe: true }],
    });
    await call(shard, "POST", "/sessions/40/messages", { to: "972500000001", text: "yes!", idempotencyKey: "r1" });
    await call(shard, "POST", "/_fake/sessions/40/status", {
      updates: [{ chatJid: "972500000001@s.whatsapp.net", messageId: "OUT1", status: 3 }],
    });

    const in1 = messageEventId(40, { chatJid: "972500000001@s.whatsapp.net", messageId: "IN1", fromMe: false });
    const delivered = statusEventId(
      40,
      { chatJid: "972500000001@s.whatsapp.net", messageId: "OUT1", fromMe: true },
      "delivered",
    );
    await waitFor(() => stub.events.has(delivered) && shard.outbox.stat().pending === 0, 5000);
    const events = [...stub.events.values()];
    const types = events.map((e) => (e.type === "connection.update" ? `conn:${e.state}` : e.type));
    expect(types).toEqual([
      "conn:connecting",
      "conn:qr",
      "conn:open",
      "message.upsert",
      "message.upsert",
      "message.upsert",
      "message.upsert",
      "message.status",
    ]);
    expect(stub.events.get(in1)).toMatchObject({
      type: "message.upsert",
      upsertType: "notify",
      businessId: 40,
      shardId: 1,
      kind: "text",
      text: "hello",
      pushName: "Dana",
      key: { chatJid: "972500000001@s.whatsapp.net", messageId: "IN1", fromMe: false },
    });
    expect(events[5]).toMatchObject({ upsertType: "append", key: { messageId: "OLD1", fromMe: true } });
    // Our own send comes back as an append, fromMe.
    expect(events[6]).toMatchObject({ upsertType: "append", text: "yes!", key: { fromMe: true } });
    expect(stub.events.get(delivered)).toMatchObject({ type: "message.status", status: "delivered" });
    expect(stub.rejectedSignatures).toBe(0);
  });

  it("keeps events when the edge refuses the signature (wrong secret) and delivers none", async () => {
    const stub = await startEdgeStub("the-edge-has-another-secret");
    stubs.push(stub);
    const shard = makeShard({ EDGE_EVENTS_URL: stub.url });
    await shard.start();
    await call(shard, "POST", "/sessions/41/start", {});
    await waitFor(() => stub.rejectedSignatures >= 2, 5000);
    expect(stub.events.size).toBe(0);
    expect(shard.outbox.stat().pending).toBeGreaterThan(0);
  });
});
