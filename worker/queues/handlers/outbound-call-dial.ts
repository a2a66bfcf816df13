/**
 * Dials one bulk-campaign job (`outbound_call.dial` on the high queue). Issue 16 #4 cut it to one
 * Postgres statement before Twilio (the status callbacks and the CallSid are written later, batched,
 * by the business's object), and keeps the business's slots busy:
 *
 *   1. PUBLIC_HOST and Twilio settings present — else the run fails with the reason, nothing is
 *      dialed (the same check placeOutboundCall makes, done before anything is claimed).
 *   2. The job's turn, from the BusinessDO (durable-objects/business/dial-turns.ts): a message sent
 *      before the job's last dial is a duplicate (acked, no database); with a slot free, the slot is
 *      reserved at once; with every slot taken, the message waits there as a standby (up to
 *      STANDBY_WAIT_MS, its database connection opening meanwhile) and takes the slot of the next
 *      call that ends — or waits in the queue.
 *   3. ONE statement (worker/campaigns/jobs.ts claimJobForDial), while step 4 asks: claim the job (atomic UPDATE …
 *      WHERE status='queued' AND lock_token IS NULL AND call_sid IS NULL), read the business's
 *      caller ID and greeting, and write the call log. Not claimed → the slot is given back
 *      (someone else has it, the run is paused/cancelled, or it is not due yet: then it is queued
 *      again for when it is).
 *   4. A Twilio creation time within the account's calls per second (TWILIO_CALLS_PER_SECOND less
 *      5%, as a sliding window; a direct call from an agent goes first), asked again for
 *      CREATE_TURN_PATIENCE_MS; then the job, its log and its slot are given back (one statement)
 *      and the message waits. A dial late for its time (the claim was slow) by more than
 *      CREATE_TURN_LATENESS_MS hands it back and takes a new one.
 *   5. Twilio's create (worker/calls/place-outbound-call.ts createReservedCall); accepted → the
 *      BusinessDO confirms the lease and keeps the CallSid (and the job's `in_call`) for Postgres,
 *      written with the call's progress. Twilio error → the slot is released; a retryable one (5xx,
 *      429) unlocks the job and retries the message with backoff, a permanent one fails the job. No
 *      answer at all (the call may exist) → the job stays dialing and its slot held until the call
 *      is found or ruled out; it is never dialed again.
 *
 * Waiting for a slot never spends the message's retries (10 on the high queue): it is a fresh,
 * delayed message (slotWaits + 1, exponential with jitter, capped) and this one is acked.
 */
import {
  CREATE_TURN_LATENESS_MS,
  callAdmission,
  type DialTurn,
  type HandOff,
  pacedCreatesPerSecond,
  takeCreateTurn,
} from "../../calls/admission";
import { createReservedCall, OutboundCallError } from "../../calls/place-outbound-call";
import { recordCallLogWrites } from "../../calls/status-callback";
import { twilioClient } from "../../calls/twilio-client";
import { hangup, twimlResponse } from "../../calls/twiml";
import { sayGreeting, voiceLanguage } from "../../calls/voice-prompts";
import { nextOpening } from "../../campaigns/business-hours";
import { type DialTarget, enqueueDialLater, kickNextJobs } from "../../campaigns/enqueue";
import {
  abandonDial,
  type ClaimResult,
  claimJobForDial,
  closeRunWindow,
  failClaimedJob,
  failDeadLetteredJob,
  failRunOfJob,
  finishRunIfDone,
  insertBulkCallLog,
  releaseAfterError,
  unlockJob,
} from "../../campaigns/jobs";
import { CREATE_TURN_PATIENCE_MS, delayUntil, STANDBY_WAIT_MS, slotWaitDelaySeconds } from "../../campaigns/policy";
import { sweepCampaigns } from "../../campaigns/sweep";
import { type Config, ConfigError, requirePublicHost } from "../../config";
import { type Database, warmConnection } from "../../db/client";
import type { Env } from "../../env";
import { log } from "../../lib/log";
import { campaignMetrics } from "../../metrics/campaigns";
import { isE164 } from "../../services/phones";
import { type BusinessSettingsView, effectiveCallCap, getBusinessSettings } from "../../services/settings";
import type { JobContext, JobHandler } from "../handler";
import type { Job } from "../jobs";

