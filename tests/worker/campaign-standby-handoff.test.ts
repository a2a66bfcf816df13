/**
 * Issue 16 #4 — a campaign dial waiting as a standby for a slot (durable-objects/business/dial-turns.ts)
 * is woken by a call's end and takes that call's log writes along: it dials the next lead, then
 * writes the ended call's log on the database connection it already holds (no connection opened by
 * the status callback), and acknowledges them to the business's object.
 */
import { createExecutionContext, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { callAdmission } from "../../worker/calls/admission";
import { createCampaign, createCampaignSchema } from "../../worker/campaigns/runs";
import { callLogs } from "../../worker/db/schema";
import { handleQueueBatch } from "../../worker/queues/consumer";
import { randomCallSid } from "./calls-fixtures";
import {
  campaignOf,
  campaignTenant,
  dialBatch,
  endCall,
  insertLeads,
  jobsOf,
  twilioCallsTo,
  until,
} from "./campaigns-fixtures";
import { testDb } from "./helpers";

const { db, close } = testDb();
afterAll(close);

describe("a standby woken by a call's end", () => {
  it("carries the ended call's log writes", async () => {
    const t = await campaignTenant(db, { cap: 1 });
    const admission = callAdmission(env, t.businessId);
    const reserved = await admission.reserve({ kind: "outbound", source: "bulk", businessCap: 1 });
    if (!reserved.ok) throw new Error("no slot for the first call");
    const callSid = randomCallSid();
    await admission.confirm(reserved.lease.leaseId, callSid);

    // Every slot taken: the next dial waits here as a standby…
    const waiting = admission.dialTurn({ jobId: 987_654, sentAtMs: Date.now(), cap: 1, maxWaitMs: 10_000 });
    await until("the dial waiting as a standby", async () => ((await waitingStandbys()) > 0 ? true : undefined));
    // …and the call's end wakes it: the standby takes the call's log writes along.
    const slot = await admission.recordCallStatus(reserved.lease.leaseId, {
      callSid,
      status: "completed",
      sequenceNumber: 3,
      durationSeconds: 7,
      at: new Date().toISOString(),
      callLogId: null,
      reason: null,
    });
    expect(slot.released).toBe(true);
    const turn = await waiting;
    expect(turn.go).toBe(true);
    expect(turn.handOff?.writes).toEqual([expect.objectContaining({ callSid, status: "completed" })]);

    // Acknowledged: nothing of it is handed out again.
    await admission.ackCallLogWrites(turn.handOff!.ids);
    if (turn.go) await admission.release(turn.lease.leaseId);

    async function waitingStandbys(): Promise<number> {
      // A second ask without waiting says whether a standby's place is still free (cap 1: one place).
      const probe = await admission.dialTurn({ jobId: 987_655, sentAtMs: Date.now(), cap: 1, maxWaitMs: 0 });
      return !probe.go && probe.canWait === false ? 1 : 0;
    }
  });

  it("dials the next lead and writes the ended call's log: completed, its job completed, each lead called once", async () => {
    const t = await campaignTenant(db, { cap: 1 });
    const people = await insertLeads(db, t.businessId, 2);
    const run = await createCampaign(db, {
      businessId: t.businessId,
      userId: t.admin.userId,
      body: createCampaignSchema.parse({ name: "Standby", audience: { leadIds: people.map((p) => p.id) } }),
    });
    const numbers = people.map((p) => p.phone!);
    const batch = dialBatch(run.jobs);
    // Both dials side by side on the consumer: one takes the slot, the other waits as a standby.
    const dialing = handleQueueBatch(batch, env);
    const [first] = await until("the first lead's call at Twilio", async () => {
      const calls = await twilioCallsTo(numbers);
      return calls.length > 0 ? calls : undefined;
    });
    // Its end (a signed status callback) wakes the standby: the second lead is dialed, and the
    // first call's log reaches Postgres (endCall waits for it).
    await endCall(first!);
    await dialing;
    expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toHaveLength(2);

    const calls = await twilioCallsTo(numbers);
    expect(calls.map((c) => c.to).sort()).toEqual([...numbers].sort());
    const [firstLog] = await db.select().from(callLogs).where(eq(callLogs.callSid, first!.sid));
    expect(firstLog).toMatchObject({ status: "completed", durationSeconds: 7 });
    const jobs = await jobsOf(db, run.campaign.id);
    const firstJob = jobs.find((j) => j.phoneE164 === first!.to)!;
    expect(firstJob).toMatchObject({ status: "completed", outcome: "completed" });
    const second = calls.find((c) => c.sid !== first!.sid)!;
    expect(jobs.find((j) => j.phoneE164 === second.to)!.status).not.toBe("queued");

    // The second call's end completes the run; nothing is dialed twice.
    await endCall(second);
    await until("the run completed", async () =>
      (await campaignOf(db, run.campaign.id)).status === "completed" ? true : undefined,
    );
    expect((await twilioCallsTo(numbers)).length).toBe(2);
    const logs = await db.execute<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM call_logs WHERE outbound_job_id IN (SELECT id FROM outbound_call_jobs WHERE run_id = ${run.campaign.id})`,
    );
    expect(Number(logs.rows[0]!.n)).toBe(2);
  });
});
