/**
 * Fixtures for the campaign tests: a tenant whose business can place calls (Twilio number, call
 * cap), leads with phone numbers no other test dials, and the "phone side" of a call — the calls
 * the fake Twilio received, answered by signed status callbacks exactly as Twilio sends them.
 */
import { createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, expect } from "vitest";
import type { FakeTwilioCall } from "../../scripts/twilio-simulator/server";
import { callAdmission } from "../../worker/calls/admission";
import { isTerminalStatus } from "../../worker/calls/call-status";
import type { Database, DbHandle } from "../../worker/db/client";
import {
  businesses,
  businessSettings,
  callLogs,
  leads,
  outboundCallJobs,
  outboundCallRuns,
} from "../../worker/db/schema";
import { postTwilio, TWILIO_BASE, uniqueNumber } from "./calls-fixtures";
import { createTenant, type Tenant } from "./fixtures";
import { testDb } from "./helpers";

/** The fixtures' own connection (for waiting on what the business's object writes), opened on first use. */
let ownDb: DbHandle | null = null;
afterAll(() => ownDb?.close());

export interface CampaignTenant extends Tenant {
  twilioNumber: string;
}

/** A tenant (owner, admin, agent signed in) whose business has a Twilio number and this call cap. */
export async function campaignTenant(
  db: Database,
  opts: { cap?: number; name?: string } = {},
): Promise<CampaignTenant> {
  const tenant = await createTenant(db, opts.name ?? "Campaign business");
  const twilioNumber = uniqueNumber();
  await db.update(businesses).set({ twilioNumber }).where(eq(businesses.id, tenant.businessId));
  await db
    .update(businessSettings)
    .set({ outboundCallCap: opts.cap ?? 3 })
    .where(eq(businessSettings.businessId, tenant.businessId));
  return { ...tenant, twilioNumber };
}

/** `count` leads with fresh phone numbers (and `withoutPhone` more without one); returns them by id. */
export async function insertLeads(
  db: Database,
  businessId: number,
  count: number,
  opts: { withoutPhone?: number; status?: string } = {},
): Promise<{ id: number; phone: string | null }[]> {
  const rows = [
    ...Array.from({ length: count }, (_, i) => ({ businessId, firstName: `Lead ${i}`, phoneE164: uniqueNumber() })),
    ...Array.from({ length: opts.withoutPhone ?? 0 }, (_, i) => ({ businessId, firstName: `No phone ${i}` })),
  ].map((r) => ({ ...r, status: opts.status ?? "new" }));
  const inserted = await db.insert(leads).values(rows).returning({ id: leads.id, phone: leads.phoneE164 });
  return inserted.sort((a, b) => a.id - b.id);
}

export async function jobsOf(db: Database, runId: number) {
  return db.select().from(outboundCallJobs).where(eq(outboundCallJobs.runId, runId)).orderBy(outboundCallJobs.id);
}

export async function campaignOf(db: Database, runId: number) {
  const [run] = await db.select().from(outboundCallRuns).where(eq(outboundCallRuns.id, runId));
  return run!;
}

/** Every call the fake Twilio received to these numbers. */
export async function twilioCallsTo(numbers: Iterable<string>): Promise<FakeTwilioCall[]> {
  const wanted = new Set(numbers);
  const res = await fetch(`${TWILIO_BASE}/__control/calls`);
  return ((await res.json()) as FakeTwilioCall[]).filter((c) => wanted.has(c.to));
}

const sequence = new Map<string, number>();

/**
 * Ends a call the way Twilio does: a signed status callback to the URL the call was created with
 * (it carries the call log id), with a SequenceNumber higher than any before it. The business's
 * object writes the end to Postgres just after answering (issue 16 #2): this waits until the call's
 * log shows it (its job's end commits with it; what follows — the next dial, the run's completion —
 * comes a moment later).
 */
export async function endCall(call: FakeTwilioCall, status = "completed"): Promise<void> {
  const url = new URL(String(call.params.StatusCallback));
  const seq = (sequence.get(call.sid) ?? 0) + 1;
  sequence.set(call.sid, seq);
  const res = await postTwilio(`${url.pathname}${url.search}`, {
    CallSid: call.sid,
    CallStatus: status,
    SequenceNumber: String(seq),
    CallDuration: status === "completed" ? "7" : "0",
  });
  expect(res.status).toBe(204);
  ownDb ??= testDb();
  const db = ownDb.db;
  await until(`the end of call ${call.sid} in its log`, async () => {
    const [row] = await db.select({ status: callLogs.status }).from(callLogs).where(eq(callLogs.callSid, call.sid));
    return row && isTerminalStatus(row.status) ? true : undefined;
  });
}

/** The "phone side" of a test: which calls are live, the most seen at once, and ending them. */
export class Phones {
  readonly ended = new Set<string>();
  maxLive = 0;
  maxActive = 0;
  constructor(
    private readonly numbers: Set<string>,
    private readonly businessId: number,
  ) {}

  /** Calls created at Twilio and not ended yet; also samples the BusinessDO's active count. */
  async live(): Promise<FakeTwilioCall[]> {
    const [calls, slots] = await Promise.all([
      twilioCallsTo(this.numbers),
      callAdmission(env, this.businessId).snapshot(),
    ]);
    const live = calls.filter((c) => !this.ended.has(c.sid));
    this.maxLive = Math.max(this.maxLive, live.length);
    this.maxActive = Math.max(this.maxActive, slots.outboundActive);
    return live;
  }

  async end(call: FakeTwilioCall, status = "completed"): Promise<void> {
    await endCall(call, status);
    this.ended.add(call.sid);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value (not undefined) or the deadline passes. Bounded. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Job statuses of a run, counted. */
export async function statusCounts(db: Database, runId: number): Promise<Record<string, number>> {
  const rows = await db
    .select({ status: outboundCallJobs.status, n: sql<number>`count(*)::int` })
    .from(outboundCallJobs)
    .where(eq(outboundCallJobs.runId, runId))
    .groupBy(outboundCallJobs.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export async function leadsByIds(db: Database, ids: number[]) {
  return db.select().from(leads).where(inArray(leads.id, ids));
}

let dialMessageSeq = 0;
/** Campaign dial jobs as one batch of the high queue, as the consumer receives them. */
export function dialBatch(jobs: { jobId: number; businessId: number }[], attempts = 1) {
  return createMessageBatch(
    "prosaas-high",
    jobs.map((j) => ({
      id: `dial-${++dialMessageSeq}`,
      timestamp: new Date(),
      attempts,
      body: { type: "outbound_call.dial", jobId: j.jobId, businessId: j.businessId },
    })),
  );
}
