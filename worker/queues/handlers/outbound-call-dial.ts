/**
 * Dials one bulk-campaign job (`outbound_call.dial` on the high queue):
 *
 *   1. PUBLIC_HOST and Twilio settings present — else the run fails with the reason, nothing is
 *      dialed (the same check placeOutboundCall makes, done before anything is claimed).
 *   2. Every slot of the business taken (BusinessDO snapshot vs its cap)? Wait without touching
 *      the database. A cheap early look only: admission itself is the reserve in step 4.
 *   3. Claim the job: one atomic UPDATE … WHERE status='queued' AND lock_token IS NULL AND
 *      call_sid IS NULL RETURNING (worker/campaigns/jobs.ts). Not claimed → someone else has it,
 *      or the run is paused/cancelled, or it is not due yet (then it is queued again for when it is).
 *   4. placeOutboundCall (source 'bulk'): reserve a slot in the BusinessDO, create the Twilio call,
 *      confirm the lease. Refused → unlock the job and wait for a slot. Accepted → store the CallSid.
 *      Twilio error → the slot is released (by placeOutboundCall); a retryable one (5xx, 429)
 *      unlocks the job and retries the message with backoff, a permanent one fails the job. No
 *      answer at all (the call may exist) → the job stays dialing and its slot held until the call
 *      is found or ruled out; it is never dialed again.
 *
 * Waiting for a slot never spends the message's retries (10 on the high queue): it is a fresh,
 * delayed message (slotWaits + 1, exponential with jitter, capped) and this one is acked.
 */
import { callAdmission } from "../../calls/admission";
import { OutboundCallError, placeOutboundCall } from "../../calls/place-outbound-call";
import { twilioClient } from "../../calls/twilio-client";
import { nextOpening } from "../../campaigns/business-hours";
import { type DialTarget, enqueueDialLater, kickNextJobs } from "../../campaigns/enqueue";
import {
  claimJob,
  closeRunWindow,
  failClaimedJob,
  failDeadLetteredJob,
  failRunOfJob,
  finishRunIfDone,
  markDialed,
  releaseAfterError,
  unlockJob,
} from "../../campaigns/jobs";
import { delayUntil, slotWaitDelaySeconds } from "../../campaigns/policy";
import { sweepCampaigns } from "../../campaigns/sweep";
import { type Config, ConfigError, requirePublicHost } from "../../config";
import type { Database } from "../../db/client";
import type { Env } from "../../env";
import { log } from "../../lib/log";
import { campaignMetrics } from "../../metrics/campaigns";
import { effectiveCallCap, getBusinessSettings } from "../../services/settings";
import type { JobHandler } from "../handler";

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

export const outboundCallDial: JobHandler<"outbound_call.dial"> = async (job, { db: getDb, env, config }) => {
  const target: DialTarget = { jobId: job.jobId, businessId: job.businessId };

  const problem = configProblem(config);
  if (problem) return failRun(getDb(), job.jobId, problem);

  const admission = callAdmission(env, job.businessId);
  const [slots, settings] = await Promise.all([admission.snapshot(), getBusinessSettings(env, job.businessId)]);
  const cap = effectiveCallCap(settings, config);
  if (slots.outboundActive >= cap) {
    return waitForSlot(env, target, job.slotWaits, `${slots.outboundActive} of ${cap} slots in use`);
  }

  const db = getDb();
  const lockToken = crypto.randomUUID();
  const claim = await claimJob(db, job.jobId, job.businessId, lockToken);
  const { job: row, run, now } = claim;
  if (!row || !run || row.businessId !== job.businessId) return undefined;
  if (!claim.claimed) {
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

  if (run.businessHoursOnly) {
    const opening = nextOpening(settings.workingHours, now, run.timezone);
    if (opening && opening > now) {
      await unlockJob(db, row.id, lockToken, { notBefore: opening });
      await enqueueDialLater(env, target, delayUntil(opening, now));
      log.info("campaign job waits for working hours", { ...target, until: opening.toISOString() });
      return undefined;
    }
  }

  let placed: Awaited<ReturnType<typeof placeOutboundCall>>;
  try {
    placed = await placeOutboundCall({
      db,
      env,
      config,
      businessId: row.businessId,
      leadId: row.leadId,
      toNumber: row.phoneE164,
      source: "bulk",
      outboundJobId: row.id,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof ConfigError) {
      await unlockJob(db, row.id, lockToken);
      return failRun(db, row.id, reason);
    }
    if (err instanceof OutboundCallError) {
      if (err.code === "no_twilio_number" || err.code === "business_not_found") {
        await unlockJob(db, row.id, lockToken);
        return failRun(db, row.id, reason);
      }
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
      // A bad number, a deleted lead, a permanent Twilio refusal: never dialed again.
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

  if (!placed.ok) {
    await unlockJob(db, row.id, lockToken);
    return waitForSlot(env, target, job.slotWaits, placed.refusal.message);
  }
  await markDialed(db, row.id, lockToken, placed.callSid);
  campaignMetrics.dials.inc();
  return undefined;
};

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
