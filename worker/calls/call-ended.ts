/**
 * What follows a call's end, by the call's origin (its log's `source`): one explicit dispatch, as
 * whatsapp/outbound-outcome.ts does for messages, so a reader sees here everything a call's end
 * sets off. The status callback calls `runCallEndedHooks` after a call log reaches a terminal
 * status, with `firstTime` true exactly once (the callback that made the transition) and false
 * for repeated terminal callbacks.
 *
 * - bulk (a campaign's call): its job takes its outcome, or is queued again by the campaign's retry
 *   policy; the campaign finishes when nothing is left; the freed slot goes to the business's next
 *   due job (campaigns/call-ended.ts).
 * - direct: the freed slot goes to the business's next due campaign job, if one waits.
 * - inbound: nothing follows (inbound calls hold their own slots).
 *
 * Only the first terminal callback acts: a repeat would otherwise find a retried job dialing again
 * and end the wrong attempt. Runs after the slot was released; a failure is logged and does not
 * fail the callback (Twilio's retry would not run it again: the transition has happened). A job
 * left `in_call` by a failure is reconciled from the call log by the campaign sweep.
 */
import { afterJobEnded, endJobInTransaction } from "../campaigns/call-ended";
import { enqueueDialJobs } from "../campaigns/enqueue";
import { pickNextDueJobs } from "../campaigns/jobs";
import type { Config } from "../config";
import type { Database, Executor } from "../db/client";
import type { callLogs } from "../db/schema";
import type { Env } from "../env";
import { log } from "../lib/log";
import { callsEnded } from "../metrics/calls";

export type CallLogRow = typeof callLogs.$inferSelect;

export interface CallEndedEvent {
  row: CallLogRow;
  /** True for the callback that moved the log to its terminal status; false for repeats. */
  firstTime: boolean;
  db: Database;
  env: Env;
  config: Config;
}

export async function runCallEndedHooks({ row, firstTime, db, env }: CallEndedEvent): Promise<void> {
  const after = await callEndedInTransaction(db, row, firstTime);
  if (after) await after(db, env);
}

/** What is left of a call's end once its Postgres part committed (queue sends, the campaign's completion). */
export type AfterCallEnded = (db: Database, env: Env) => Promise<void>;

/**
 * The Postgres part of the hooks, in the caller's transaction (a savepoint: a failure here is
 * logged and rolls back only itself, never the call log update around it); returns the rest, to
 * run after the commit. Nothing for repeats and inbound calls.
 */
export async function callEndedInTransaction(
  tx: Executor,
  row: CallLogRow,
  firstTime: boolean,
): Promise<AfterCallEnded | null> {
  if (!firstTime) return null;
  // Counted once the transaction committed (a rolled-back batch is applied again).
  const counted = () => callsEnded.inc({ source: row.source });
  if (row.source === "inbound") return async () => counted();
  const fields = { callLogId: row.id, callSid: row.callSid, source: row.source };
  const failed = (err: unknown): void => {
    log.error("work after a call's end failed", { ...fields, error: err instanceof Error ? err.message : String(err) });
  };
  try {
    if (row.source === "bulk" && row.outboundJobId !== null) {
      const call = {
        jobId: row.outboundJobId,
        businessId: row.businessId,
        callSid: row.callSid,
        callStatus: row.status,
      };
      const result = await tx.transaction((sp) => endJobInTransaction(sp, call));
      return async (db, env) => {
        counted();
        await afterJobEnded(db, env, call, result).then(() => undefined, failed);
      };
    }
    // A direct call (or a bulk call without its job): the freed slot goes to the next due campaign job.
    const picked = await tx.transaction((sp) => sp.execute<{ id: number }>(pickNextDueJobs(row.businessId, 1)));
    const ids = picked.rows.map((r) => Number(r.id));
    return async (_db, env) => {
      counted();
      if (ids.length > 0)
        await enqueueDialJobs(
          env,
          ids.map((jobId) => ({ jobId, businessId: row.businessId })),
        ).catch(failed);
    };
  } catch (err) {
    failed(err);
    return async () => counted();
  }
}
