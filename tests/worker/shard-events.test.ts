import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enforceRateLimit } from "../../worker/auth/rate-limits";
import {
  leads,
  shardEventQuarantine,
  shardEvents,
  waConversations,
  waMessages,
  waSessions,
} from "../../worker/db/schema";
import { createSystemAdmin, createTenant, type Tenant } from "./fixtures";
import { call, errorOf, testDb } from "./helpers";
import { uniquePhone } from "./phones";
import { assignedShardOf, deliver, inboundMessage, shardKey, statusUpdate } from "./whatsapp-helpers";

const { db, close } = testDb();
let t: Tenant;
beforeAll(async () => {
  t = await createTenant(db, "Events business");
});
afterAll(close);

const jidOf = (phone: string) => `${phone.slice(1)}@s.whatsapp.net`;

async function messagesIn(chatJid: string) {
  return db
    .select()
    .from(waMessages)
    .where(and(eq(waMessages.businessId, t.businessId), eq(waMessages.chatJid, chatJid)));
}

describe("shard event verification", () => {
  it("refuses a bad signature, a tampered body, an old timestamp and a missing signature — storing nothing", async () => {
    const event = inboundMessage(t.businessId, { chatJid: jidOf(uniquePhone()) });
    const cases = [
      await deliver([event], { secret: "not-the-shared-secret-at-all" }),
      await deliver([event], { tamper: (b) => b.replace("hello", "HELLO") }),
      await deliver([event], { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
    ];
    for (const res of cases) expect(res.status).toBe(401);
    // Per-shard keys: the master secret itself, another shard's key, and a shard id header other
    // than the one signed are all refused.
    const shard = await assignedShardOf(t.businessId);
    const other = shard === 1 ? 2 : 1;
    const keyed = [
      await deliver([event], { secret: env.SHARD_SECRET }),
      await deliver([event], { secret: await shardKey(other) }),
      await deliver([event], { shardId: shard, secret: await shardKey(other) }),
    ];
    for (const res of keyed) expect(res.status).toBe(401);
    const unsigned = await call("/internal/shards/events", {
      method: "POST",
      headers: { "x-shard-id": String(shard), "Content-Type": "application/json" },
      body: JSON.stringify({ events: [event] }),
    });
    expect(unsigned.status).toBe(401);
    expect((await errorOf(unsigned)).message).toContain("missing_signature");
    const anonymous = await call("/internal/shards/events", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ events: [event] }),
    });
    expect(anonymous.status).toBe(401);
    expect((await errorOf(anonymous)).message).toContain("shard id");
    const stored = await db.select().from(shardEvents).where(eq(shardEvents.eventId, event.id));
    expect(stored).toHaveLength(0);
  });

  it("refuses a signed body that is not a delivery at all with 400 (the shard parks it after repeated refusals)", async () => {
    const empty = await deliver([]);
    expect(empty.status).toBe(400);
    expect((await errorOf(empty)).message).toContain("events");
  });

  it("quarantines an invalid event naming the field, and stores the valid events of the same delivery", async () => {
    const chatJid = jidOf(uniquePhone());
    const bad = { ...inboundMessage(t.businessId, { chatJid, messageId: "BAD-KIND" }), kind: "hologram" };
    const res = await deliver([
      inboundMessage(t.businessId, { chatJid, messageId: "BEFORE" }),
      bad,
      inboundMessage(t.businessId, { chatJid, messageId: "AFTER" }),
    ]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ stored: 2, duplicates: 0, ignored: 0, quarantined: 1 });
    expect((await messagesIn(chatJid)).map((m) => m.waMessageId).sort()).toEqual(["AFTER", "BEFORE"]);
    const [row] = await db.select().from(shardEventQuarantine).where(eq(shardEventQuarantine.eventId, bad.id));
    expect(row).toMatchObject({ reason: "invalid", businessId: t.businessId, eventType: "message.upsert" });
    expect(row!.detail).toContain("kind");
    expect(JSON.parse(row!.payload)).toMatchObject({ kind: "hologram", key: { messageId: "BAD-KIND" } });

    // Operators see it (system admins only), with its reason and the event as sent.
    const operator = await createSystemAdmin(db);
    const seen = await operator.request(
      "GET",
      `/api/admin/whatsapp/quarantine?businessId=${t.businessId}&reason=invalid`,
    );
    expect(seen.status, await seen.clone().text()).toBe(200);
    const { events } = (await seen.json()) as { events: { eventId: string; detail: string; payload: string }[] };
    const listed = events.find((e) => e.eventId === bad.id);
    expect(listed?.detail).toContain("kind");
    expect(JSON.parse(listed!.payload)).toMatchObject({ kind: "hologram" });
    expect((await t.owner.request("GET", "/api/admin/whatsapp/quarantine")).status).toBe(403);
  });

  it("a signed event whose businessId is above 2^31 is quarantined, never a 500", async () => {
    const huge = { ...inboundMessage(t.businessId, { chatJid: jidOf(uniquePhone()) }), businessId: 2 ** 31 };
    const res = await deliver([huge], { shardId: await assignedShardOf(t.businessId) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ stored: 0, quarantined: 1 });
    const [row] = await db.select().from(shardEventQuarantine).where(eq(shardEventQuarantine.eventId, huge.id));
    expect(row).toMatchObject({ reason: "invalid", businessId: 2 ** 31 });
    expect(row!.detail).toContain("businessId");
  });

  it("text Postgres cannot store (U+0000, lone surrogates) and out-of-range numbers are cleaned, not refused", async () => {
    const chatJid = jidOf(uniquePhone());
    const event = {
      ...inboundMessage(t.businessId, { chatJid, text: "a\u0000b \ud800 c", pushName: "Na\u0000me" }),
      kind: "image",
      messageTimestamp: 2 ** 60,
      media: { mimetype: "image/jpeg", sizeBytes: 2 ** 60 },
    };
    const res = await deliver([event]);
    expect(await res.json()).toMatchObject({ stored: 1, quarantined: 0 });
    const [row] = await messagesIn(chatJid);
    expect(row!.text).toBe("ab \uFFFD c");
    expect(row!.media).toEqual({ mimetype: "image/jpeg" });
    // The out-of-range message time was dropped: the time the shard saw it is used.
    expect(Math.abs(row!.sentAt.getTime() - Date.parse(event.occurredAt))).toBeLessThan(1000);
  });
});

