/**
 * Conversation status: open, pending, resolved, snoozed until a time. What a team notices:
 * a snooze that ran out shows open (at once, and the minute sweep tells open tabs); the customer's
 * next message reopens pending, resolved and snoozed conversations; resolving records the
 * resolution time and sends `conversation.resolved`; first-response times come from replies.
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { waConversations, waOutbound, webhookEvents } from "../../worker/db/schema";
import { enqueue } from "../../worker/queues/producer";
import { createTenant, type Tenant } from "./fixtures";
import { expectFieldRefused, testDb } from "./helpers";
import { conversationChange, customerWrites, json, liveTab, newConversation } from "./inbox-helpers";
import { eventOf, sink, subscribe, waitForAccepted } from "./webhook-fixtures";
import { deliver, inboundMessage, shardNode } from "./whatsapp-helpers";

const { db, close } = testDb();
afterAll(close);

let a: Tenant;
beforeAll(async () => {
  a = await createTenant(db, "Status A");
});

const setStatus = (id: number, body: Record<string, unknown>, client = a.agent) =>
  client.request("PUT", `/api/whatsapp/conversations/${id}/status`, body);

async function detail(id: number) {
  const res = await a.agent.request("GET", `/api/whatsapp/conversations/${id}`);
  expect(res.status).toBe(200);
  return (await json(res)).conversation;
}

async function listedWith(query: string): Promise<number[]> {
  const res = await a.agent.request("GET", `/api/whatsapp/conversations?${query}`);
  expect(res.status).toBe(200);
  return (await json(res)).conversations.map((c: { id: number }) => c.id);
}

const inAMinute = () => new Date(Date.now() + 60_000).toISOString();
const secondsAgo = (s: number) => Math.floor(Date.now() / 1000) - s;

describe("PUT /api/whatsapp/conversations/{id}/status", () => {
  it("a new conversation is open; each status shows in the detail and filters the list", async () => {
    const conv = await newConversation(db, a.businessId);
    expect((await detail(conv.id)).status).toBe("open");
    for (const status of ["pending", "resolved", "open"] as const) {
      const res = await setStatus(conv.id, { status });
      expect(res.status).toBe(200);
      expect((await json(res)).conversation.status).toBe(status);
      expect(await listedWith(`status=${status}`)).toContain(conv.id);
      expect(await listedWith(`status=${status === "open" ? "pending" : "open"}`)).not.toContain(conv.id);
    }
  });

  it("snoozed needs a future snoozedUntil; other statuses refuse one (400 naming snoozedUntil)", async () => {
    const conv = await newConversation(db, a.businessId);
    await expectFieldRefused(await setStatus(conv.id, { status: "snoozed" }), "snoozedUntil", "missing");
    await expectFieldRefused(
      await setStatus(conv.id, { status: "snoozed", snoozedUntil: new Date(Date.now() - 1000).toISOString() }),
      "snoozedUntil",
      "in the past",
    );
    await expectFieldRefused(
      await setStatus(conv.id, { status: "resolved", snoozedUntil: inAMinute() }),
      "snoozedUntil",
      "with another status",
    );
    await expectFieldRefused(await setStatus(conv.id, { status: "closed" }), "status", "unknown status");
    expect((await detail(conv.id)).status).toBe("open");
  });

  it("a snooze that ran out shows open at once; the minute sweep stores it and tells open tabs", async () => {
    const conv = await newConversation(db, a.businessId);
    const until = inAMinute();
    const snoozed = await setStatus(conv.id, { status: "snoozed", snoozedUntil: until });
    expect(snoozed.status).toBe(200);
    expect((await json(snoozed)).conversation).toMatchObject({ status: "snoozed", snoozedUntil: until });
    expect(await listedWith("status=snoozed")).toContain(conv.id);

    // The minute passes (moved in the database rather than waited for).
    await db
      .update(waConversations)
      .set({ snoozedUntil: new Date(Date.now() - 1000) })
      .where(eq(waConversations.id, conv.id));
    expect(await detail(conv.id)).toMatchObject({ status: "open", snoozedUntil: null });
    expect(await listedWith("status=open")).toContain(conv.id);
    expect(await listedWith("status=snoozed")).not.toContain(conv.id);

    const tab = await liveTab(a.agent);
    await enqueue(env, { type: "inbox.wake_snoozed", limit: 500 });
    await tab.next(conversationChange(conv.id, "status"));
    const [row] = await db.select().from(waConversations).where(eq(waConversations.id, conv.id));
    expect(row).toMatchObject({ status: "open", snoozedUntil: null });
    tab.close();
  });

  it("the customer's next message reopens pending, resolved and snoozed conversations, and tabs hear of it", async () => {
    const tab = await liveTab(a.agent);
    for (const body of [
      { status: "pending" },
      { status: "resolved" },
      { status: "snoozed", snoozedUntil: new Date(Date.now() + 3_600_000).toISOString() },
    ]) {
      const conv = await newConversation(db, a.businessId);
      expect((await setStatus(conv.id, body)).status).toBe(200);
      expect((await detail(conv.id)).status).toBe(body.status);
      await customerWrites(a.businessId, conv.chatJid, { text: "are you there?" });
      expect(await detail(conv.id), body.status).toMatchObject({ status: "open", snoozedUntil: null });
      await tab.next(conversationChange(conv.id, "status"));
    }
    tab.close();
  });

  it("history sync and the business's own messages do not reopen a conversation", async () => {
    const conv = await newConversation(db, a.businessId);
    expect((await setStatus(conv.id, { status: "resolved" })).status).toBe(200);
    await deliver([
      inboundMessage(a.businessId, {
        chatJid: conv.chatJid,
        text: "old",
        upsertType: "append",
        at: secondsAgo(86_400),
      }),
      inboundMessage(a.businessId, { chatJid: conv.chatJid, text: "sent from the phone", fromMe: true }),
    ]);
    expect((await detail(conv.id)).status).toBe("resolved");
  });

  it("records the first response (customer's waiting message → first reply) and the resolution, sent with conversation.resolved", async () => {
    const target = sink("resolved");
    await subscribe(a.owner, target, ["conversation.resolved"]);
    // Every time from one moment: the test's own steps take seconds, and 120 must stay 120.
    const now = secondsAgo(0);
    const conv = await newConversation(db, a.businessId, { text: "I need help", at: now - 300 });
    // A second message while still waiting does not move the wait's start.
    await customerWrites(a.businessId, conv.chatJid, { text: "hello?", at: now - 200 });
    expect((await detail(conv.id)).firstResponseSeconds).toBeNull();
    // The business answers from the phone 120 s after the first waiting message; a later reply changes nothing.
    await deliver([
      inboundMessage(a.businessId, { chatJid: conv.chatJid, fromMe: true, text: "on it", at: now - 180 }),
    ]);
    await deliver([inboundMessage(a.businessId, { chatJid: conv.chatJid, fromMe: true, text: "done", at: now - 60 })]);
    expect((await detail(conv.id)).firstResponseSeconds).toBe(120);
    expect((await detail(conv.id)).resolutionSeconds).toBeNull();

    // Opened an hour ago (moved in the database rather than waited for).
    await db
      .update(waConversations)
      .set({ openedAt: new Date(Date.now() - 3_600_000) })
      .where(eq(waConversations.id, conv.id));
    const resolved = await json(await setStatus(conv.id, { status: "resolved" }));
    expect(resolved.conversation.resolutionSeconds).toBeGreaterThanOrEqual(3600);
    expect(resolved.conversation.resolutionSeconds).toBeLessThan(3700);

    const [event] = (await waitForAccepted(target, 1)).map(eventOf);
    expect(event!.type).toBe("conversation.resolved");
    expect(event!.data.conversation).toMatchObject({
      id: conv.id,
      chatJid: conv.chatJid,
      assigneeId: null,
      firstResponseSeconds: 120,
      resolutionSeconds: resolved.conversation.resolutionSeconds,
    });
    // Resolving again changes nothing and sends nothing more.
    expect((await setStatus(conv.id, { status: "resolved" })).status).toBe(200);

    // The customer writes again: a new cycle, whose times start over.
    await customerWrites(a.businessId, conv.chatJid, { text: "one more thing" });
    expect(await detail(conv.id)).toMatchObject({
      status: "open",
      firstResponseSeconds: null,
      resolutionSeconds: null,
    });
    const written = await db
      .select({ id: webhookEvents.id })
      .from(webhookEvents)
      .where(and(eq(webhookEvents.businessId, a.businessId), eq(webhookEvents.type, "conversation.resolved")));
    expect(written).toHaveLength(1);
  });

  it("a reply sent from the dashboard records the first response", async () => {
    const tenant = await createTenant(db, "Status reply");
    const connect = await json(await tenant.owner.request("POST", "/api/whatsapp/connect"));
    const shard = shardNode(connect.shard);
    expect(
      (await shard("POST", `/_fake/sessions/${tenant.businessId}/pair`, { phoneNumber: "972500000002" })).body.state,
    ).toBe("open");
    const conv = await newConversation(db, tenant.businessId, { text: "price?", at: secondsAgo(30) });
    const reply = await tenant.agent.request("POST", `/api/whatsapp/conversations/${conv.id}/reply`, { text: "100 ₪" });
    expect(reply.status).toBe(202);
    const { outboundId } = await json(reply);
    await vi.waitFor(
      async () => {
        const [row] = await db.select().from(waOutbound).where(eq(waOutbound.id, outboundId));
        expect(row!.status).toBe("sent");
      },
      { timeout: 15_000, interval: 50 },
    );
    const seen = (await json(await tenant.agent.request("GET", `/api/whatsapp/conversations/${conv.id}`))).conversation;
    expect(seen.firstResponseSeconds).toBeGreaterThanOrEqual(30);
  });

  it("another business's conversation is not found", async () => {
    const b = await createTenant(db, "Status B");
    const conv = await newConversation(db, a.businessId);
    const res = await setStatus(conv.id, { status: "resolved" }, b.owner);
    expect(res.status).toBe(404);
    expect((await detail(conv.id)).status).toBe("open");
  });
});
