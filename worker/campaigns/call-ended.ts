/**
 * Campaigns react to calls ending (registered on the status callback's call-ended hook):
 * - a bulk call's job takes its outcome (or is queued again by the run's retry policy), and its
 *   run finishes when no job is left waiting or on a call;
 * - any outbound call of the business freeing a slot queues the business's next due job at once
 *   (for a bulk call, in the same statement that ends its job).
 *
 * Runs only for the callback that made the call terminal (`firstTime`): a repeated callback would
 * otherwise find a retried job dialing again and end the wrong attempt. A hook failure leaves the
 * job `in_call`; the campaign sweep reconciles it from the call log.
 */
import { onCallEnded } from "../calls/call-ended";
import type { Database } from "../db/client";
import type { Env } from "../env";
import { log } from "../lib/log";
import { enqueueDialJobs, enqueueDialLater, kickNextJobs } from "./enqueue";
import { applyCallEnd, finishRunIfDone } from "./jobs";
import { delayUntil } from "./policy";

/**
 * Applies a finished call to its job, and queues the business's next due job for the slot it
 * freed (one statement for both). Returns the job's new status (null when it did not apply).
 */
export async function completeJobFromCall(
  db: Database,
  env: Env,
  call: { jobId: number; businessId: number; callSid: string | null; callStatus: string },
): Promise<string | null> {
  const { ended, next } = await applyCallEnd(db, call);
  if (next.length > 0)
    await enqueueDialJobs(
      env,
      next.map((n) => ({ jobId: n.jobId, businessId: call.businessId })),
    );
  if (!ended) return null;
  if (ended.status === "queued") {
    await enqueueDialLater(
      env,
      { jobId: ended.jobId, businessId: ended.businessId },
      delayUntil(ended.nextAttemptAt, new Date()),
    );
    log.info("campaign job will be dialed again", { jobId: ended.jobId, outcome: call.callStatus });
  } else if (!next.some((n) => n.runId === ended.runId) && (await finishRunIfDone(db, ended.runId))) {
    // (A run with a job still due is not done: the check is skipped then.)
    log.info("campaign run completed", { runId: ended.runId, businessId: ended.businessId });
  }
  return ended.status;
}

let registered = false;

/** Registers the hook once per isolate (modules that need it call this at load). */
export function registerCampaignCallHook(): void {
  if (registered) return;
  registered = true;
  onCallEnded(async ({ row, firstTime, db, env }) => {
    if (!firstTime || row.direction !== "outbound") return;
    if (row.outboundJobId !== null) {
      await completeJobFromCall(db, env, {
        jobId: row.outboundJobId,
        businessId: row.businessId,
        callSid: row.callSid,
        callStatus: row.status,
      });
    } else {
      // A direct call freed a slot: a waiting campaign job may take it.
      await kickNextJobs(db, env, row.businessId);
    }
  });
}
