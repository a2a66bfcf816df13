/**
 * Bulk call campaigns, dialing: the old system's manual checks as automated tests, on real
 * Postgres, the admission Durable Objects, the real queues and the fake Twilio REST server. Calls
 * are ended the way Twilio ends them (signed status callbacks), so slots free up only when a
 * callback says so, and every test samples the business's active calls while the run progresses.
 *
 * Seed: 20 leads at cap 3 never exceed 3 active and each is dialed once; direct + bulk share the
 * cap; two consumers with every message delivered twice dial each lead once; a missing
 * PUBLIC_HOST fails the run and dials nothing.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq, isNotNull, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { callAdmission } from "../../worker/calls/admission";
import { placeOutboundCall } from "../../worker/calls/place-outbound-call";
import { createCampaign, createCampaignSchema } from "../../worker/campaigns/runs";
import { getConfig } from "../../worker/config";
import { callLogs, deadLetters, outboundCallJobs, outboundCallRuns } from "../../worker/db/schema";
import { handleQueueBatch } from "../../worker/queues/consumer";
import { fakeTwilio, TWILIO_BASE, uniqueNumber } from "./calls-fixtures";
import {
  type CampaignTenant,
  campaignOf,
  campaignTenant,
  dialBatch,
  endCall,
  insertLeads,
  jobsOf,
  Phones,
  sleep,
  statusCounts,
  twilioCallsTo,
  until,
} from "./campaigns-fixtures";
import { callWithSettings, errorOf, testDb } from "./helpers";

const { db, close } = testDb();
afterAll(close);
const config = getConfig(env);

/** A run made by the service, with no queue message sent: the test delivers them itself. */
async function quietRun(t: CampaignTenant, leadIds: number[], extra: Record<string, unknown> = {}) {
  return createCampaign(db, {
    businessId: t.businessId,
    userId: t.admin.userId,
    body: createCampaignSchema.parse({ name: "Quiet run", audience: { leadIds }, ...extra }),
  });
}

/** The run, once completed (its completion follows the last call's end, just after it is written). */
const runCompleted = (runId: number) =>
  until(`run ${runId} completed`, async () => {
    const run = await campaignOf(db, runId);
    return run.status === "completed" ? run : undefined;
  });

/** The run's (first) job once on a call: its CallSid is written by the business's object within seconds. */
const jobInCall = (runId: number) =>
  until(`run ${runId}'s job in_call`, async () => {
    const [job] = await jobsOf(db, runId);
    return job?.status === "in_call" ? job : undefined;
  });

async function deliver(batch: MessageBatch, workerEnv: object = env) {
  await handleQueueBatch(batch, workerEnv as typeof env);
  return getQueueResult(batch, createExecutionContext());
}

/**
 * Answers calls one at a time while the run progresses, sampling the active count all along. A
 * call is ended only once the cap is reached (or nothing new was dialed for a moment), so the run
 * is always pushing against the cap while it is sampled. Bounded by `timeoutMs`.
 */
async function driveRun(runId: number, phones: Phones, cap: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const settled = settleTracker();
  while (Date.now() < deadline) {
    const live = await phones.live();
    expect(live.length).toBeLessThanOrEqual(cap);
    expect(phones.maxActive).toBeLessThanOrEqual(cap);
    if (live.length > 0 && (live.length >= cap || settled(live.length))) await phones.end(live[0]!);
    else if (live.length === 0 && (await campaignOf(db, runId)).status === "completed") return;
    else await sleep(20);
  }
  throw new Error(
    `run ${runId} did not finish within ${timeoutMs} ms: ${JSON.stringify(await statusCounts(db, runId))}`,
  );
}

/** True once the count has not changed for 400 ms. */
function settleTracker(quietMs = 400) {
  let last = -1;
  let since = Date.now();
  return (count: number) => {
    if (count !== last) {
      last = count;
      since = Date.now();
    }
    return Date.now() - since >= quietMs;
  };
}

