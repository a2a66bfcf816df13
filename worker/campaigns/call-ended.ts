/**
 * A campaign's call ended (dispatched by calls/call-ended.ts, for the first terminal callback
 * only): its job takes its outcome (or is queued again by the campaign's retry policy), the
 * campaign finishes when no job is left waiting or on a call, and the slot the call freed goes to
 * the business's next due job in the same statement. A failure leaves the job `in_call`; the
 * campaign sweep reconciles it from the call log.
 */
import type { Database, Executor } from "../db/client";
import type { Env } from "../env";
import { log } from "../lib/log";
import { enqueueDialJobs, enqueueDialLater } from "./enqueue";
import { applyCallEnd, type CallEndResult, finishRunIfDone } from "./jobs";
import { delayUntil } from "./policy";

export interface CallOfJob {
  jobId: number;
  businessId: number;
  callSid: string | null;
  callStatus: string;
}

/**
 * Applies a finished call to its job, and queues the business's next due job for the slot it
 * freed (one statement for both). Returns the job's new status (null when it did not apply).
 */
export async function completeJobFromCall(db: Database, env: Env, call: CallOfJob): Promise<string | null> {
  return afterJobEnded(db, env, call, await applyCallEnd(db, call));
}

/**
 * The Postgres part of a call's end for its job (one statement), inside the caller's transaction
 * (the call log outbox writes a batch of call ends in one); `afterJobEnded` once it committed.
 */
export function endJobInTransaction(tx: Executor, call: CallOfJob): Promise<CallEndResult> {
  return applyCallEnd(tx, call);
}

/**
 * After the job's end committed: the next due job (already picked) is queued for the freed slot, a
 * retry is queued for later, and the campaign finishes when nothing is left.
 */
export async function afterJobEnded(
  db: Database,
  env: Env,
  call: CallOfJob,
  { ended, next }: CallEndResult,
): Promise<string | null> {
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
