/**
 * WhatsApp end to end through real shard nodes (fake session driver): connect, reply from the
 * inbox, sends at most once, ban signals pausing sends. The send schedule's own rules (pace,
 * priority, quiet hours, daily cap) are in send-schedule.test.ts.
 */

import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { waConversations, waOutbound } from "../../worker/db/schema";
import { requeueStaleOutbound } from "../../worker/whatsapp/outbound";
import { createTenant, type Tenant } from "./fixtures";
import { testDb } from "./helpers";
import { deliverConcurrently } from "./messaging-fixtures";
import { uniquePhone } from "./phones";
import { deliver, inboundMessage, shardNode } from "./whatsapp-helpers";

const { db, close } = testDb();
afterAll(close);

interface Connected {
  tenant: Tenant;
  shard: ReturnType<typeof shardNode>;
  conversationId: number;
  chatJid: string;
}

/** A business whose WhatsApp is connected (QR scanned on the fake phone) with one conversation. */
async function connectedBusiness(name: string): Promise<Connected> {
  const tenant = await createTenant(db, name);
  const res = await tenant.owner.request("POST", "/api/whatsapp/connect");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { shard: 1 | 2; session: { state: string; qr: string; qrDataUrl: string } };
  expect(body.session.state).toBe("qr");
  expect(body.session.qrDataUrl).toMatch(/^data:image\/png;base64,/);
  const shard = shardNode(body.shard);
  const paired = await shard("POST", `/_fake/sessions/${tenant.businessId}/pair`, { phoneNumber: "972500000001" });
  expect(paired.body.state).toBe("open");
  const chatJid = `${uniquePhone().slice(1)}@s.whatsapp.net`;
  await deliver([inboundMessage(tenant.businessId, { chatJid, text: "hi there" })], { shardId: body.shard });
  const [conversation] = await db.select().from(waConversations).where(eq(waConversations.chatJid, chatJid));
  return { tenant, shard, conversationId: conversation!.id, chatJid };
}

async function outboundStatus(id: number) {
  const [row] = await db.select().from(waOutbound).where(eq(waOutbound.id, id));
  return row!;
}

async function sentTexts(c: Connected): Promise<string[]> {
  const res = await c.shard("GET", `/_fake/sessions/${c.tenant.businessId}/sent`);
  return (res.body.sent as { text: string }[]).map((s) => s.text);
}

let c: Connected;
beforeAll(async () => {
  c = await connectedBusiness("Sends business");
});

describe("inbox replies", () => {
  it("a reply is persisted, queued, throttled and sent through the shard once; the inbox shows it", async () => {
    const res = await c.tenant.agent.request("POST", `/api/whatsapp/conversations/${c.conversationId}/reply`, {
      text: "thanks, we'll call you",
      clientMessageId: "reply-0001",
    });
    expect(res.status).toBe(202);
    const { outboundId } = (await res.json()) as { outboundId: number };
    await vi.waitFor(async () => expect((await outboundStatus(outboundId)).status).toBe("sent"), {
      timeout: 15_000,
      interval: 100,
    });
    expect(await sentTexts(c)).toEqual(["thanks, we'll call you"]);

    const again = await c.tenant.agent.request("POST", `/api/whatsapp/conversations/${c.conversationId}/reply`, {
      text: "thanks, we'll call you",
      clientMessageId: "reply-0001",
    });
    expect(await again.json()).toEqual({ outboundId, duplicate: true });

    const page = (await (
      await c.tenant.agent.request("GET", `/api/whatsapp/conversations/${c.conversationId}/messages`)
    ).json()) as {
      messages: { fromMe: boolean; text: string }[];
    };
    expect(page.messages.map((m) => [m.fromMe, m.text])).toEqual([
      [true, "thanks, we'll call you"],
      [false, "hi there"],
    ]);
    expect(await sentTexts(c)).toHaveLength(1);
  });

  it("a send job delivered twice, to two consumers at the same time, sends once", async () => {
    // A waiting row straight in Postgres (not in the schedule), so the only deliveries are the
    // two copies raced here.
    const [row] = await db
      .insert(waOutbound)
      .values({
        businessId: c.tenant.businessId,
        to: c.chatJid,
        text: "exactly once",
        idempotencyKey: `race:${crypto.randomUUID()}`,
        origin: "reply",
      })
      .returning();
    const job = { type: "whatsapp.send", outboundId: row!.id };
    await deliverConcurrently("prosaas-default", [[job], [job]]);
    // Both consumers are done: one sent, the other found the row claimed.
    expect((await outboundStatus(row!.id)).status).toBe("sent");
    expect((await outboundStatus(row!.id)).attempts).toBe(1);
    // Redelivered after the send: still once.
    await deliverConcurrently("prosaas-default", [[job]]);
    expect((await sentTexts(c)).filter((t) => t === "exactly once")).toHaveLength(1);
  });

  it("lists conversations by last activity with unread counts, and mark-read clears them", async () => {
    const list = (await (await c.tenant.agent.request("GET", "/api/whatsapp/conversations")).json()) as {
      conversations: { id: number; unreadCount: number }[];
      unreadTotal: number;
    };
    expect(list.conversations[0]).toMatchObject({ id: c.conversationId, unreadCount: 1 });
    expect(list.unreadTotal).toBe(1);
    expect((await c.tenant.agent.request("POST", `/api/whatsapp/conversations/${c.conversationId}/read`)).status).toBe(
      204,
    );
    const after = (await (await c.tenant.agent.request("GET", "/api/whatsapp/conversations")).json()) as {
      unreadTotal: number;
    };
    expect(after.unreadTotal).toBe(0);
  });

  it("another business cannot read or reply to this conversation", async () => {
    const other = await createTenant(db, "Nosy business");
    expect((await other.owner.request("GET", `/api/whatsapp/conversations/${c.conversationId}/messages`)).status).toBe(
      404,
    );
    expect(
      (await other.owner.request("POST", `/api/whatsapp/conversations/${c.conversationId}/reply`, { text: "x" }))
        .status,
    ).toBe(404);
  });
});

