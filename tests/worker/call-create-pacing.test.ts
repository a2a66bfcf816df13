/**
 * Issue 16 #4 — Twilio limits call creation per account (TWILIO_CALLS_PER_SECOND, 1 by default).
 * Dials never exceed it, and a direct call from an agent goes before bulk dials: CallCapacityDO's
 * pacer (durable-objects/call-capacity/create-pacer.ts) hands out creation times — to
 * placeOutboundCall and to the campaign's dial consumer alike.
 */

import { createExecutionContext, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it, vi } from "vitest";
import { CreatePacer } from "../../durable-objects/call-capacity/create-pacer";
import { callAdmission } from "../../worker/calls/admission";
import { placeOutboundCall } from "../../worker/calls/place-outbound-call";
import { createCampaign, createCampaignSchema } from "../../worker/campaigns/runs";
import { parseConfig } from "../../worker/config";
import { handleQueueBatch } from "../../worker/queues/consumer";
import { createCallBusiness, fakeTwilio, uniqueNumber } from "./calls-fixtures";
import { campaignTenant, dialBatch, endCall, insertLeads, jobsOf, twilioCallsTo } from "./campaigns-fixtures";
import { testDb } from "./helpers";

function expectOneCallEach(calls: { to: string }[]) {
  expect(new Set(calls.map((c) => c.to)).size).toBe(calls.length);
}

const { db, close } = testDb();
afterAll(close);