describe("storing events", () => {
  it("stores an incoming message, creates its conversation, and links (or creates) the lead by phone", async () => {
    const phone = uniquePhone();
    const known = await t.agent.request("POST", "/api/leads", { firstName: "Known", phone });
    const knownId = ((await known.json()) as { lead: { id: number } }).lead.id;
    const res = await deliver([
      inboundMessage(t.businessId, { chatJid: jidOf(phone), text: "שלום", pushName: "Dana" }),
    ]);
    expect(res.status).toBe(200);
    const [conversation] = await db
      .select()
      .from(waConversations)
      .where(and(eq(waConversations.businessId, t.businessId), eq(waConversations.chatJid, jidOf(phone))));
    expect(conversation).toMatchObject({ leadId: knownId, unreadCount: 1, lastMessagePreview: "שלום" });

    const stranger = uniquePhone();
    await deliver([inboundMessage(t.businessId, { chatJid: jidOf(stranger), pushName: "New Person" })]);
    const [lead] = await db
      .select()
      .from(leads)
      .where(and(eq(leads.businessId, t.businessId), eq(leads.phoneE164, stranger)));
    expect(lead).toMatchObject({ firstName: "New Person", source: "whatsapp" });
  });

  it("stores a duplicate delivery once, and a replayed (re-signed) delivery once", async () => {
    const event = inboundMessage(t.businessId, { chatJid: jidOf(uniquePhone()), text: "once" });
    const first = await deliver([event]);
    expect(await first.json()).toEqual({ stored: 1, duplicates: 0, ignored: 0, quarantined: 0 });
    const again = await deliver([event, event]);
    expect(await again.json()).toEqual({ stored: 0, duplicates: 2, ignored: 0, quarantined: 0 });
    expect(await messagesIn(event.type === "message.upsert" ? event.key.chatJid : "")).toHaveLength(1);
  });

  it("history (append) messages are stored but do not count as unread", async () => {
    const chatJid = jidOf(uniquePhone());
    await deliver([inboundMessage(t.businessId, { chatJid, upsertType: "append", at: 1_700_000_000 })]);
    const [conversation] = await db
      .select()
      .from(waConversations)
      .where(and(eq(waConversations.businessId, t.businessId), eq(waConversations.chatJid, chatJid)));
    expect(conversation!.unreadCount).toBe(0);
    expect(await messagesIn(chatJid)).toHaveLength(1);
  });

  it("applies status updates out of order without going backwards", async () => {
    const chatJid = jidOf(uniquePhone());
    const message = inboundMessage(t.businessId, { chatJid, fromMe: true, text: "our message" });
    await deliver([message]);
    const key = (message as { key: { chatJid: string; messageId: string; fromMe: boolean } }).key;
    await deliver([statusUpdate(t.businessId, key, "read")]);
    await deliver([statusUpdate(t.businessId, key, "delivered")]);
    await deliver([statusUpdate(t.businessId, key, "failed")]);
    const [row] = await messagesIn(chatJid);
    expect(row!.status).toBe("read");
  });

  it("records the session state, and a logged-out session pauses the business's sends", async () => {
    const res = await deliver([
      {
        id: crypto.randomUUID(),
        businessId: t.businessId,
        shardId: 1,
        occurredAt: new Date().toISOString(),
        type: "connection.update",
        state: "logged_out",
        reason: "logged out (401)",
        statusCode: 401,
      },
    ]);
    expect(res.status).toBe(200);
    const [session] = await db.select().from(waSessions).where(eq(waSessions.businessId, t.businessId));
    expect(session).toMatchObject({ state: "logged_out", reason: "logged out (401)" });
    const state = await env.BUSINESS_DO.getByName(`business:${t.businessId}`).sendState(t.businessId);
    expect(state).toMatchObject({ paused: true, pausedReason: "WhatsApp logged the number out (401)" });
  });

  it("rate-limits a flood of events per business with 429 + Retry-After (the shard retries later), storing nothing of the refused delivery", async () => {
    const flooded = await createTenant(db, "Flooded business");
    const batch = (length: number) =>
      Array.from({ length }, () => inboundMessage(flooded.businessId, { chatJid: jidOf(uniquePhone()) }));
    expect((await deliver(batch(200))).status).toBe(200);
    // The flood goes on: whatever refilled while the first delivery was stored (50/s; storing 200
    // events can take seconds on a busy machine) is taken by events arriving meanwhile, so the
    // bucket now holds less than the next delivery needs (its cost is capped at the capacity, 200).
    await enforceRateLimit(env, "webhook", `business:${flooded.businessId}`, 200).catch(() => undefined);
    const refused = batch(250);
    const res = await deliver(refused);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const stored = await db.select().from(shardEvents).where(eq(shardEvents.eventId, refused[0]!.id));
    expect(stored).toHaveLength(0);
    // Another business is not affected.
    expect((await deliver([inboundMessage(t.businessId, { chatJid: jidOf(uniquePhone()) })])).status).toBe(200);
    // Storing 200 events, each in its own transaction, takes tens of seconds on a loaded machine.
  }, 120_000);

  it("a logout we asked for (no WhatsApp status code) is recorded but does not pause sends", async () => {
    const tenant = await createTenant(db, "Requested logout business");
    const res = await deliver([
      {
        id: crypto.randomUUID(),
        businessId: tenant.businessId,
        shardId: 1,
        occurredAt: new Date().toISOString(),
        type: "connection.update",
        state: "logged_out",
        reason: "logged out by request",
      },
    ]);
    expect(res.status).toBe(200);
    const state = await env.BUSINESS_DO.getByName(`business:${tenant.businessId}`).sendState(tenant.businessId);
    expect(state.paused).toBe(false);
  });

  it("acknowledges events of a business that no longer exists, so the shard stops retrying", async () => {
    const res = await deliver([inboundMessage(999_999, { chatJid: jidOf(uniquePhone()) })]);
    expect(await res.json()).toEqual({ stored: 0, duplicates: 0, ignored: 1, quarantined: 0 });
  });
});

