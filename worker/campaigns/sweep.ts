/**
 * The campaign sweep (cron, every 10 minutes, `outbound_call.sweep` on the low queue): settles
 * what a lost message, a crashed consumer or a lost status callback would otherwise leave hanging.
 *
 * - A job `dialing` for longer than any dial takes: its call log says what happened — a CallSid
 *   (the call exists: on a call, or finished), a Twilio failure or no log (no call: queued again),
 *   or a log still `queued` without a CallSid (Twilio may have created the call: failed, never
 *   dialed twice).
 * - A job `in_call` for longer than a call can last: its call log's terminal status, or Twilio's
 *   own, settles it.
 * - Runs with nothing left to do are marked completed; a run whose business has free call slots
 *   and due jobs gets them queued (covers a queue message lost for good). At most `free slots`
 *   messages per business per sweep, so the sweep never floods the queue.
 */
import { sql } from "drizzle-orm";
import { callAdmission } from "../calls/admission";
import { isTerminalStatus } from "../calls/call-status";
import { twilioClient } from "../calls/twilio-client";
import type { Config } from "../config";
import type { Database } from "../db/client";
import type { Env } from "../env";
import { log } from "../lib/log";
import { effectiveCallCap, getBusinessSettings } from "../services/settings";
import { completeJobFromCall } from "./call-ended";
import { kickNextJobs } from "./enqueue";
import { closeRunWindow, failClaimedJob, finishRunIfDone, markDialed, unlockJob } from "./jobs";

export interface SweepReport {
  redialable: number;
  settledDialing: number;
  settledCalls: number;
  completedRuns: number;
  kicked: number;
}

const BATCH = 200;

export async function sweepCampaigns(
  db: Database,
  env: Env,
  config: Config,
  opts: {
    staleDialingMinutes: number;
    /** Only this business (a manual repair, or a test); default: all. */
    businessId?: number;
  },
): Promise<SweepReport> {
  const scope = (column: string) =>
    opts.businessId === undefined ? sql`true` : sql`${sql.raw(column)} = ${opts.businessId}`;
  const report: SweepReport = { redialable: 0, settledDialing: 0, settledCalls: 0, completedRuns: 0, kicked: 0 };

  // ---- jobs stuck `dialing` -----------------------------------------------------------------
  const dialing = await db.execute<Record<string, unknown>>(sql`
    SELECT j.id, j.business_id, j.lock_token, l.call_sid AS log_call_sid, l.status AS log_status
    FROM outbound_call_jobs j
    LEFT JOIN LATERAL (
      SELECT call_sid, status FROM call_logs l
      WHERE l.business_id = j.business_id AND l.created_at >= j.dial_started_at AND l.outbound_job_id = j.id
      ORDER BY l.id DESC LIMIT 1
    ) l ON true
    WHERE j.status = 'dialing' AND j.dial_started_at < now() - make_interval(mins => ${opts.staleDialingMinutes})
      AND ${scope("j.business_id")}
    ORDER BY j.dial_started_at LIMIT ${BATCH}`);
  for (const row of dialing.rows) {
    const jobId = Number(row.id);
    const businessId = Number(row.business_id);
    const lockToken = String(row.lock_token);
    const logSid = row.log_call_sid as string | null;
    const logStatus = row.log_status as string | null;
    if (logSid) {
      await markDialed(db, jobId, lockToken, logSid);
      if (logStatus && isTerminalStatus(logStatus))
        await completeJobFromCall(db, env, { jobId, businessId, callSid: logSid, callStatus: logStatus });
      report.settledDialing++;
    } else if (logStatus === null || logStatus === "failed") {
      if (await unlockJob(db, jobId, lockToken, { lastError: "the dial was interrupted before a call was placed" }))
        report.redialable++;
    } else {
      const runId = await failClaimedJob(
        db,
        jobId,
        lockToken,
        "the dial was interrupted after asking Twilio; the call may have been placed, so it is not dialed again",
      );
      if (runId !== null) await finishRunIfDone(db, runId);
      report.settledDialing++;
    }
    log.warn("campaign sweep settled a job stuck dialing", { jobId, businessId, logStatus });
  }

  // ---- jobs `in_call` longer than any call lasts ----------------------------------------------
  const callSeconds =
    config.CALL_RING_TIMEOUT_SECONDS + config.CALL_TIME_LIMIT_SECONDS + config.CALL_LEASE_MARGIN_SECONDS;
  const inCall = await db.execute<Record<string, unknown>>(sql`
    SELECT j.id, j.business_id, j.call_sid, l.status AS log_status
    FROM outbound_call_jobs j
    LEFT JOIN call_logs l ON l.call_sid = j.call_sid
    WHERE j.status = 'in_call' AND j.dial_started_at < now() - make_interval(secs => ${callSeconds})
      AND ${scope("j.business_id")}
    ORDER BY j.dial_started_at LIMIT ${BATCH}`);
  let twilio: ReturnType<typeof twilioClient> | null = null;
  for (const row of inCall.rows) {
    const jobId = Number(row.id);
    const businessId = Number(row.business_id);
    const callSid = String(row.call_sid);
    let status = row.log_status as string | null;
    if (!status || !isTerminalStatus(status)) {
      try {
        twilio ??= twilioClient(config);
        status = (await twilio.fetchCall(callSid)).status;
      } catch (err) {
        const httpStatus = (err as { httpStatus?: number | null }).httpStatus;
        // Twilio does not know the call: it never happened.
        status = httpStatus === 404 ? "failed" : null;
        if (status === null) log.warn("campaign sweep could not check a call", { jobId, callSid, error: String(err) });
      }
    }
    if (status && isTerminalStatus(status)) {
      await completeJobFromCall(db, env, { jobId, businessId, callSid, callStatus: status });
      report.settledCalls++;
    }
  }

  // ---- runs: finish the finished, refill idle capacity ----------------------------------------
  // Paused runs last: they can sit for weeks, and must not crowd active runs out of the batch.
  const runs = await db.execute<{ id: number; business_id: number; window_closed: boolean }>(sql`
    SELECT id, business_id, (status <> 'paused' AND window_end IS NOT NULL AND window_end <= now()) AS window_closed
    FROM outbound_call_runs
    WHERE status IN ('queued', 'running', 'paused') AND ${scope("business_id")}
    ORDER BY (status = 'paused'), id LIMIT ${BATCH}`);
  const businesses = new Set<number>();
  for (const run of runs.rows) {
    // A window that closed while its jobs' messages were lost is closed here (the dial handler
    // only closes it when a message arrives).
    if (run.window_closed) await closeRunWindow(db, Number(run.id));
    if (await finishRunIfDone(db, Number(run.id))) report.completedRuns++;
    else businesses.add(Number(run.business_id));
  }
  for (const businessId of businesses) {
    const [slots, settings] = await Promise.all([
      callAdmission(env, businessId).snapshot(),
      getBusinessSettings(env, businessId),
    ]);
    const free = effectiveCallCap(settings, config) - slots.outboundActive;
    if (free > 0) report.kicked += (await kickNextJobs(db, env, businessId, free)).length;
  }
  return report;
}
