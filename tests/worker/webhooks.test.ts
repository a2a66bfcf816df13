/**
 * Outbound webhooks, end to end: a change through the API (or a WhatsApp message from a shard)
 * → its event in the outbox → the queue → a signed POST to a receiver on loopback, which verifies
 * it with the Standard Webhooks reference implementation. Delivery is at least once and in order
 * per subscription; a deduping receiver (by webhook-id) sees each event exactly once.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { getConfig, parseConfig } from "../../worker/config";
import { webhookDeliveries, webhookSubscriptions } from "../../worker/db/schema";
import { retryDelayMs, retrySchedule } from "../../worker/webhooks/backoff";
import { deliverSubscription, sweepDueDeliveries } from "../../worker/webhooks/deliver";
import { envelopeSchema, type WebhookEventType } from "../../worker/webhooks/events";
import { createTenant, type Tenant } from "./fixtures";
import { testDb } from "./helpers";
import { uniquePhone } from "./phones";
import { createApiKey, eventOf, sink, subscribe, waitForAccepted, withKey } from "./webhook-fixtures";
import { deliver, inboundMessage } from "./whatsapp-helpers";

const { db, close } = testDb();
let tenant: Tenant;

beforeAll(async () => {
  tenant = await createTenant(db, "Webhooks");
});
afterAll(close);

function expectPublishedShape(body: string) {
  const event = JSON.parse(body) as { type: WebhookEventType };
  const parsed = envelopeSchema(event.type).safeParse(event);
  expect(parsed.success, parsed.success ? "" : parsed.error.message).toBe(true);
}

async function newLead(fields: Record<string, unknown> = {}): Promise<number> {
  const res = await tenant.owner.request("POST", "/api/leads", { firstName: "Hook", phone: uniquePhone(), ...fields });
  expect(res.status).toBe(201);
  return ((await res.json()) as { lead: { id: number } }).lead.id;
}

describe("delivery", () => {
  it("a lead created with an API key from a script arrives at the business's URL as a signed lead.created", async () => {
    const target = sink("lead-created");
    await subscribe(tenant.owner, target, ["lead.created"]);
    const key = await createApiKey(tenant.owner, ["leads:write"]);
    const res = await withKey(key.secret)("POST", "/api/leads", { firstName: "Dana", phone: uniquePhone() });
    expect(res.status).toBe(201);
    const { lead } = (await res.json()) as { lead: { id: number } };

    const [received] = await waitForAccepted(target, 1);
    expect(received!.verifiedWith).toBe(0);
    expect(received!.webhookId).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(received!.userAgent).toContain("ProSaaS-Webhooks");
    const event = eventOf(received!);
    expect(event.type).toBe("lead.created");
    expect((event.data.lead as { id: number; firstName: string }).id).toBe(lead.id);
    expect((event.data.lead as { firstName: string }).firstName).toBe("Dana");
    expectPublishedShape(received!.body);
  });

  it("a customer's WhatsApp message arrives as message.received (and the new contact as lead.created)", async () => {
    const target = sink("message-received");
    await subscribe(tenant.owner, target, ["message.received", "lead.created"]);
    const phone = `97250${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
    const res = await deliver([
      inboundMessage(tenant.businessId, { chatJid: `${phone}@s.whatsapp.net`, text: "שלום", pushName: "Noa" }),
    ]);
    expect(res.status).toBe(200);
    const received = await waitForAccepted(target, 2);
    const types = received.map((r) => eventOf(r).type);
    // The lead is made in the same transaction, before the message: it goes first.
    expect(types).toEqual(["lead.created", "message.received"]);
    const message = eventOf(received[1]!).data.message as { text: string; phone: string; leadId: number };
    expect(message.text).toBe("שלום");
    expect(message.phone).toBe(`+${phone}`);
    expect(message.leadId).toBe((eventOf(received[0]!).data.lead as { id: number }).id);
    for (const r of received) expectPublishedShape(r.body);
  });

  it("a receiver answering 500 for a while still gets every event, once each and in order", async () => {
    const target = sink("flaky");
    const { id } = await subscribe(tenant.owner, target, ["lead.created", "lead.updated"]);
    await target.configure({ failFirst: 3 });
    const leadA = await newLead({ firstName: "First" });
    await tenant.owner.request("PATCH", `/api/leads/${leadA}`, { notes: "second" });
    const leadB = await newLead({ firstName: "Third" });

    const accepted = await waitForAccepted(target, 3);
    expect(accepted).toHaveLength(3);
    expect(accepted.map((r) => eventOf(r).type)).toEqual(["lead.created", "lead.updated", "lead.created"]);
    expect(accepted.map((r) => (eventOf(r).data.lead as { id: number }).id)).toEqual([leadA, leadA, leadB]);
    // The refused ones were the first event's, retried with the same id and body.
    const all = await target.requests();
    expect(all.filter((r) => r.answered === 500).every((r) => r.webhookId === accepted[0]!.webhookId)).toBe(true);

    // The log shows the failed attempts with the receiver's answer.
    const log = await tenant.owner.request("GET", `/api/webhooks/${id}/deliveries`);
    const { deliveries } = (await log.json()) as { deliveries: { id: number; attempts: number; status: string }[] };
    const first = deliveries[deliveries.length - 1]!;
    expect(first).toMatchObject({ status: "succeeded", attempts: 4 });
    const detail = await tenant.owner.request("GET", `/api/webhooks/${id}/deliveries/${first.id}`);
    const { attempts } = (await detail.json()) as {
      attempts: { responseStatus: number; responseSnippet: string; requestHeaders: Record<string, string> }[];
    };
    expect(attempts.map((a) => a.responseStatus)).toEqual([200, 500, 500, 500]);
    expect(attempts[1]!.responseSnippet).toContain("answer 500");
    expect(attempts[0]!.requestHeaders["webhook-id"]).toBe(accepted[0]!.webhookId);
  });

  it("duplicate queue deliveries and racing consumers send each event once", async () => {
    const target = sink("duplicates");
    const { id } = await subscribe(tenant.owner, target, ["lead.created"]);
    // A slow receiver widens the window in which consumers overlap.
    await target.configure({ delayMs: 150 });
    const leads = [await newLead(), await newLead(), await newLead()];
    const ctx = { db, env, config: getConfig(env) };
    await Promise.all([
      ...Array.from({ length: 5 }, () => deliverSubscription(ctx, id)),
      ...Array.from({ length: 5 }, () => env.QUEUE_DEFAULT.send({ type: "webhook.deliver", subscriptionId: id })),
    ]);
    await waitForAccepted(target, leads.length);
    await vi.waitFor(async () => {
      const [row] = await db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.id, id));
      expect(row!.leaseToken).toBeNull();
    });
    const all = await target.requests();
    expect(all).toHaveLength(leads.length);
    expect(new Set(all.map((r) => r.webhookId)).size).toBe(leads.length);
  });

  it("a consumer that died holding the lease (a Worker restart mid-delivery) holds nothing up for long", async () => {
    const target = sink("restart");
    const { id } = await subscribe(tenant.owner, target, ["lead.created"]);
    // The dead consumer's lease: every kick finds it held and acks.
    await db
      .update(webhookSubscriptions)
      .set({ leaseToken: crypto.randomUUID(), leaseUntil: new Date(Date.now() + 1500) })
      .where(eq(webhookSubscriptions.id, id));
    await newLead({ firstName: "Waiting" });
    await new Promise((r) => setTimeout(r, 300));
    expect(await target.requests()).toHaveLength(0);
    // The minute sweep after the lease expired.
    await vi.waitFor(
      async () => {
        await sweepDueDeliveries(db, env);
        if ((await target.accepted()).length === 0) throw new Error("not yet");
      },
      { timeout: 10_000, interval: 500 },
    );
    const all = await target.requests();
    expect(all).toHaveLength(1);
    expect(eventOf(all[0]!).type).toBe("lead.created");
  });

  it("redirects are not followed: a 3xx is a failed attempt, and the redirect target hears nothing", async () => {
    const target = sink("redirect");
    const elsewhere = sink("redirect-target");
    const { id } = await subscribe(tenant.owner, target, ["lead.created"]);
    await target.configure({ status: 302, location: elsewhere.url });
    await newLead();
    await vi.waitFor(
      async () => {
        const [delivery] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.subscriptionId, id));
        expect(delivery!.status).toBe("failed");
        expect(delivery!.lastError).toContain("not followed");
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(await elsewhere.requests()).toHaveLength(0);
  });
});

describe("the dashboard's controls", () => {
  it("a delivery that ran out of attempts is replayed by hand, one or all since a time", async () => {
    const target = sink("replay");
    const { id } = await subscribe(tenant.owner, target, ["lead.created"]);
    await target.configure({ status: 503 });
    const since = new Date().toISOString();
    await newLead({ firstName: "R1" });
    await newLead({ firstName: "R2" });
    const failed = await vi.waitFor(
      async () => {
        const res = await tenant.owner.request("GET", `/api/webhooks/${id}/deliveries?status=failed`);
        const { deliveries } = (await res.json()) as { deliveries: { id: number; attempts: number }[] };
        expect(deliveries).toHaveLength(2);
        return deliveries;
      },
      { timeout: 15_000 },
    );
    expect(failed.every((d) => d.attempts === 4)).toBe(true);

    await target.configure({ status: 200 });
    const one = await tenant.owner.request("POST", `/api/webhooks/${id}/deliveries/${failed[1]!.id}/redeliver`);
    expect(one.status).toBe(202);
    const [first] = await waitForAccepted(target, 1);
    expect((eventOf(first!).data.lead as { firstName: string }).firstName).toBe("R1");

    const all = await tenant.owner.request("POST", `/api/webhooks/${id}/redeliver`, { since });
    expect(all.status).toBe(202);
    expect(((await all.json()) as { requeued: number }).requeued).toBe(1);
    const accepted = await waitForAccepted(target, 2);
    expect(accepted.map((r) => (eventOf(r).data.lead as { firstName: string }).firstName)).toEqual(["R1", "R2"]);
  });

  it("the test-event button sends webhook.test to that subscription only", async () => {
    const target = sink("test-event");
    const other = sink("test-event-other");
    const { id } = await subscribe(tenant.owner, target, ["call.ended"]);
    await subscribe(tenant.owner, other, ["call.ended"]);
    const res = await tenant.owner.request("POST", `/api/webhooks/${id}/test`);
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    const [received] = await waitForAccepted(target, 1);
    expect(received!.webhookId).toBe(eventId);
    expect(eventOf(received!).type).toBe("webhook.test");
    expectPublishedShape(received!.body);
    expect(await other.requests()).toHaveLength(0);
  });

  it("after a secret rotation deliveries verify with the old secret and with the new one", async () => {
    const target = sink("rotation");
    const { id, secret: oldSecret } = await subscribe(tenant.owner, target, ["lead.created"]);
    const res = await tenant.owner.request("POST", `/api/webhooks/${id}/rotate-secret`, { overlapHours: 1 });
    expect(res.status).toBe(200);
    const { secret: newSecret } = (await res.json()) as { secret: string };
    expect(newSecret).not.toBe(oldSecret);
    // A receiver that still has only the old secret, then one that has only the new one.
    await target.configure({ secrets: [oldSecret] });
    await tenant.owner.request("POST", `/api/webhooks/${id}/test`);
    const [viaOld] = await waitForAccepted(target, 1);
    expect(viaOld!.signature!.split(" ")).toHaveLength(2);
    await target.configure({ secrets: [newSecret] });
    await tenant.owner.request("POST", `/api/webhooks/${id}/test`);
    await waitForAccepted(target, 2);
  });

  it("webhook changes are refused to agents and written to the audit log", async () => {
    const target = sink("audit");
    expect(
      (await tenant.agent.request("POST", "/api/webhooks", { url: target.url, eventTypes: ["lead.created"] })).status,
    ).toBe(403);
    const { id } = await subscribe(tenant.admin, target, ["lead.created"]);
    await tenant.admin.request("PATCH", `/api/webhooks/${id}`, { enabled: false });
    const res = await tenant.owner.request("GET", "/api/audit-log?limit=50");
    const { entries } = (await res.json()) as { entries: { action: string; targetId: string }[] };
    const mine = entries.filter((e) => e.targetId === String(id)).map((e) => e.action);
    expect(mine).toEqual(expect.arrayContaining(["webhook.created", "webhook.updated"]));
  });
});

describe("timing", () => {
  it("retries over about a day with the default settings, with jitter", () => {
    const defaults = parseConfig({});
    const schedule = retrySchedule(defaults.WEBHOOK_MAX_ATTEMPTS, defaults.WEBHOOK_BACKOFF_BASE_SECONDS);
    expect(schedule).toEqual([10, 30, 90, 270, 810, 2430, 7290, 21870, 28800, 28800]);
    const hours = schedule.reduce((a, b) => a + b, 0) / 3600;
    expect(hours).toBeGreaterThan(20);
    expect(hours).toBeLessThan(30);
    const jittered = Array.from({ length: 50 }, () => retryDelayMs(3, 10));
    expect(Math.min(...jittered)).toBeGreaterThanOrEqual(72_000);
    expect(Math.max(...jittered)).toBeLessThanOrEqual(108_000);
    expect(new Set(jittered).size).toBeGreaterThan(1);
  });
});
