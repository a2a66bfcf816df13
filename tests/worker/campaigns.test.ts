/**
 * Bulk call campaigns, the API and the housekeeping around dialing: who may create and see runs,
 * how an audience becomes jobs (filters, explicit ids, leads without a phone), schedules and
 * working hours, the list, the sweep that settles jobs a crash or a lost callback left behind,
 * and the metrics. (Dialing itself: campaigns-dialing.test.ts.)
 */
import { createExecutionContext, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { hasNoHours, localTime, nextOpening } from "../../worker/campaigns/business-hours";
import { SLOT_WAIT_MAX_SECONDS, slotWaitDelaySeconds } from "../../worker/campaigns/policy";
import { createCampaign, createCampaignSchema } from "../../worker/campaigns/runs";
import { sweepCampaigns } from "../../worker/campaigns/sweep";
import { getConfig } from "../../worker/config";
import { businesses, callLogs, outboundCallJobs, outboundCallRuns } from "../../worker/db/schema";
import { handleQueueBatch } from "../../worker/queues/consumer";
import { randomCallSid } from "./calls-fixtures";
import { campaignTenant, dialBatch, insertLeads, jobsOf, twilioCallsTo, until } from "./campaigns-fixtures";
import { createTenant } from "./fixtures";
import { callWithSettings, errorOf, expectFieldRefused, testDb } from "./helpers";

const { db, close } = testDb();
afterAll(close);
const config = getConfig(env);

interface RunBody {
  campaign: {
    id: number;
    status: string;
    totalJobs: number;
    skippedLeads: number;
    schedule: { start: string | null; end: string | null; businessHours: boolean };
    jobs: Record<string, number>;
    maxAttempts: number;
    retryDelaySeconds: number;
    audience: Record<string, unknown>;
  };
  queued: number;
  skippedLeads: number;
  notFoundLeadIds: number[];
  firstDialAt: string | null;
}

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

describe("POST /api/campaigns", () => {
  it("admins and owners create runs; agents may only read them", async () => {
    const t = await campaignTenant(db);
    const people = await insertLeads(db, t.businessId, 2);
    const body = {
      name: "Later",
      audience: { leadIds: people.map((p) => p.id) },
      schedule: { start: inAnHour() },
    };
    expect((await t.agent.request("POST", "/api/campaigns", body)).status).toBe(403);
    const res = await t.admin.request("POST", "/api/campaigns", body);
    expect(res.status).toBe(201);
    const created = (await res.json()) as RunBody;
    expect(created.campaign).toMatchObject({ status: "queued", totalJobs: 2, maxAttempts: 1, retryDelaySeconds: 600 });
    expect(created.firstDialAt).toBe(new Date(body.schedule.start).toISOString());
    expect((await t.owner.request("POST", "/api/campaigns", body)).status).toBe(201);
    expect((await t.agent.request("GET", `/api/campaigns/${created.campaign.id}`)).status).toBe(200);
    expect((await t.agent.request("GET", "/api/campaigns")).status).toBe(200);
    expect((await t.agent.request("POST", `/api/campaigns/${created.campaign.id}/cancel`)).status).toBe(403);
    expect((await t.admin.request("POST", `/api/campaigns/${created.campaign.id}/cancel`)).status).toBe(200);
  });

  it("another business's run is not found, whatever the action", async () => {
    const t = await campaignTenant(db);
    const [person] = await insertLeads(db, t.businessId, 1);
    const run = await createCampaign(db, {
      businessId: t.businessId,
      userId: null,
      body: createCampaignSchema.parse({
        name: "Mine",
        audience: { leadIds: [person!.id] },
        schedule: { start: inAnHour() },
      }),
    });
    const other = await createTenant(db, "Nosy");
    expect((await other.owner.request("GET", `/api/campaigns/${run.campaign.id}`)).status).toBe(404);
    for (const action of ["pause", "resume", "cancel"])
      expect((await other.owner.request("POST", `/api/campaigns/${run.campaign.id}/${action}`)).status).toBe(404);
    // Nor can its leads be put into a run of another business: they simply do not match.
    const res = await other.owner.request("POST", "/api/campaigns", {
      name: "Theirs",
      audience: { leadIds: [person!.id] },
    });
    // (Nosy has no Twilio settings problem: PUBLIC_HOST and credentials are platform-wide.)
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ details: { fields: [{ field: "audience" }] } });
  });

  it("an audience by filter: only matching leads with a valid phone get a job; the others are counted as skipped", async () => {
    const t = await campaignTenant(db);
    const hot = await insertLeads(db, t.businessId, 3, { status: "contacted", withoutPhone: 2 });
    await insertLeads(db, t.businessId, 4, { status: "new" });
    // A phone that is not E.164 (e.g. written before normalisation existed) is never dialed.
    await db.execute(
      sql`INSERT INTO leads (business_id, first_name, phone_e164, status) VALUES (${t.businessId}, 'Bad', '0501234567', 'contacted')`,
    );
    const res = await t.admin.request("POST", "/api/campaigns", {
      name: "Contacted",
      audience: { status: ["contacted"] },
      schedule: { start: inAnHour() },
      maxAttempts: 3,
      retryDelaySeconds: 900,
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as RunBody;
    expect(created).toMatchObject({ queued: 3, skippedLeads: 3 });
    expect(created.campaign).toMatchObject({ totalJobs: 3, skippedLeads: 3, maxAttempts: 3, retryDelaySeconds: 900 });
    expect(created.campaign.audience).toEqual({ status: ["contacted"] });
    const jobs = await jobsOf(db, created.campaign.id);
    expect(jobs.map((j) => j.leadId).sort()).toEqual(
      hot
        .filter((p) => p.phone)
        .map((p) => p.id)
        .sort(),
    );
    expect(jobs.every((j) => j.status === "queued" && j.nextAttemptAt !== null)).toBe(true);
  });

  it("explicit lead ids: unknown ids are reported, duplicates make one job", async () => {
    const t = await campaignTenant(db);
    const people = await insertLeads(db, t.businessId, 2);
    const res = await t.admin.request("POST", "/api/campaigns", {
      name: "Picked",
      audience: { leadIds: [people[0]!.id, people[0]!.id, people[1]!.id, 999_999_999] },
      schedule: { start: inAnHour() },
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ queued: 2, notFoundLeadIds: [999_999_999] });
  });

  it("refuses bad input, naming the fields, and writes nothing", async () => {
    const t = await campaignTenant(db);
    const noPhones = await insertLeads(db, t.businessId, 0, { withoutPhone: 2 });
    const cases: [unknown, string][] = [
      [{ audience: {} }, "name"],
      [{ name: "x", audience: { leadIds: [] } }, "audience.leadIds"],
      [{ name: "x", audience: {}, maxAttempts: 0 }, "maxAttempts"],
      [{ name: "x", audience: {}, retryDelaySeconds: 5 }, "retryDelaySeconds"],
      [{ name: "x", audience: {}, schedule: { start: inAnHour(), end: new Date().toISOString() } }, "schedule.end"],
      [{ name: "x", audience: {}, businessId: 1 }, "businessId"],
      [{ name: "x", audience: { leadIds: noPhones.map((p) => p.id) } }, "audience"],
      [{ name: "x", audience: {}, schedule: { businessHours: true } }, "schedule.businessHours"],
    ];
    for (const [body, field] of cases) {
      const res = await t.admin.request("POST", "/api/campaigns", body);
      await expectFieldRefused(res, field, JSON.stringify(body));
    }
    const runs = (await (await t.admin.request("GET", "/api/campaigns")).json()) as { campaigns: unknown[] };
    expect(runs.campaigns).toEqual([]);
  });

  it("without Twilio credentials the API refuses to start a run (503 naming them)", async () => {
    const t = await campaignTenant(db);
    const res = await callWithSettings({ TWILIO_AUTH_TOKEN: "" }, "/api/campaigns", {
      method: "POST",
      headers: { Cookie: t.admin.cookie, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "x", audience: {} }),
    });
    expect(res.status).toBe(503);
    expect(await errorOf(res)).toMatchObject({ details: { variables: ["TWILIO_AUTH_TOKEN"] } });
  });

  it("working hours: a run created while the business is closed first dials when it opens", async () => {
    const t = await campaignTenant(db);
    const [person] = await insertLeads(db, t.businessId, 1);
    const [business] = await db
      .select({ timezone: businesses.timezone })
      .from(businesses)
      .where(eq(businesses.id, t.businessId));
    // Open only two days from now, 10:00-11:00 local time: closed right now.
    const day = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][
      (localTime(new Date(), business!.timezone).day + 2) % 7
    ]!;
    const patched = await t.owner.request("PATCH", "/api/settings", { workingHours: { [day]: [["10:00", "11:00"]] } });
    expect(patched.status).toBe(200);
    const res = await t.admin.request("POST", "/api/campaigns", {
      name: "Office hours",
      audience: { leadIds: [person!.id] },
      schedule: { businessHours: true },
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as RunBody;
    expect(created.campaign.schedule.businessHours).toBe(true);
    const first = new Date(created.firstDialAt!);
    expect(first.getTime()).toBeGreaterThan(Date.now() + 24 * 3600_000);
    expect(localTime(first, business!.timezone)).toMatchObject({ minutes: 600 });
    const [job] = await jobsOf(db, created.campaign.id);
    expect(job!.nextAttemptAt!.toISOString()).toBe(first.toISOString());
    await t.admin.request("POST", `/api/campaigns/${created.campaign.id}/cancel`);
  });
});

describe("GET /api/campaigns", () => {
  it("lists the business's runs newest first with progress, in pages", async () => {
    const t = await campaignTenant(db);
    const people = await insertLeads(db, t.businessId, 3);
    const ids: number[] = [];
    for (const name of ["one", "two", "three"]) {
      const res = await t.admin.request("POST", "/api/campaigns", {
        name,
        audience: { leadIds: people.map((p) => p.id) },
        schedule: { start: inAnHour() },
      });
      ids.push(((await res.json()) as RunBody).campaign.id);
    }
    await t.admin.request("POST", `/api/campaigns/${ids[0]}/cancel`);
    const page1 = (await (await t.agent.request("GET", "/api/campaigns?limit=2")).json()) as {
      campaigns: RunBody["campaign"][];
      nextCursor: string | null;
    };
    expect(page1.campaigns.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    expect(page1.campaigns[0]!.jobs).toMatchObject({ queued: 3, remaining: 3, done: 0 });
    const page2 = (await (
      await t.agent.request("GET", `/api/campaigns?limit=2&cursor=${page1.nextCursor}`)
    ).json()) as {
      campaigns: RunBody["campaign"][];
      nextCursor: string | null;
    };
    expect(page2.campaigns.map((r) => [r.id, r.status])).toEqual([[ids[0], "cancelled"]]);
    expect(page2.campaigns[0]!.jobs).toMatchObject({ cancelled: 3, done: 3, remaining: 0 });
    expect(page2.nextCursor).toBeNull();
    const cancelled = (await (await t.agent.request("GET", "/api/campaigns?status=cancelled")).json()) as {
      campaigns: RunBody["campaign"][];
    };
    expect(cancelled.campaigns.map((r) => r.id)).toEqual([ids[0]]);
    const other = await createTenant(db, "Empty");
    expect(await (await other.agent.request("GET", "/api/campaigns")).json()).toEqual({
      campaigns: [],
      nextCursor: null,
    });
  });
});

describe("the campaign sweep", () => {
  it("settles jobs left dialing by a crash and calls whose end was never applied, and refills idle slots", async () => {
    const t = await campaignTenant(db, { cap: 3 });
    const people = await insertLeads(db, t.businessId, 4);
    const created = await createCampaign(db, {
      businessId: t.businessId,
      userId: null,
      body: createCampaignSchema.parse({ name: "Crashed", audience: { leadIds: people.map((p) => p.id) } }),
    });
    const [noLog, askedTwilio, callEnded, lost] = created.jobs.map((j) => j.jobId) as [number, number, number, number];
    const longAgo = sql`now() - interval '2 hours'`;
    const setJob = (id: number, values: Record<string, unknown>) =>
      db.update(outboundCallJobs).set(values).where(eq(outboundCallJobs.id, id));
    // 1. Claimed, then the consumer died before writing a call log: no call exists.
    await setJob(noLog, { status: "dialing", lockToken: crypto.randomUUID(), attempts: 1, dialStartedAt: longAgo });
    // 2. Died after the call log was written, before Twilio answered: the call may exist.
    await setJob(askedTwilio, {
      status: "dialing",
      lockToken: crypto.randomUUID(),
      attempts: 1,
      dialStartedAt: longAgo,
    });
    await db.insert(callLogs).values({
      businessId: t.businessId,
      direction: "outbound",
      source: "bulk",
      status: "queued",
      outboundJobId: askedTwilio,
      createdAt: new Date(),
    });
    // 3. On a call whose completed callback was applied to the log but never reached the job.
    const sid = randomCallSid();
    await setJob(callEnded, {
      status: "in_call",
      lockToken: crypto.randomUUID(),
      attempts: 1,
      callSid: sid,
      dialStartedAt: longAgo,
    });
    await db.insert(callLogs).values({
      businessId: t.businessId,
      direction: "outbound",
      source: "bulk",
      status: "completed",
      callSid: sid,
      outboundJobId: callEnded,
    });
    // 4. `lost`: queued, its message lost for good.

    const report = await sweepCampaigns(db, env, config, { staleDialingMinutes: 10, businessId: t.businessId });
    expect(report).toMatchObject({ redialable: 1, settledDialing: 1, settledCalls: 1 });
    expect(report.kicked).toBeGreaterThanOrEqual(1);
    const byId = new Map((await jobsOf(db, created.campaign.id)).map((j) => [j.id, j]));
    expect(byId.get(askedTwilio)).toMatchObject({ status: "failed" });
    expect(byId.get(askedTwilio)!.lastError).toContain("may have been placed");
    expect(byId.get(callEnded)).toMatchObject({ status: "completed", outcome: "completed" });

    // The two dialable jobs were queued again by the sweep and are dialed by the real consumer.
    const numbers = [people[0]!.phone!, people[3]!.phone!];
    const calls = await until("the two jobs dialed", async () => {
      const made = await twilioCallsTo(numbers);
      return made.length === 2 ? made : undefined;
    });
    expect(calls.map((c) => c.to).sort()).toEqual([...numbers].sort());
    expect(await twilioCallsTo([people[1]!.phone!])).toEqual([]); // never dialed twice
    // The job is marked in_call just after Twilio accepted the call: wait for that write.
    const statuses = await until("both jobs in_call", async () => {
      const after = new Map((await jobsOf(db, created.campaign.id)).map((j) => [j.id, j]));
      const pair = [after.get(noLog)!.status, after.get(lost)!.status];
      return pair.every((s) => s === "in_call") ? pair : undefined;
    });
    expect(statuses).toEqual(["in_call", "in_call"]);
  });
});

describe("sweep housekeeping", () => {
  it("closes a run whose window ended while its jobs' messages were lost: waiting jobs cancelled, nothing dialed", async () => {
    const t = await campaignTenant(db, { cap: 3 });
    const people = await insertLeads(db, t.businessId, 2);
    // createCampaign without enqueueing: as if every queue message had been lost.
    const created = await createCampaign(db, {
      businessId: t.businessId,
      userId: null,
      body: createCampaignSchema.parse({ name: "Window passed", audience: { leadIds: people.map((p) => p.id) } }),
    });
    await db
      .update(outboundCallRuns)
      .set({ status: "running", windowEnd: new Date(Date.now() - 60_000) })
      .where(eq(outboundCallRuns.id, created.campaign.id));
    await sweepCampaigns(db, env, config, { staleDialingMinutes: 10, businessId: t.businessId });
    expect((await jobsOf(db, created.campaign.id)).map((j) => j.status)).toEqual(["cancelled", "cancelled"]);
    const [run] = await db.select().from(outboundCallRuns).where(eq(outboundCallRuns.id, created.campaign.id));
    expect(run!.status).toBe("completed");
    expect(await twilioCallsTo(people.map((p) => p.phone!))).toEqual([]);
  });
});

describe("working hours and backoff", () => {
  it("next opening: now when open, else the next range start in the business's zone", () => {
    const hours = {
      mon: [["09:00", "17:00"]],
      wed: [
        ["09:00", "12:00"],
        ["14:00", "18:00"],
      ],
    };
    const zone = "Asia/Jerusalem";
    // Monday 2027-01-04 10:00 in Jerusalem (UTC+2) is open.
    const mondayMorning = new Date("2027-01-04T08:00:00Z");
    expect(nextOpening(hours, mondayMorning, zone)).toEqual(mondayMorning);
    // Monday 18:30 → Wednesday 09:00.
    expect(nextOpening(hours, new Date("2027-01-04T16:30:00Z"), zone)!.toISOString()).toBe("2027-01-06T07:00:00.000Z");
    // Wednesday 12:30 (lunch) → 14:00 the same day.
    expect(nextOpening(hours, new Date("2027-01-06T10:30:00Z"), zone)!.toISOString()).toBe("2027-01-06T12:00:00.000Z");
    // Saturday → Monday 09:00.
    expect(nextOpening(hours, new Date("2027-01-09T10:00:00Z"), zone)!.toISOString()).toBe("2027-01-11T07:00:00.000Z");
    expect(nextOpening(null, mondayMorning, zone)).toBeNull();
    expect(hasNoHours({ sun: [] })).toBe(true);
  });

  it("slot waits back off exponentially with jitter, capped, never zero", () => {
    expect(slotWaitDelaySeconds(0, () => 0.5)).toBe(2);
    expect(slotWaitDelaySeconds(3, () => 0.5)).toBe(16);
    expect(slotWaitDelaySeconds(50, () => 0.5)).toBe(SLOT_WAIT_MAX_SECONDS);
    expect(slotWaitDelaySeconds(50, () => 1)).toBe(SLOT_WAIT_MAX_SECONDS);
    expect(slotWaitDelaySeconds(0, () => 0)).toBeGreaterThanOrEqual(1);
    const spread = new Set(Array.from({ length: 50 }, () => slotWaitDelaySeconds(6)));
    expect(spread.size).toBeGreaterThan(5);
  });

  it("a job waiting for a slot is a fresh delayed message, never a spent retry", async () => {
    const t = await campaignTenant(db, { cap: 1 });
    const people = await insertLeads(db, t.businessId, 2);
    const created = await createCampaign(db, {
      businessId: t.businessId,
      userId: null,
      body: createCampaignSchema.parse({ name: "Busy", audience: { leadIds: people.map((p) => p.id) } }),
    });
    const batch = dialBatch(created.jobs);
    await handleQueueBatch(batch, env);
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(2);
    const jobs = await jobsOf(db, created.campaign.id);
    // Side by side in one batch, either may win the slot: one is dialed (on a call once the
    // business's object has written its CallSid); the other waited as a standby, then went back
    // to the queue untouched.
    const dialed = jobs.filter((j) => j.status !== "queued");
    expect(dialed).toHaveLength(1);
    expect(["dialing", "in_call"]).toContain(dialed[0]!.status);
    expect(jobs.find((j) => j.status === "queued")).toMatchObject({ attempts: 0, lockToken: null });
    await db.execute(sql`UPDATE outbound_call_runs SET status = 'cancelled' WHERE id = ${created.campaign.id}`);
  });
});

describe("metrics", () => {
  it("jobs by status, dials, slot waits and dead-lettered dial jobs are on /metrics", async () => {
    const token = "metrics-token-for-campaign-tests-0123";
    const res = await callWithSettings({ METRICS_TOKEN: token }, "/metrics", {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/prosaas_campaign_jobs\{status="queued",isolate="[^"]+"\} \d+/);
    expect(text).toMatch(/prosaas_campaign_runs\{status="[a-z]+",isolate="[^"]+"\} [1-9]/);
    expect(text).toContain("# TYPE prosaas_campaign_dials_total counter");
    expect(text).toContain("# TYPE prosaas_campaign_slot_waits_total counter");
    expect(text).toMatch(/prosaas_campaign_dead_letters\{isolate="[^"]+"\} \d+/);
  });
});