describe("one event Postgres refuses does not fail the others", () => {
  it("a data error applying one event quarantines it (apply_failed) and the rest of the delivery is stored", async () => {
    const chatJid = jidOf(uniquePhone());
    // A real Postgres refusal (23514) for one message of this business only, whatever the contract
    // lets through: the safety net under the schema's cleaning.
    await db.execute(
      sql.raw(
        `ALTER TABLE wa_messages ADD CONSTRAINT test_refuse_poison CHECK (business_id <> ${t.businessId} OR text IS DISTINCT FROM 'poison') NOT VALID`,
      ),
    );
    try {
      const poison = inboundMessage(t.businessId, { chatJid, messageId: "POISON", text: "poison" });
      const res = await deliver([
        inboundMessage(t.businessId, { chatJid, messageId: "M1", text: "first" }),
        poison,
        inboundMessage(t.businessId, { chatJid, messageId: "M2", text: "second" }),
      ]);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ stored: 2, duplicates: 0, ignored: 0, quarantined: 1 });
      expect((await messagesIn(chatJid)).map((m) => m.waMessageId).sort()).toEqual(["M1", "M2"]);
      const [row] = await db.select().from(shardEventQuarantine).where(eq(shardEventQuarantine.eventId, poison.id));
      expect(row).toMatchObject({ reason: "apply_failed" });
      expect(row!.detail).toContain("23514");
      // Rolled back with its transaction: not marked as seen, so a fixed edge could still apply it.
      expect(await db.select().from(shardEvents).where(eq(shardEvents.eventId, poison.id))).toHaveLength(0);
    } finally {
      await db.execute(sql.raw("ALTER TABLE wa_messages DROP CONSTRAINT test_refuse_poison"));
    }
  });
});

