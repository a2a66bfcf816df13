/**
 * A campaign's call ended (dispatched by calls/call-ended.ts, for the first terminal callback
 * only): its job takes its outcome (or is queued again by the campaign's retry policy), the
 * campaign finishes when no job is left waiting or on a call, and the slot the call freed goes to
 * the business's next due job in the same statement. A failure leaves the job `in_call`; the
 * campaign sweep reconciles it from the call log.
 */
import type { Database } from "../db/client";
import type { Env } from "../env";
import { log } from "../lib/log";
import { enqueueDialJobs, enqueueDialLater } from "./enqueue";
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
    // (A campaign with a job still due is not done: the check is skipped then.)
    log.info("campaign completed", { campaignId: ended.runId, businessId: ended.businessId });
  }
  return ended.status;
}
