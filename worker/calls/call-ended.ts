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
import { completeJobFromCall } from "../campaigns/call-ended";
import { kickNextJobs } from "../campaigns/enqueue";
import type { Config } from "../config";
import type { Database } from "../db/client";
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
  if (!firstTime) return;
  callsEnded.inc({ source: row.source });
  try {
    switch (row.source) {
      case "bulk":
        if (row.outboundJobId !== null) {
          await completeJobFromCall(db, env, {
            jobId: row.outboundJobId,
            businessId: row.businessId,
            callSid: row.callSid,
            callStatus: row.status,
          });
          return;
        }
        // A bulk call always has its job; without one it is just a freed slot.
        await kickNextJobs(db, env, row.businessId);
        return;
      case "direct":
        await kickNextJobs(db, env, row.businessId);
        return;
      case "inbound":
        return;
    }
  } catch (err) {
    log.error("work after a call's end failed", {
      callLogId: row.id,
      callSid: row.callSid,
      source: row.source,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
