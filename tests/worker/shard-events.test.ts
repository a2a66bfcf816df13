import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leads, shardEvents, waConversations, waMessages, waSessions } from "../../worker/db/schema";
import { createTenant, type Tenant } from "./fixtures";
import { call, errorOf, testDb } from "./helpers";
import { uniquePhone } from "./phones";
import { deliver, inboundMessage, statusUpdate } from "./whatsapp-helpers";

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
    const unsigned = await call("/internal/shards/events", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ events: [event] }),
    });
    expect(unsigned.status).toBe(401);
    expect((await errorOf(unsigned)).message).toContain("missing_signature");
    const stored = await db.select().from(shardEvents).where(eq(shardEvents.eventId, event.id));
    expect(stored).toHaveLength(0);
  });

  it("refuses an invalid event naming the field", async () => {
    const event = { ...inboundMessage(t.businessId, { chatJid: jidOf(uniquePhone()) }), kind: "hologram" } as never;
    const res = await deliver([event]);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain("kind");
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
    expect(await first.json()).toEqual({ stored: 1, duplicates: 0, ignored: 0 });
    const again = await deliver([event, event]);
    expect(await again.json()).toEqual({ stored: 0, duplicates: 2, ignored: 0 });
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
    const batch = () =>
      Array.from({ length: 200 }, () => inboundMessage(flooded.businessId, { chatJid: jidOf(uniquePhone()) }));
    expect((await deliver(batch())).status).toBe(200);
    const refused = batch();
    const res = await deliver(refused);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const stored = await db.select().from(shardEvents).where(eq(shardEvents.eventId, refused[0]!.id));
    expect(stored).toHaveLength(0);
    // Another business is not affected.
    expect((await deliver([inboundMessage(t.businessId, { chatJid: jidOf(uniquePhone()) })])).status).toBe(200);
  });

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
    expect(await res.json()).toEqual({ stored: 0, duplicates: 0, ignored: 1 });
  });
});