/** Why this configuration cannot dial at all, or null. */
function configProblem(config: Config): string | null {
  try {
    requirePublicHost(config);
    twilioClient(config);
    return null;
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
}

async function failRun(db: Database, jobId: number, reason: string): Promise<undefined> {
  const runId = await failRunOfJob(db, jobId, reason);
  if (runId !== null) log.error("campaign run failed: it cannot dial", { runId, jobId, reason });
  return undefined;
}

async function waitForSlot(env: Env, target: DialTarget, slotWaits: number, why: string): Promise<undefined> {
  const delay = slotWaitDelaySeconds(slotWaits);
  await enqueueDialLater(env, target, delay, slotWaits + 1);
  campaignMetrics.slotWaits.inc();
  log.info("campaign job waits for a call slot", { ...target, delaySeconds: delay, slotWaits: slotWaits + 1, why });
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * A creation time within the account's calls per second, asked again for a while (step 4): when to
 * create (local epoch ms, from when the answer came), or when to come back.
 */
async function createTurn(
  env: Env,
  config: Config,
  missed?: number,
): Promise<{ createAt: number; at: number } | { retryAfterMs: number }> {
  const until = Date.now() + CREATE_TURN_PATIENCE_MS;
  for (;;) {
    const pace = await takeCreateTurn(env, pacedCreatesPerSecond(config), "bulk", missed);
    if (pace.ok) return { createAt: Date.now() + pace.waitMs, at: pace.at };
    if (Date.now() + pace.retryAfterMs > until) return { retryAfterMs: pace.retryAfterMs };
    await sleep(pace.retryAfterMs);
  }
}

/** A claim that did not take the job: why, and what follows (nothing dials). */
async function notClaimed(db: Database, env: Env, target: DialTarget, claim: ClaimResult): Promise<undefined> {
  const { job: row, run, now } = claim;
  if (!row || !run || row.businessId !== target.businessId) return undefined;
  // Dialed, dialing, finished or cancelled; or its run is paused/failed (resume queues it again).
  if (row.status !== "queued" || row.lockToken || row.callSid) return undefined;
  if (run.status !== "queued" && run.status !== "running") return undefined;
  if (run.windowEnd && run.windowEnd <= now) {
    await closeRunWindow(db, run.id);
    return undefined;
  }
  const due = [row.nextAttemptAt, run.windowStart].reduce<Date | null>(
    (latest, d) => (d && (!latest || d > latest) ? d : latest),
    null,
  );
  if (due && due > now) await enqueueDialLater(env, target, delayUntil(due, now));
  // Otherwise another consumer claimed it a moment ago.
  return undefined;
}

export const outboundCallDial: JobHandler<"outbound_call.dial"> = async (job, ctx) => {
  const { db: getDb, env, config, sentAt } = ctx;
  const problem = configProblem(config);
  if (problem) return failRun(getDb(), job.jobId, problem);

  const admission = callAdmission(env, job.businessId);
  const settings = await getBusinessSettings(env, job.businessId);
  const cap = effectiveCallCap(settings, config);
  const ask = { jobId: job.jobId, sentAtMs: sentAt.getTime(), cap };
  let turn = await admission.dialTurn({ ...ask, maxWaitMs: 0 });
  if (!turn.go && turn.why === "busy" && turn.canWait) {
    // A standby: its database connection opens while it waits, so that once a call ends the dial
    // is one round trip to Postgres, not a connection and a round trip.
    const warm = warmConnection(getDb());
    turn = await admission.dialTurn({ ...ask, maxWaitMs: STANDBY_WAIT_MS });
    await warm;
  }
  const { handOff } = turn;
  const dial = { settings, cap, turn };
  try {
    return await dialWithTurn(job, ctx, dial);
  } finally {
    // Woken by a call's end: that call's log writes came along. Applied on this dial's connection
    // once its own work (the create) is done: the end of a call is written a dial later, without a
    // connection of its own.
    if (handOff) await applyWokenHandOff(getDb(), env, job.businessId, handOff);
  }
};

/**
 * The call log writes a woken standby took along (durable-objects/business/dial-turns.ts): applied
 * in one transaction, then acknowledged; on any failure given back to the business's object, which
 * sends them through the queue (and hands out again what is never acknowledged, after its grace).
 */
async function applyWokenHandOff(db: Database, env: Env, businessId: number, handOff: HandOff): Promise<void> {
  const admission = callAdmission(env, businessId);
  try {
    await recordCallLogWrites(db, env, handOff.writes);
    await admission.ackCallLogWrites(handOff.ids);
  } catch (err) {
    await admission.ackCallLogWrites(handOff.ids, false).catch(() => {});
    log.warn("call log writes left to the business's object: the woken dial could not apply them", {
      businessId,
      writes: handOff.ids.length,
      error: err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err),
    });
  }
}

/** Steps 3-5 (see the header), once the BusinessDO has answered the turn. */
async function dialWithTurn(
  job: Job<"outbound_call.dial">,
  { db: getDb, env, config }: JobContext,
  { settings, cap, turn }: { settings: BusinessSettingsView; cap: number; turn: DialTurn },
): Promise<undefined> {
  const target: DialTarget = { jobId: job.jobId, businessId: job.businessId };
  const admission = callAdmission(env, job.businessId);
  if (!turn.go) {
    if (turn.why !== "busy") return undefined; // a duplicate: the job was dialed, or another message of it waits
    return waitForSlot(env, target, job.slotWaits, turn.refusal?.message ?? `every one of ${cap} slots in use`);
  }
  const { leaseId } = turn.lease;
  const fields = { ...target, leaseId };
  const release = () =>
    admission.release(leaseId).catch((err) =>
      // The lease then ends at its ring timeout (no CallSid): nothing leaks for long.
      log.error("could not release a call slot; the sweep will", { ...fields, error: String(err) }),
    );

  // The claim and the call log (one statement), while a Twilio creation time is asked for.
  const db = getDb();
  const lockToken = crypto.randomUUID();
  const firstTurn = createTurn(env, config).catch((err: unknown) => ({ error: err }));
  let claim: Awaited<ReturnType<typeof claimJobForDial>>;
  try {
    claim = await claimJobForDial(db, { jobId: job.jobId, businessId: job.businessId, lockToken, leaseId });
  } catch (err) {
    // The claim may have committed without its answer reaching us: the job is given back only if
    // it has no call log (releaseAfterError); otherwise the sweep settles it.
    await firstTurn;
    await release();
    await releaseAfterError(db, job.jobId, lockToken, err instanceof Error ? err.message : String(err)).catch(() => {});
    throw err;
  }
  const { job: row, run, business } = claim;
  if (!claim.claimed || !row || !run || !business || row.businessId !== job.businessId) {
    await release();
    return notClaimed(db, env, target, claim);
  }

  let callLogId = claim.callLogId;
  if (callLogId === null) {
    if (!business.twilioNumber) {
      await release();
      await unlockJob(db, row.id, lockToken);
      return failRun(db, row.id, "the business has no Twilio number to call from");
    }
    if (!claim.leadOk || !isE164(row.phoneE164)) {
      // A deleted lead, a bad number: never dialed again.
      await release();
      const reason = claim.leadOk ? "toNumber must be E.164 (e.g. +972501234567)" : `lead ${row.leadId} not found`;
      const runId = await failClaimedJob(db, row.id, lockToken, reason);
      if (runId !== null) await finishRunIfDone(db, runId);
      await kickNextJobs(db, env, row.businessId);
      log.warn("campaign job failed", { ...fields, reason });
      return undefined;
    }
    // A run limited to working hours: its log waits for the hours check.
    const opening = run.businessHoursOnly ? nextOpening(settings.workingHours, claim.now, run.timezone) : null;
    if (opening && opening > claim.now) {
      await release();
      await unlockJob(db, row.id, lockToken, { notBefore: opening });
      await enqueueDialLater(env, target, delayUntil(opening, claim.now));
      log.info("campaign job waits for working hours", { ...target, until: opening.toISOString() });
      return undefined;
    }
    callLogId = await insertBulkCallLog(db, { jobId: row.id, lockToken, leaseId });
    if (callLogId === null) {
      await release();
      await unlockJob(db, row.id, lockToken);
      return undefined;
    }
  }

  // Twilio's calls per second, last (nothing slow between the time given and the create): the job
  // and its slot are held meanwhile. No time within the patience: both are given back.
  const giveBack = async (retryAfterMs: number) => {
    await release();
    await abandonDial(db, {
      jobId: row.id,
      lockToken,
      callLogId,
      lastError: "waited for Twilio's calls per second",
    });
    await enqueueDialLater(env, target, Math.max(1, Math.ceil(retryAfterMs / 1000)), job.slotWaits);
    campaignMetrics.slotWaits.inc();
    log.info("bulk dial waits for Twilio's calls per second", { ...fields, retryAfterMs });
    return undefined;
  };
  let createTime: Awaited<typeof firstTurn> = await firstTurn;
  for (;;) {
    if ("error" in createTime) {
      await giveBack(1000);
      throw createTime.error;
    }
    if ("retryAfterMs" in createTime) return giveBack(createTime.retryAfterMs);
    const { createAt } = createTime;
    await sleep(createAt - Date.now());
    // Late for it (a slow claim): take a new one, so creations stay within the account's calls per
    // second. The missed time is handed back with the ask: it no longer counts.
    if (Date.now() <= createAt + CREATE_TURN_LATENESS_MS) break;
    createTime = await createTurn(env, config, createTime.at).catch((err: unknown) => ({ error: err }));
  }

  try {
    await createReservedCall({
      db,
      config,
      admission,
      release,
      fields: { ...fields, source: "bulk", leadId: row.leadId },
      callLogId,
      leaseId,
      businessId: row.businessId,
      to: row.phoneE164,
      from: business.twilioNumber!,
      answer: {
        twiml: twimlResponse(
          sayGreeting(voiceLanguage(business.locale), business.name, business.greetingText),
          hangup(),
        ),
      },
      // The CallSid and the job's `in_call` reach Postgres with the call's progress.
      confirm: (callSid) =>
        admission.confirmDial(leaseId, { kind: "dialed", callLogId, callSid, job: { id: row.id, lockToken } }),
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof OutboundCallError) {
      if (err.code === "twilio_unknown_outcome") {
        // Twilio may have created the call: the job stays `dialing` with its slot held, never
        // queued again. The call's status callback (or the lease sweep finding or ruling out the
        // call) ends it through the call log, like any call (issue 10 #6).
        log.warn("campaign job's call outcome unknown; waiting for Twilio to settle it", { ...target, reason });
        return undefined;
      }
      if (err.retryable && err.twilio?.httpStatus) {
        // Twilio answered 5xx/429: no call was created. Back off through the queue's retries; once
        // they are spent, the dead-letter hook fails the job with the reason.
        await unlockJob(db, row.id, lockToken, { lastError: reason });
        throw err;
      }
      // A permanent Twilio refusal: never dialed again.
      const runId = await failClaimedJob(db, row.id, lockToken, reason);
      if (runId !== null) await finishRunIfDone(db, runId);
      await kickNextJobs(db, env, row.businessId);
      log.warn("campaign job failed", { ...target, code: err.code, reason });
      return undefined;
    }
    // Anything else (a database or object blip): give the job back only if no call can exist for
    // this attempt; otherwise the status callback or the sweep settles it.
    await releaseAfterError(db, row.id, lockToken, reason);
    throw err;
  }
  campaignMetrics.dials.inc();
  return undefined;
}

/** Out of retries (or rejected): the job fails with the reason, and its run may be finished. */
export async function outboundCallDialDeadLettered(
  db: Database,
  job: { jobId: number; businessId: number },
  reason: string,
): Promise<void> {
  const runId = await failDeadLetteredJob(db, job.jobId, job.businessId, reason);
  if (runId !== null) await finishRunIfDone(db, runId);
}

export const outboundCallSweep: JobHandler<"outbound_call.sweep"> = async (job, { db, env, config }) => {
  const report = await sweepCampaigns(db(), env, config, { staleDialingMinutes: job.staleDialingMinutes });
  log.info("campaign sweep", { ...report });
  return undefined;
};