describe("status and recovery", () => {
  it("shows the QR only to those who may connect WhatsApp", async () => {
    const tenant = await createTenant(db, "QR business");
    await tenant.owner.request("POST", "/api/whatsapp/connect");
    const admin = (await (await tenant.admin.request("GET", "/api/whatsapp/status")).json()) as {
      session: Record<string, unknown>;
    };
    const agent = (await (await tenant.agent.request("GET", "/api/whatsapp/status")).json()) as {
      session: Record<string, unknown>;
    };
    expect(admin.session.state).toBe("qr");
    expect(admin.session.qrDataUrl).toBeTruthy();
    expect(agent.session.state).toBe("qr");
    expect(agent.session.qr).toBeUndefined();
    expect(agent.session.qrDataUrl).toBeUndefined();
  });

  it("a send interrupted mid-way (row left 'sending') is requeued by the sweep and sent once", async () => {
    const res = await c.tenant.agent.request("POST", `/api/whatsapp/conversations/${c.conversationId}/reply`, {
      text: "after a crash",
    });
    const { outboundId } = (await res.json()) as { outboundId: number };
    await vi.waitFor(async () => expect((await outboundStatus(outboundId)).status).toBe("sent"), {
      timeout: 15_000,
      interval: 100,
    });
    // The send job's tail (storing the message, telling the schedule) is done too.
    const stub = env.BUSINESS_DO.getByName(`business:${c.tenant.businessId}`);
    await vi.waitFor(async () => expect(await stub.sendsWaiting(c.tenant.businessId, [outboundId])).toEqual([]), {
      timeout: 15_000,
      interval: 100,
    });
    // Simulate the crash window: the row is back to 'sending' from 20 minutes ago, as if the
    // isolate died after the shard call. The shard already has the idempotency key.
    await db
      .update(waOutbound)
      .set({ status: "sending", updatedAt: new Date(Date.now() - 20 * 60_000) })
      .where(eq(waOutbound.id, outboundId));
    expect(await requeueStaleOutbound(db, env, 10)).toBeGreaterThanOrEqual(1);
    await vi.waitFor(async () => expect((await outboundStatus(outboundId)).status).toBe("sent"), {
      timeout: 15_000,
      interval: 100,
    });
    expect((await sentTexts(c)).filter((t) => t === "after a crash")).toHaveLength(1);
  });
});

describe("ban signals", () => {
  it("a 463 reach-out timelock pauses the business's sends with the reason; an admin resumes and held messages go out", async () => {
    const b = await connectedBusiness("Banned business");
    await b.shard("POST", `/_fake/sessions/${b.tenant.businessId}/refuse-sends`, { statusCode: 463, count: 1 });
    const first = (await (
      await b.tenant.agent.request("POST", `/api/whatsapp/conversations/${b.conversationId}/reply`, { text: "one" })
    ).json()) as {
      outboundId: number;
    };
    await vi.waitFor(async () => expect((await outboundStatus(first.outboundId)).status).toBe("held"), {
      timeout: 15_000,
      interval: 100,
    });

    const status = (await (await b.tenant.agent.request("GET", "/api/whatsapp/status")).json()) as {
      sends: { paused: boolean; pausedReason: string };
    };
    expect(status.sends).toMatchObject({ paused: true, pausedReason: 'WhatsApp "reach-out timelock" (463)' });

    const second = (await (
      await b.tenant.agent.request("POST", `/api/whatsapp/conversations/${b.conversationId}/reply`, { text: "two" })
    ).json()) as {
      outboundId: number;
    };
    await vi.waitFor(async () => expect((await outboundStatus(second.outboundId)).status).toBe("held"), {
      timeout: 15_000,
      interval: 100,
    });
    expect(await sentTexts(b)).toEqual([]);

    expect((await b.tenant.agent.request("POST", "/api/whatsapp/sends/resume")).status).toBe(403);
    const resumed = await b.tenant.admin.request("POST", "/api/whatsapp/sends/resume");
    expect(await resumed.json()).toMatchObject({ sends: { paused: false }, requeued: 2 });
    await vi.waitFor(async () => expect((await sentTexts(b)).sort()).toEqual(["one", "two"]), {
      timeout: 20_000,
      interval: 200,
    });
  });
});