describe("per-shard keys and assignment: forged cross-shard events", () => {
  it("events for a business signed by a shard that does not hold its assignment leave its leads and messages untouched", async () => {
    const victim = await createTenant(db, "Victim business");
    const home = await assignedShardOf(victim.businessId);
    const rogue = home === 1 ? 2 : 1;
    const phone = uniquePhone();
    const chatJid = jidOf(phone);
    const ours = inboundMessage(victim.businessId, { chatJid, fromMe: true, messageId: "OURS", text: "real" });
    expect((await deliver([ours])).status).toBe(200);
    const key = { chatJid, messageId: "OURS", fromMe: true };
    const leadsBefore = await db.select().from(leads).where(eq(leads.businessId, victim.businessId));

    const forged = [
      inboundMessage(victim.businessId, { chatJid: jidOf(uniquePhone()), text: "forged", pushName: "Forger" }),
      {
        ...inboundMessage(victim.businessId, { chatJid, fromMe: true, messageId: "OURS", text: "rewritten" }),
        id: "x",
      },
      statusUpdate(victim.businessId, key, "read"),
      {
        id: crypto.randomUUID(),
        businessId: victim.businessId,
        shardId: rogue,
        occurredAt: new Date().toISOString(),
        type: "connection.update",
        state: "logged_out",
        reason: "logged out (401)",
        statusCode: 401,
      },
    ];
    // The rogue shard signs with its own (valid) key and names itself, as a compromised shard would.
    const res = await deliver(forged, { shardId: rogue });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ stored: 0, duplicates: 0, ignored: 0, quarantined: 4 });

    const messages = await db.select().from(waMessages).where(eq(waMessages.businessId, victim.businessId));
    expect(messages.map((m) => [m.waMessageId, m.text, m.status])).toEqual([["OURS", "real", "sent"]]);
    expect(await db.select().from(leads).where(eq(leads.businessId, victim.businessId))).toEqual(leadsBefore);
    const sessions = await db.select().from(waSessions).where(eq(waSessions.businessId, victim.businessId));
    expect(sessions).toHaveLength(0);
    const state = await env.BUSINESS_DO.getByName(`business:${victim.businessId}`).sendState(victim.businessId);
    expect(state.paused).toBe(false);
    const reasons = await db
      .select({ reason: shardEventQuarantine.reason, shardId: shardEventQuarantine.shardId })
      .from(shardEventQuarantine)
      .where(eq(shardEventQuarantine.businessId, victim.businessId));
    expect(reasons).toHaveLength(4);
    for (const r of reasons) expect(r).toEqual({ reason: "not_assigned_shard", shardId: rogue });
  });

  it("an event naming another shard than the one that signed it is quarantined (foreign_shard)", async () => {
    const home = await assignedShardOf(t.businessId);
    const event = { ...inboundMessage(t.businessId, { chatJid: jidOf(uniquePhone()) }), shardId: home === 1 ? 2 : 1 };
    const res = await deliver([event], { shardId: home, keepEventShard: true });
    expect(await res.json()).toMatchObject({ stored: 0, quarantined: 1 });
    const [row] = await db.select().from(shardEventQuarantine).where(eq(shardEventQuarantine.eventId, event.id));
    expect(row).toMatchObject({ reason: "foreign_shard" });
  });

  it("an event from the assigned shard with another fencing token than the current one is quarantined", async () => {
    const assignment = await env.BUSINESS_DO.getByName(`business:${t.businessId}`).shardAssignment(t.businessId);
    const chatJid = jidOf(uniquePhone());
    const stale = {
      ...inboundMessage(t.businessId, { chatJid, messageId: "OLD" }),
      fencingToken: assignment!.fencingToken + 7,
    };
    const current = {
      ...inboundMessage(t.businessId, { chatJid, messageId: "NOW" }),
      fencingToken: assignment!.fencingToken,
    };
    const res = await deliver([stale, current]);
    expect(await res.json()).toMatchObject({ stored: 1, quarantined: 1 });
    expect((await messagesIn(chatJid)).map((m) => m.waMessageId)).toEqual(["NOW"]);
    const [row] = await db.select().from(shardEventQuarantine).where(eq(shardEventQuarantine.eventId, stale.id));
    expect(row).toMatchObject({ reason: "stale_fencing_token" });
  });
});