function expectOneCallPerNumber(calls: { to: string }[], numbers: string[]) {
  const perNumber = new Map<string, number>();
  for (const c of calls) perNumber.set(c.to, (perNumber.get(c.to) ?? 0) + 1);
  expect([...perNumber.values()].every((n) => n === 1)).toBe(true);
  expect([...perNumber.keys()].sort()).toEqual([...numbers].sort());
}

describe("a campaign dials each lead once, never above the business's cap", () => {
  it("20 leads at cap 3: at most 3 active at any sample, all 20 dialed exactly once, the run completes", async () => {
    const t = await campaignTenant(db, { cap: 3 });
    const people = await insertLeads(db, t.businessId, 20, { withoutPhone: 2 });
    const res = await t.admin.request("POST", "/api/campaigns", {
      name: "Seed test 1",
      audience: { leadIds: people.map((p) => p.id) },
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as {
      campaign: { id: number; status: string };
      queued: number;
      skippedLeads: number;
    };
    expect(created).toMatchObject({ queued: 20, skippedLeads: 2 });

    const numbers = people.flatMap((p) => (p.phone ? [p.phone] : []));
    const phones = new Phones(new Set(numbers), t.businessId);
    await driveRun(created.campaign.id, phones, 3);

    expect(phones.maxActive).toBe(3); // the cap was reached, and held
    expect(phones.maxLive).toBeLessThanOrEqual(3);
    expectOneCallPerNumber(await twilioCallsTo(numbers), numbers);
    const jobs = await jobsOf(db, created.campaign.id);
    expect(jobs.map((j) => [j.status, j.attempts])).toEqual(jobs.map(() => ["completed", 1]));
    expect(new Set(jobs.map((j) => j.callSid)).size).toBe(20);

    const view = (await (await t.agent.request("GET", `/api/campaigns/${created.campaign.id}`)).json()) as {
      campaign: Record<string, unknown> & { jobs: Record<string, number> };
      slots: Record<string, number>;
    };
    expect(view.campaign).toMatchObject({ status: "completed", totalJobs: 20, skippedLeads: 2, activeCalls: 0 });
    expect(view.campaign.jobs).toMatchObject({ completed: 20, queued: 0, done: 20, remaining: 0 });
    expect(view.campaign.startedAt).not.toBeNull();
    expect(view.campaign.estimatedFinishAt).toBe(view.campaign.finishedAt);
    expect(view.slots).toMatchObject({ active: 0, cap: 3 });
  });

  it("direct and bulk share the cap: with a direct call live bulk holds at most 2 slots, the total never exceeds 3", async () => {
    const t = await campaignTenant(db, { cap: 3 });
    const people = await insertLeads(db, t.businessId, 8);
    const direct = await placeOutboundCall({
      db,
      env,
      config,
      businessId: t.businessId,
      leadId: null,
      toNumber: uniqueNumber(),
      source: "direct",
    });
    if (!direct.ok) throw new Error("the direct call was refused");
    const res = await t.admin.request("POST", "/api/campaigns", {
      name: "Mixed",
      audience: { leadIds: people.map((p) => p.id) },
    });
    const runId = ((await res.json()) as { campaign: { id: number } }).campaign.id;

    const numbers = people.map((p) => p.phone!);
    const phones = new Phones(new Set(numbers), t.businessId);
    const admission = callAdmission(env, t.businessId);
    let directLive = true;
    let refusedDirect = 0;
    let maxBulkWithDirect = 0;
    const deadline = Date.now() + 60_000;
    const settled = settleTracker();
    while ((await campaignOf(db, runId)).status !== "completed") {
      if (Date.now() > deadline) throw new Error("the mixed run did not finish");
      const [snap, live] = await Promise.all([admission.snapshot(), phones.live()]);
      expect(snap.outboundActive).toBeLessThanOrEqual(3);
      if (directLive) maxBulkWithDirect = Math.max(maxBulkWithDirect, snap.bySource.bulk);
      // Let the run fill every free slot before a call ends.
      if (live.length === 0 || (snap.outboundActive < 3 && !settled(snap.outboundActive))) {
        await sleep(20);
        continue;
      }
      await phones.end(live[0]!);
      if (phones.ended.size === 3 && directLive) {
        // The direct call ends; from now on bulk may use all 3 slots.
        const [directCall] = await fakeTwilio.calls((await twilioCallSid(direct.callSid)).to);
        await endCall(directCall!);
        directLive = false;
      }
      if (phones.ended.size === 5) {
        // Another direct call mid-run: placed only if a slot is free, never beyond the cap.
        const again = await placeOutboundCall({
          db,
          env,
          config,
          businessId: t.businessId,
          leadId: null,
          toNumber: uniqueNumber(),
          source: "direct",
        });
        if (again.ok) {
          const [call] = await fakeTwilio.calls((await twilioCallSid(again.callSid)).to);
          expect((await admission.snapshot()).outboundActive).toBeLessThanOrEqual(3);
          await endCall(call!);
        } else {
          refusedDirect++;
          expect(again.refusal).toMatchObject({ cap: "business", limit: 3 });
        }
      }
    }
    expect(maxBulkWithDirect).toBe(2);
    expect(refusedDirect).toBeLessThanOrEqual(1);
    expectOneCallPerNumber(await twilioCallsTo(numbers), numbers);
    expect(await statusCounts(db, runId)).toEqual({ completed: 8 });
  });

  it("two consumers on the queue and every message delivered twice: each lead is dialed exactly once", async () => {
    const t = await campaignTenant(db, { cap: 3 });
    const people = await insertLeads(db, t.businessId, 12);
    const created = await quietRun(
      t,
      people.map((p) => p.id),
    );
    const numbers = people.map((p) => p.phone!);
    const phones = new Phones(new Set(numbers), t.businessId);
    for (let round = 0; round < 40; round++) {
      const waiting = (await jobsOf(db, created.campaign.id)).filter((j) => j.status === "queued");
      if (waiting.length === 0 && (await phones.live()).length === 0) break;
      const targets = waiting.map((j) => ({ jobId: j.id, businessId: t.businessId }));
      // Two consumers at once, each given every message (and each message twice within its batch).
      await Promise.all([deliver(dialBatch([...targets, ...targets])), deliver(dialBatch([...targets, ...targets]))]);
      const live = await phones.live();
      expect(live.length).toBeLessThanOrEqual(3);
      for (const call of live) await phones.end(call);
    }
    expect(phones.maxActive).toBeLessThanOrEqual(3);
    expectOneCallPerNumber(await twilioCallsTo(numbers), numbers);
    const jobs = await until("every job completed", async () => {
      const all = await jobsOf(db, created.campaign.id);
      return all.every((j) => j.status === "completed") ? all : undefined;
    });
    expect(jobs.every((j) => j.attempts === 1)).toBe(true);
    // No job has two calls: one call log with a CallSid per job.
    const logs = await db
      .select({ jobId: callLogs.outboundJobId, n: sql<number>`count(*)::int` })
      .from(callLogs)
      .where(and(eq(callLogs.businessId, t.businessId), isNotNull(callLogs.callSid)))
      .groupBy(callLogs.outboundJobId);
    expect(logs).toHaveLength(12);
    expect(logs.every((l) => l.n === 1)).toBe(true);
    await runCompleted(created.campaign.id);
  });

  it("without PUBLIC_HOST the run fails saying so and nothing is dialed; once set, resuming it dials", async () => {
    const t = await campaignTenant(db, { cap: 3 });
    const people = await insertLeads(db, t.businessId, 4);
    const created = await quietRun(
      t,
      people.map((p) => p.id),
    );
    const result = await deliver(dialBatch(created.jobs), { ...env, PUBLIC_HOST: "" });
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(4);

    const run = await campaignOf(db, created.campaign.id);
    expect(run.status).toBe("failed");
    expect(run.lastError).toContain("PUBLIC_HOST");
    const numbers = people.map((p) => p.phone!);
    expect(await twilioCallsTo(numbers)).toEqual([]);
    expect(await db.select().from(callLogs).where(eq(callLogs.businessId, t.businessId))).toEqual([]);
    expect((await callAdmission(env, t.businessId).snapshot()).leases).toEqual([]);
    expect((await jobsOf(db, created.campaign.id)).map((j) => [j.status, j.attempts])).toEqual(
      people.map(() => ["queued", 0]),
    );

    // The API refuses to start (or resume) a run that could not dial, naming the variable.
    const refused = await callWithSettings({ PUBLIC_HOST: "" }, "/api/campaigns", {
      method: "POST",
      headers: { Cookie: t.admin.cookie, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "No host", audience: { leadIds: [people[0]!.id] } }),
    });
    expect(refused.status).toBe(503);
    expect(await errorOf(refused)).toMatchObject({ details: { variables: ["PUBLIC_HOST"] } });

    // PUBLIC_HOST is set (the real env): resume, and every job is dialed once.
    const resumed = await t.admin.request("POST", `/api/campaigns/${created.campaign.id}/resume`);
    expect(resumed.status).toBe(200);
    expect(
      ((await resumed.json()) as { campaign: { status: string; lastError: string | null } }).campaign,
    ).toMatchObject({
      lastError: null,
    });
    await driveRun(created.campaign.id, new Phones(new Set(numbers), t.businessId), 3);
    expectOneCallPerNumber(await twilioCallsTo(numbers), numbers);
  });
});

/** The call the fake Twilio recorded under this CallSid. */
async function twilioCallSid(sid: string) {
  return until(`Twilio call ${sid}`, async () => {
    const res = await fetch(`${TWILIO_BASE}/__control/calls`);
    return ((await res.json()) as { sid: string; to: string }[]).find((c) => c.sid === sid);
  });
}

describe("pause, resume, cancel", () => {
  it("pause: no new dials while calls in progress finish; resume: dialing again; cancel: waiting jobs cancelled", async () => {
    const t = await campaignTenant(db, { cap: 3 });
    const people = await insertLeads(db, t.businessId, 8);
    const res = await t.admin.request("POST", "/api/campaigns", {
      name: "Pausable",
      audience: { leadIds: people.map((p) => p.id) },
    });
    const runId = ((await res.json()) as { campaign: { id: number } }).campaign.id;
    const numbers = people.map((p) => p.phone!);
    const phones = new Phones(new Set(numbers), t.businessId);
    const liveCount = (n: number) =>
      until(`${n} live calls`, async () => ((await phones.live()).length === n ? true : undefined));

    await liveCount(3);
    const paused = await t.admin.request("POST", `/api/campaigns/${runId}/pause`);
    expect(paused.status).toBe(200);
    expect(((await paused.json()) as { campaign: { status: string } }).campaign.status).toBe("paused");
    for (const call of await phones.live()) await phones.end(call);
    await sleep(1500);
    expect(await twilioCallsTo(numbers)).toHaveLength(3); // nothing new while paused
    const view = (await (await t.agent.request("GET", `/api/campaigns/${runId}`)).json()) as {
      campaign: { status: string; activeCalls: number; jobs: Record<string, number>; estimatedFinishAt: string | null };
    };
    expect(view.campaign).toMatchObject({ status: "paused", activeCalls: 0, estimatedFinishAt: null });
    expect(view.campaign.jobs).toMatchObject({ completed: 3, queued: 5 });

    expect((await t.admin.request("POST", `/api/campaigns/${runId}/resume`)).status).toBe(200);
    await liveCount(3);
    expect(await twilioCallsTo(numbers)).toHaveLength(6);

    const cancelled = await t.admin.request("POST", `/api/campaigns/${runId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ campaign: { status: "cancelled" }, cancelledJobs: 2 });
    for (const call of await phones.live()) await phones.end(call);
    await sleep(1500);
    expect(await twilioCallsTo(numbers)).toHaveLength(6); // nothing dialed after the cancel
    expect(await statusCounts(db, runId)).toEqual({ completed: 6, cancelled: 2 });
    expect((await campaignOf(db, runId)).status).toBe("cancelled");

    const again = await t.admin.request("POST", `/api/campaigns/${runId}/pause`);
    expect(again.status).toBe(409);
    expect(await errorOf(again)).toMatchObject({ code: "conflict", details: { status: "cancelled" } });
  });
});

describe("failures", () => {
  it("a Twilio 5xx releases the slot and retries the message with backoff; the next delivery dials once", async () => {
    const t = await campaignTenant(db, { cap: 1 });
    const [person] = await insertLeads(db, t.businessId, 1);
    const created = await quietRun(t, [person!.id]);
    await fakeTwilio.failCreate(person!.phone!, {
      httpStatus: 503,
      code: 20503,
      message: "Service Unavailable",
      times: 1,
    });
    const first = await deliver(dialBatch(created.jobs));
    // Retried (with the queue's backoff), not acked: a real failure spends the message's retries.
    expect(first.retryMessages).toHaveLength(1);
    expect(first.explicitAcks).toEqual([]);
    const [job] = await jobsOf(db, created.campaign.id);
    expect(job).toMatchObject({ status: "queued", attempts: 0, lockToken: null, callSid: null });
    expect(job!.lastError).toContain("503");
    expect((await callAdmission(env, t.businessId).snapshot()).leases).toEqual([]);

    const second = await deliver(dialBatch(created.jobs, 2));
    expect(second.retryMessages).toEqual([]);
    const calls = await twilioCallsTo([person!.phone!]);
    expect(calls).toHaveLength(1);
    // On a call once the business's object has written its CallSid (with the call's progress).
    const dialed = await jobInCall(created.campaign.id);
    expect(dialed).toMatchObject({ status: "in_call", attempts: 1, callSid: calls[0]!.sid, lastError: null });
    await endCall(calls[0]!);
    expect((await jobsOf(db, created.campaign.id))[0]!.status).toBe("completed");
    await runCompleted(created.campaign.id);
  });

  it("Twilio refusing a number for good (4xx) fails that job with the reason, frees the slot, and the run goes on", async () => {
    const t = await campaignTenant(db, { cap: 1 });
    const people = await insertLeads(db, t.businessId, 2);
    await fakeTwilio.failCreate(people[0]!.phone!, { httpStatus: 400, code: 21215, message: "Geo permission" });
    const created = await quietRun(
      t,
      people.map((p) => p.id),
    );
    const result = await deliver(dialBatch(created.jobs));
    expect(result.retryMessages).toEqual([]);
    // Side by side in one batch, either job may take the slot first; the other waits for it (as a
    // standby, then back in the queue). The refused number's job fails with the reason, and the
    // other lead is called.
    const [call] = await until("the other lead's call at Twilio", async () => {
      const calls = await twilioCallsTo([people[1]!.phone!]);
      return calls.length > 0 ? calls : undefined;
    });
    await endCall(call!);
    const refused = await until("the refused number's job failed", async () => {
      const jobs = await jobsOf(db, created.campaign.id);
      return jobs.find((j) => j.leadId === people[0]!.id && j.status === "failed");
    });
    expect(refused.lastError).toContain("21215");
    await until("both jobs done", async () => {
      const counts = await statusCounts(db, created.campaign.id);
      return counts.failed === 1 && counts.completed === 1 ? counts : undefined;
    });
    await runCompleted(created.campaign.id);
  });

  it("a malformed dial job goes to the dead-letter queue with the reason", async () => {
    const marker = crypto.randomUUID();
    await env.QUEUE_HIGH.send({ type: "outbound_call.dial", jobId: "not-a-number", businessId: 1, marker });
    const row = await until("the dead letter", async () => {
      const rows = await db.select().from(deadLetters).where(sql`${deadLetters.body}->>'marker' = ${marker}`);
      return rows[0];
    });
    expect(row).toMatchObject({ queue: "prosaas-high", jobType: "outbound_call.dial" });
    expect(row.reason).toContain("jobId");
  });

  it("a dial job out of retries (dead-lettered) fails its job with the reason, and the run finishes", async () => {
    const t = await campaignTenant(db);
    const [person] = await insertLeads(db, t.businessId, 1);
    const created = await quietRun(t, [person!.id]);
    const batch = createMessageBatch("prosaas-high-dlq", [
      {
        id: `exhausted-${created.campaign.id}`,
        timestamp: new Date(),
        attempts: 1,
        body: { type: "outbound_call.dial", jobId: created.jobs[0]!.jobId, businessId: t.businessId },
      },
    ]);
    await deliver(batch);
    const [job] = await jobsOf(db, created.campaign.id);
    expect(job).toMatchObject({ status: "failed", lastError: "retries exhausted on prosaas-high" });
    expect((await campaignOf(db, created.campaign.id)).status).toBe("completed");
    const [recorded] = await db
      .select()
      .from(deadLetters)
      .where(eq(deadLetters.messageId, `exhausted-${created.campaign.id}`));
    expect(recorded).toMatchObject({ queue: "prosaas-high", jobType: "outbound_call.dial" });
  });
});

describe("retry policy and schedule", () => {
  it("no-answer is dialed again after the run's spacing, busy on the last attempt is final", async () => {
    const t = await campaignTenant(db);
    const [person] = await insertLeads(db, t.businessId, 1);
    const created = await quietRun(t, [person!.id], { maxAttempts: 2, retryDelaySeconds: 120 });
    await deliver(dialBatch(created.jobs));
    const [first] = await twilioCallsTo([person!.phone!]);
    await endCall(first!, "no-answer");

    const [waiting] = await jobsOf(db, created.campaign.id);
    expect(waiting).toMatchObject({
      status: "queued",
      attempts: 1,
      outcome: "no-answer",
      callSid: null,
      lockToken: null,
    });
    const spacing = waiting!.nextAttemptAt!.getTime() - Date.now();
    expect(spacing).toBeGreaterThan(100_000);
    expect(spacing).toBeLessThanOrEqual(120_000);

    // Delivered early (a duplicate message): not dialed, put back for later.
    const early = await deliver(dialBatch(created.jobs));
    expect(early.retryMessages).toEqual([]);
    expect(await twilioCallsTo([person!.phone!])).toHaveLength(1);

    // Its time has come.
    await db
      .update(outboundCallJobs)
      .set({ nextAttemptAt: new Date(Date.now() - 1000) })
      .where(eq(outboundCallJobs.id, waiting!.id));
    await deliver(dialBatch(created.jobs));
    const calls = await twilioCallsTo([person!.phone!]);
    expect(calls).toHaveLength(2);
    await endCall(calls.find((c) => c.sid !== first!.sid)!, "busy");
    const [final] = await jobsOf(db, created.campaign.id);
    expect(final).toMatchObject({ status: "busy", attempts: 2, outcome: "busy" });
    await runCompleted(created.campaign.id);
  });

  it("a run whose window has closed cancels its waiting jobs and finishes; nothing is dialed", async () => {
    const t = await campaignTenant(db);
    const people = await insertLeads(db, t.businessId, 3);
    const created = await quietRun(
      t,
      people.map((p) => p.id),
      { schedule: { end: new Date(Date.now() + 3600_000).toISOString() } },
    );
    await db
      .update(outboundCallRuns)
      .set({ windowEnd: new Date(Date.now() - 1000) })
      .where(eq(outboundCallRuns.id, created.campaign.id));
    await deliver(dialBatch(created.jobs.slice(0, 1)));
    expect(await statusCounts(db, created.campaign.id)).toEqual({ cancelled: 3 });
    expect((await campaignOf(db, created.campaign.id)).status).toBe("completed");
    expect(await twilioCallsTo(people.map((p) => p.phone!))).toEqual([]);
  });
});
