/**
 * The API the dashboard's operations pages need beyond the resources themselves: counts before
 * creating a campaign or a broadcast (nothing written), the call gauge, the reports aggregate on the
 * business's clock, the platform admin's views (shards, call capacity, flags, the assignment), and
 * live events for calls and campaigns so open pages follow without polling.
 */
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { broadcasts, callLogs, leads, outboundCallRuns, waConversations, waMessages } from "../../worker/db/schema";
import type { LiveFrame } from "../../worker/live/events";
import { reportRange } from "../../worker/services/reports";
import { type CampaignTenant, campaignTenant, endCall, insertLeads, twilioCallsTo } from "./campaigns-fixtures";
import { type Client, createSystemAdmin, createTenant, type Tenant } from "./fixtures";
import { BASE, call, errorOf, expectFieldRefused, testDb } from "./helpers";

const { db, close } = testDb();
afterAll(close);

let t: CampaignTenant;
beforeAll(async () => {
  t = await campaignTenant(db, { cap: 2, name: "Dashboard API" });
});

async function json<T>(res: Response, status = 200): Promise<T> {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

async function countRows(table: typeof outboundCallRuns | typeof broadcasts, businessId: number) {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(table).where(eq(table.businessId, businessId));
  return row!.n;
}

describe("POST /api/campaigns/preview", () => {
  it("counts the leads a campaign would dial and skip, as creating it would, and writes nothing", async () => {
    const tenant = await campaignTenant(db);
    await insertLeads(db, tenant.businessId, 4, { withoutPhone: 2, status: "new" });
    await insertLeads(db, tenant.businessId, 3, { status: "contacted" });
    const before = await countRows(outboundCallRuns, tenant.businessId);
    const preview = await json<{ dial: number; skipped: number }>(
      await tenant.admin.request("POST", "/api/campaigns/preview", { audience: { status: ["new"] } }),
    );
    expect(preview).toMatchObject({ dial: 4, skipped: 2 });
    expect(await countRows(outboundCallRuns, tenant.businessId)).toBe(before);
    // Creating with the same audience queues exactly what the preview said.
    const created = await json<{ queued: number; skippedLeads: number }>(
      await tenant.admin.request("POST", "/api/campaigns", {
        name: "As previewed",
        audience: { status: ["new"] },
        schedule: { start: new Date(Date.now() + 3600_000).toISOString() },
      }),
      201,
    );
    expect(created).toMatchObject({ queued: 4, skippedLeads: 2 });
  });

  it("is for campaign managers only, and refuses a bad audience naming the field", async () => {
    expect((await t.agent.request("POST", "/api/campaigns/preview", { audience: {} })).status).toBe(403);
    await expectFieldRefused(
      await t.admin.request("POST", "/api/campaigns/preview", { audience: { leadIds: [-1] } }),
      "audience.leadIds.0",
      "a negative lead id",
    );
  });
});

describe("POST /api/broadcasts/preview", () => {
  it("renders {first_name} for a real lead of the audience and counts recipients and skipped, writing nothing", async () => {
    const tenant = await createTenant(db, "Broadcast preview");
    const [dana] = await db
      .insert(leads)
      .values([
        { businessId: tenant.businessId, firstName: "דנה", phoneE164: "+972541000001", status: "new" },
        { businessId: tenant.businessId, firstName: "Avi", phoneE164: "+972541000002", status: "new" },
        { businessId: tenant.businessId, firstName: "No phone", status: "new" },
      ])
      .returning({ id: leads.id });
    const body = { template: "שלום {first_name}, מבצע ב{business_name}!", audience: { status: ["new"] } };
    const preview = await json<{
      recipients: number;
      skipped: number;
      sample: { leadId: number; text: string } | null;
    }>(await tenant.admin.request("POST", "/api/broadcasts/preview", body));
    expect(preview.recipients).toBe(2);
    expect(preview.skipped).toBe(1);
    expect(preview.sample).toMatchObject({ leadId: dana!.id, text: "שלום דנה, מבצע בBroadcast preview!" });
    expect(await countRows(broadcasts, tenant.businessId)).toBe(0);

    // A chosen lead of the audience.
    const avi = await json<{ sample: { text: string } }>(
      await tenant.admin.request("POST", "/api/broadcasts/preview", { ...body, leadId: dana!.id + 1 }),
    );
    expect(avi.sample.text).toContain("שלום Avi,");
    // An audience with nobody to message: no sample, counts still given.
    const none = await json<{ recipients: number; sample: unknown }>(
      await tenant.admin.request("POST", "/api/broadcasts/preview", { ...body, audience: { status: ["lost"] } }),
    );
    expect(none).toMatchObject({ recipients: 0, sample: null });
  });

  it("refuses an unknown variable like creating does, and agents may not use it", async () => {
    const res = await t.admin.request("POST", "/api/broadcasts/preview", { template: "Hi {nope}", audience: {} });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await errorOf(res))).toContain("template");
    expect((await t.agent.request("POST", "/api/broadcasts/preview", { template: "Hi", audience: {} })).status).toBe(
      403,
    );
  });
});