describe("Twilio calls-per-second pacing", () => {
  it("the pacer keeps at most CPS creations in any window; bulk never books ahead of a direct call", () => {
    const pacer = new CreatePacer();
    const t0 = 1_000_000;
    // 2 per second: two times in any 1000 ms window, back to back if they come together.
    expect(pacer.take("bulk", 2, t0)).toEqual({ ok: true, at: t0, waitMs: 0 });
    expect(pacer.take("bulk", 2, t0)).toEqual({ ok: true, at: t0, waitMs: 0 });
    // The window is full until t0 + 1000, more than one interval (500 ms) out: bulk is told to come
    // back, and books nothing.
    expect(pacer.take("bulk", 2, t0 + 1)).toEqual({ ok: false, retryAfterMs: 499 });
    // A direct call books the earliest time the window allows, however far.
    expect(pacer.take("direct", 2, t0 + 1)).toEqual({ ok: true, at: t0 + 1000, waitMs: 999 });
    expect(pacer.take("bulk", 2, t0 + 2)).toMatchObject({ ok: false });
    // At t0 + 1000 the first two are out of the window; the direct call holds one of its two places.
    expect(pacer.take("bulk", 2, t0 + 1000)).toEqual({ ok: true, at: t0 + 1000, waitMs: 0 });
    expect(pacer.take("bulk", 2, t0 + 1000)).toMatchObject({ ok: false });

    // 1 per second (Twilio's default): one interval apart, as Twilio counts them.
    const single = new CreatePacer();
    expect(single.take("bulk", 1, t0)).toEqual({ ok: true, at: t0, waitMs: 0 });
    expect(single.take("bulk", 1, t0 + 600)).toEqual({ ok: true, at: t0 + 1000, waitMs: 400 });
    // A time missed (the dial was late for it) is taken back: the late dial's new time is now, as
    // long as it stays a window after the time before it.
    expect(single.take("bulk", 1, t0 + 1050, t0 + 1000)).toEqual({ ok: true, at: t0 + 1050, waitMs: 0 });
    expect(single.take("bulk", 1, t0 + 1100)).toEqual({ ok: true, at: t0 + 2050, waitMs: 950 });
  });

  it("bulk dials hammering the account never exceed its calls per second, and a direct call placed meanwhile is not starved", async () => {
    const config = parseConfig({ ...env, TWILIO_CALLS_PER_SECOND: "2" });
    const business = await createCallBusiness(db, { outboundCallCap: 40 });
    const to = uniqueNumber();
    const place = (source: "direct" | "bulk") =>
      placeOutboundCall({ db, env, config, businessId: business.id, leadId: null, toNumber: to, source });

    let rateRefusals = 0;
    let bulkPlaced = 0;
    const until = Date.now() + 3_000;
    // Four campaign consumers dialing as fast as they are let, retrying when told to.
    const bulk = Array.from({ length: 4 }, async () => {
      while (Date.now() < until) {
        const r = await place("bulk");
        if (r.ok) bulkPlaced++;
        else {
          expect(r.refusal.cap).toBe("rate");
          rateRefusals++;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    });
    // An agent's call, a second into the storm.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const started = Date.now();
    const direct = await place("direct");
    const directMs = Date.now() - started;
    await Promise.all(bulk);

    expect(direct.ok).toBe(true);
    // At most one window (the bulk dials already given times in it) and an interval, plus the work.
    expect(directMs).toBeLessThan(1_000 + 500);
    expect(rateRefusals).toBeGreaterThan(0);
    expect(bulkPlaced).toBeGreaterThanOrEqual(3);

    // Twilio's view: creations per wall-clock second never above 2.
    const calls = await fakeTwilio.calls(to);
    expect(calls.length).toBe(bulkPlaced + 1);
    const perSecond = new Map<string, number>();
    for (const c of calls) perSecond.set(c.createdAt, (perSecond.get(c.createdAt) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2);

    const admission = callAdmission(env, business.id);
    await Promise.all(calls.map((c) => admission.release(c.sid)));
  });
});

describe("a campaign's dial consumer under the calls per second", () => {
  it("dials never exceed TWILIO_CALLS_PER_SECOND, and an agent's direct call placed mid-run goes first", async () => {
    const cps = { ...env, TWILIO_CALLS_PER_SECOND: "2" };
    const config = parseConfig(cps);
    const t = await campaignTenant(db, { cap: 10 });
    const people = await insertLeads(db, t.businessId, 6);
    const run = await createCampaign(db, {
      businessId: t.businessId,
      userId: t.admin.userId,
      body: createCampaignSchema.parse({ name: "Paced", audience: { leadIds: people.map((p) => p.id) } }),
    });
    const batch = dialBatch(run.jobs);
    // Six dials at once on the consumer (side by side), two creations a second between them…
    const dialing = handleQueueBatch(batch, cps as typeof env);
    // …and an agent's call once the run is under way (its first dial at Twilio): it books the next
    // free time, ahead of the waiting dials.
    const numbers = people.map((p) => p.phone!);
    await vi.waitFor(async () => expect((await twilioCallsTo(numbers)).length).toBeGreaterThan(0), {
      timeout: 20_000,
      interval: 50,
    });
    const directTo = uniqueNumber();
    const dialedBefore = (await twilioCallsTo(numbers)).length;
    const direct = await placeOutboundCall({
      db,
      env,
      config,
      businessId: t.businessId,
      leadId: null,
      toNumber: directTo,
      source: "direct",
    });
    await dialing;
    expect(direct.ok).toBe(true);
    expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toHaveLength(6);

    // Creation order at Twilio: at most the one dial already given a time went between the agent
    // placing the call and its creation; dials still waiting then went after it.
    const all = await twilioCallsTo([...numbers, directTo]);
    const directIndex = all.findIndex((c) => c.to === directTo);
    expect(dialedBefore).toBeLessThan(6);
    expect(directIndex).toBeLessThanOrEqual(dialedBefore + 1);
    expect(all.length - 1 - directIndex).toBeGreaterThan(0);
    const dialed = all.filter((c) => c.to !== directTo);
    // Every dial that got no time within its patience went back to the queue: none was lost.
    const jobs = await jobsOf(db, run.campaign.id);
    expect(jobs.filter((j) => j.status === "queued").length + dialed.length).toBe(6);
    expectOneCallEach(dialed);
    // Twilio's view, per wall-clock second: never more than 2 creations (dials and the direct call).
    const perSecond = new Map<string, number>();
    for (const c of all) perSecond.set(c.createdAt, (perSecond.get(c.createdAt) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2);

    for (const c of dialed) await endCall(c);
    if (direct.ok) await callAdmission(env, t.businessId).release(direct.callSid);
    await db.execute(sql`UPDATE outbound_call_runs SET status = 'cancelled' WHERE id = ${run.campaign.id}`);
  });
});