describe("GET /api/calls/capacity", () => {
  it("shows the business's active calls against its cap and the platform's against the platform cap", async () => {
    const tenant = await campaignTenant(db, { cap: 2 });
    const [lead] = await insertLeads(db, tenant.businessId, 1);
    const idle = await json<{ business: { active: number; cap: number }; platform: { active: number; cap: number } }>(
      await tenant.agent.request("GET", "/api/calls/capacity"),
    );
    expect(idle.business).toEqual({ active: 0, cap: 2 });
    expect(idle.platform.cap).toBeGreaterThan(0);
    const placed = await tenant.agent.request("POST", "/api/calls", { leadId: lead!.id });
    expect(placed.status).toBe(201);
    const busy = await json<typeof idle>(await tenant.agent.request("GET", "/api/calls/capacity"));
    expect(busy.business).toEqual({ active: 1, cap: 2 });
    expect(busy.platform.active).toBeGreaterThanOrEqual(1);
    const [twilioCall] = await twilioCallsTo([lead!.phone!]);
    await endCall(twilioCall!);
    const after = await json<typeof idle>(await tenant.agent.request("GET", "/api/calls/capacity"));
    expect(after.business.active).toBe(0);
  });
});

describe("live events for calls and campaigns", () => {
  async function open(client: Client) {
    const res = await call("/api/live", { headers: { Cookie: client.cookie, Upgrade: "websocket", Origin: BASE } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const frames: LiveFrame[] = [];
    ws.addEventListener("message", (e) => frames.push(JSON.parse(String(e.data)) as LiveFrame));
    ws.accept();
    return { ws, frames };
  }

  it("an open tab hears a placed call, its end, and a campaign paused", async () => {
    const tenant = await campaignTenant(db, { cap: 3 });
    const [lead] = await insertLeads(db, tenant.businessId, 1);
    const tab = await open(tenant.owner);
    await expect.poll(() => tab.frames.some((f) => f.type === "hello")).toBe(true);

    const placed = await json<{ callLogId: number }>(
      await tenant.agent.request("POST", "/api/calls", { leadId: lead!.id }),
      201,
    );
    await expect.poll(() => tab.frames.some((f) => f.type === "calls" && f.callLogId === placed.callLogId)).toBe(true);
    const [twilioCall] = await twilioCallsTo([lead!.phone!]);
    await endCall(twilioCall!, "no-answer");
    await expect
      .poll(() =>
        tab.frames.some((f) => f.type === "calls" && f.callLogId === placed.callLogId && f.status === "no-answer"),
      )
      .toBe(true);

    const created = await json<{ campaign: { id: number } }>(
      await tenant.admin.request("POST", "/api/campaigns", {
        name: "Later",
        audience: { leadIds: [lead!.id] },
        schedule: { start: new Date(Date.now() + 3600_000).toISOString() },
      }),
      201,
    );
    expect((await tenant.admin.request("POST", `/api/campaigns/${created.campaign.id}/pause`)).status).toBe(200);
    await expect
      .poll(() => tab.frames.filter((f) => f.type === "campaign" && f.campaignId === created.campaign.id).length)
      .toBe(2);
    tab.ws.close();
  });
});

describe("GET /api/reports", () => {
  let tenant: Tenant;
  beforeAll(async () => {
    tenant = await createTenant(db, "Reports");
  });

  it("counts messages, calls by outcome and first-response time per day of the business's clock", async () => {
    const [lead] = await db
      .insert(leads)
      .values({ businessId: tenant.businessId, firstName: "R", phoneE164: "+972541000009", status: "new" })
      .returning({ id: leads.id });
    const [conv] = await db
      .insert(waConversations)
      .values({ businessId: tenant.businessId, chatJid: "972541000009@s.whatsapp.net", leadId: lead!.id })
      .returning({ id: waConversations.id });
    const msg = (id: string, fromMe: boolean, at: string) => ({
      businessId: tenant.businessId,
      conversationId: conv!.id,
      chatJid: "972541000009@s.whatsapp.net",
      waMessageId: id,
      fromMe,
      text: id,
      sentAt: new Date(at),
    });
    // 23:30 UTC on the 11th is 01:30 on the 12th in Jerusalem (UTC+2): the 12th's.
    await db
      .insert(waMessages)
      .values([
        msg("in-1", false, "2027-01-11T23:30:00Z"),
        msg("in-2", false, "2027-01-11T23:31:00Z"),
        msg("out-1", true, "2027-01-11T23:40:00Z"),
        msg("in-3", false, "2027-01-12T10:00:00Z"),
        msg("out-2", true, "2027-01-12T10:02:00Z"),
      ]);
    const callAt = (status: string, at: string) => ({
      businessId: tenant.businessId,
      leadId: lead!.id,
      direction: "outbound" as const,
      source: "direct" as const,
      status,
      createdAt: new Date(at),
    });
    await db.insert(callLogs).values([
      callAt("completed", "2027-01-11T22:30:00Z"),
      callAt("no-answer", "2027-01-12T08:00:00Z"),
      callAt("busy", "2027-01-12T09:00:00Z"),
      // 22:30 UTC on the 10th: 00:30 on the 11th in Jerusalem.
      callAt("completed", "2027-01-10T22:30:00Z"),
    ]);

    const report = await json<{
      timezone: string;
      days: {
        date: string;
        messagesIn: number;
        messagesOut: number;
        calls: Record<string, number>;
        firstResponse: { conversations: number; answered: number; medianSeconds: number | null };
      }[];
    }>(await tenant.owner.request("GET", "/api/reports?from=2027-01-11&to=2027-01-12"));
    expect(report.timezone).toBe("Asia/Jerusalem");
    expect(report.days.map((d) => d.date)).toEqual(["2027-01-11", "2027-01-12"]);
    const [d11, d12] = report.days;
    expect(d11).toMatchObject({ messagesIn: 0, messagesOut: 0, calls: { answered: 1, noAnswer: 0, busy: 0 } });
    expect(d12).toMatchObject({
      messagesIn: 3,
      messagesOut: 2,
      calls: { answered: 1, noAnswer: 1, busy: 1, failed: 0, other: 0 },
    });
    // Two turns (in-1 → out-1 after 10 min; in-3 → out-2 after 2 min): median 6 minutes.
    expect(d12!.firstResponse).toEqual({ conversations: 2, answered: 2, medianSeconds: 360 });
  });

  it("refuses a reversed or too long range naming the field, and is for admins and up", async () => {
    await expectFieldRefused(
      await tenant.owner.request("GET", "/api/reports?from=2027-02-01&to=2027-01-01"),
      "from",
      "a reversed range",
    );
    await expectFieldRefused(
      await tenant.owner.request("GET", "/api/reports?from=2025-01-01&to=2027-01-01"),
      "from",
      "two years",
    );
    // Not a calendar day: refused as input, never a database error.
    await expectFieldRefused(await tenant.owner.request("GET", "/api/reports?from=2027-02-30"), "from", "February 30");
    await expectFieldRefused(await tenant.owner.request("GET", "/api/reports?to=0000-01-01"), "to", "year zero");
    expect((await tenant.agent.request("GET", "/api/reports")).status).toBe(403);
    expect((await tenant.admin.request("GET", "/api/reports")).status).toBe(200);
  });

  it("defaults to the last 30 days ending today on the business's clock", () => {
    const range = reportRange({}, "Asia/Jerusalem", new Date("2027-01-11T23:30:00Z"));
    expect(range).toMatchObject({ ok: true, from: "2026-12-14", to: "2027-01-12" });
    if (range.ok) expect(range.days).toHaveLength(30);
  });
});

describe("platform admin views", () => {
  it("shards with health and session counts, each business's routing, platform call capacity and flags: system admins only", async () => {
    const admin = await createSystemAdmin(db, t.businessId);
    const shards = await json<{
      shards: { shard: number; status: string; sessions: { total: number } | null }[];
      businesses: { businessId: number; shard: number }[];
    }>(await admin.request("GET", "/api/admin/shards"));
    expect(shards.shards.length).toBe(Number(env.BAILEYS_NUM_SHARDS));
    for (const s of shards.shards) {
      expect(s.status).toBe("ok");
      expect(s.sessions!.total).toBeGreaterThanOrEqual(0);
    }
    expect(shards.businesses.find((b) => b.businessId === t.businessId)?.shard).toBeGreaterThan(0);

    const calls = await json<{ active: number; cap: number; byBusiness: unknown[] }>(
      await admin.request("GET", "/api/admin/calls"),
    );
    expect(calls.cap).toBeGreaterThan(0);
    expect(calls.active).toBeGreaterThanOrEqual(0);

    expect((await admin.request("PUT", "/api/admin/feature-flags/call_recording", { enabled: true })).status).toBe(204);
    const flags = await json<{ flags: Record<string, { default: boolean | null; platform: boolean | null }> }>(
      await admin.request("GET", "/api/admin/feature-flags"),
    );
    expect(flags.flags.call_recording).toEqual({ default: false, platform: true });
    expect((await admin.request("PUT", "/api/admin/feature-flags/call_recording", { enabled: null })).status).toBe(204);

    const assignment = await json<{ assignment: { shard: number; move: unknown }; shards: number }>(
      await admin.request("GET", "/api/admin/whatsapp/assignment"),
    );
    expect(assignment.assignment.move).toBeNull();
    expect(assignment.shards).toBe(Number(env.BAILEYS_NUM_SHARDS));

    for (const path of [
      "/api/admin/shards",
      "/api/admin/calls",
      "/api/admin/feature-flags",
      "/api/admin/whatsapp/assignment",
    ]) {
      expect((await t.owner.request("GET", path)).status, path).toBe(403);
    }
  });
});
