/**
 * The state of one campaign job (outbound_call_jobs row) and of its campaign's dialing state
 * (outbound_call_runs.status), changed only here, each change one atomic statement guarded by the
 * state it expects — so concurrent consumers, redelivered messages, racing status callbacks and a
 * user pausing or cancelling at the same moment cannot dial a lead twice or move a job backwards.
 *
 *   queued ──claim──▶ dialing ──Twilio accepted──▶ in_call ──status callback──▶ completed / no_answer / busy / failed
 *     ▲                  │                                         │
 *     └──── unlock ──────┘ (no slot, retryable error)              └─ no_answer / busy with attempts left: queued again, later
 *   queued ──campaign cancelled / window closed──▶ cancelled
 *
 * A campaign: queued ──first claim──▶ running ⇄ paused; queued/running/paused ──no job left──▶
 * completed; any unfinished ──cancel──▶ cancelled; queued/running ──cannot dial──▶ failed ──resume──▶
 * queued/running. Which of these statuses may dial, and which jobs are unfinished: ./policy.ts.
 *
 * `attempts` counts calls placed: the claim adds one, an unlock (no call placed) takes it back.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Database, Executor } from "../db/client";
import { E164_SQL } from "../services/phones";
import { emitWebhookEvent } from "../webhooks/outbox";
import {
  ACTIVE_JOB_STATUSES,
  DIALING_CAMPAIGN_STATUSES,
  isRetryableOutcome,
  jobStatusForCall,
  UNFINISHED_CAMPAIGN_STATUSES,
} from "./policy";

/** A status list as SQL: `IN (${sqlList(list)})`. */
const sqlList = (list: readonly string[]): SQL =>
  sql.join(
    list.map((s) => sql`${s}`),
    sql`, `,
  );

/** The job as a claim attempt found it, and whether this caller now holds it. */
export interface ClaimResult {
  /** null: no such job. */
  job: {
    id: number;
    status: string;
    lockToken: string | null;
    callSid: string | null;
    nextAttemptAt: Date | null;
    businessId: number;
    leadId: number;
    phoneE164: string;
    attempts: number;
  } | null;
  run: {
    id: number;
    status: string;
    windowStart: Date | null;
    windowEnd: Date | null;
    businessHoursOnly: boolean;
    /** The business's time zone (for working hours). */
    timezone: string;
  } | null;
  claimed: boolean;
  /** The database's clock, for delays. */
  now: Date;
}

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string));

/**
 * One statement: claim the job (queued, unlocked, never dialed in this attempt, due, its run may
 * dial now) with a fresh lock token, mark the run started on its first claim, and return what
 * the job and run looked like — so a refused claim says why without another round trip.
 */
export async function claimJob(
  db: Database,
  jobId: number,
  businessId: number,
  lockToken: string,
): Promise<ClaimResult> {
  const result = await db.execute<Record<string, unknown>>(sql`
    WITH target AS (
      SELECT j.id, j.status, j.lock_token, j.call_sid, j.next_attempt_at, j.business_id, j.lead_id, j.phone_e164,
             j.attempts, r.id AS run_id, r.status AS run_status, r.window_start, r.window_end,
             coalesce((r.audience->>'businessHoursOnly')::boolean, false) AS business_hours_only, b.timezone
      FROM outbound_call_jobs j
      JOIN outbound_call_runs r ON r.id = j.run_id
      JOIN businesses b ON b.id = j.business_id
      WHERE j.id = ${jobId}
    ),
    claimed AS (
      UPDATE outbound_call_jobs j
      SET status = 'dialing', lock_token = ${lockToken}, attempts = j.attempts + 1,
          dial_started_at = now(), updated_at = now()
      WHERE j.id = ${jobId} AND j.business_id = ${businessId}
        AND j.status = 'queued' AND j.lock_token IS NULL AND j.call_sid IS NULL
        AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= now())
        AND EXISTS (
          SELECT 1 FROM outbound_call_runs r
          WHERE r.id = j.run_id AND r.status IN (${sqlList(DIALING_CAMPAIGN_STATUSES)})
            AND (r.window_start IS NULL OR r.window_start <= now())
            AND (r.window_end IS NULL OR r.window_end > now()))
      RETURNING j.id, j.attempts
    ),
    started AS (
      UPDATE outbound_call_runs r
      SET status = CASE WHEN r.status = 'queued' THEN 'running' ELSE r.status END,
          started_at = coalesce(r.started_at, now()), updated_at = now()
      WHERE r.id = (SELECT run_id FROM target) AND EXISTS (SELECT 1 FROM claimed)
        AND (r.status = 'queued' OR r.started_at IS NULL)
    )
    SELECT t.*, c.id IS NOT NULL AS claimed, c.attempts AS claimed_attempts, now() AS db_now
    FROM (SELECT 1) one LEFT JOIN target t ON true LEFT JOIN claimed c ON true`);
  return claimOf(result.rows[0]!, lockToken);
}

/** A claim statement's row (see claimJob) as a ClaimResult. */
function claimOf(row: Record<string, unknown>, lockToken: string): ClaimResult {
  const now = date(row.db_now) ?? new Date();
  if (row.id === null || row.id === undefined) return { job: null, run: null, claimed: false, now };
  const claimed = row.claimed === true;
  return {
    job: {
      id: Number(row.id),
      status: claimed ? "dialing" : String(row.status),
      lockToken: claimed ? lockToken : (row.lock_token as string | null),
      callSid: row.call_sid as string | null,
      nextAttemptAt: date(row.next_attempt_at),
      businessId: Number(row.business_id),
      leadId: Number(row.lead_id),
      phoneE164: String(row.phone_e164),
      attempts: claimed ? Number(row.claimed_attempts) : Number(row.attempts),
    },
    run: {
      id: Number(row.run_id),
      status: String(row.run_status),
      windowStart: date(row.window_start),
      windowEnd: date(row.window_end),
      businessHoursOnly: row.business_hours_only === true,
      timezone: String(row.timezone),
    },
    claimed,
    now,
  };
}

/** What a dial needs of its business (the caller ID and the greeting), read with the claim. */
export interface DialBusiness {
  id: number;
  name: string;
  locale: string;
  twilioNumber: string | null;
  greetingText: string | null;
}

/** A claim for a dial, with the call log it wrote (when it could dial). */
export interface DialClaim extends ClaimResult {
  business: DialBusiness | null;
  /** The job's lead still exists (not deleted) in its business. */
  leadOk: boolean;
  /** The call log written for this dial (status `queued`, the lease's id), or null when none was. */
  callLogId: number | null;
}

/**
 * A dial's one statement before Twilio (issue 16 #4): claim the job as `claimJob` does, mark the
 * run started, read the business's caller ID and greeting and whether the lead still exists, and
 * — when the job was claimed and can be dialed (a lead, a Twilio number, an E.164 phone; a run
 * limited to working hours first checks the hours: insertBulkCallLog) — write its call log
 * (`queued`, with the slot's lease), all in one round trip. The log is written before
 * Twilio is asked, so a status callback that beats the confirm finds its call and a crash leaves a
 * record (see place-outbound-call.ts).
 */
export async function claimJobForDial(
  db: Database,
  input: { jobId: number; businessId: number; lockToken: string; leaseId: string },
): Promise<DialClaim> {
  const { jobId, businessId, lockToken, leaseId } = input;
  const result = await db.execute<Record<string, unknown>>(sql`
    WITH target AS (
      SELECT j.id, j.status, j.lock_token, j.call_sid, j.next_attempt_at, j.business_id, j.lead_id, j.phone_e164,
             j.attempts, r.id AS run_id, r.status AS run_status, r.window_start, r.window_end,
             coalesce((r.audience->>'businessHoursOnly')::boolean, false) AS business_hours_only, b.timezone,
             b.name AS business_name, b.locale AS business_locale, b.twilio_number, s.greeting_text,
             EXISTS (SELECT 1 FROM leads l WHERE l.id = j.lead_id AND l.business_id = j.business_id
                       AND l.deleted_at IS NULL) AS lead_ok
      FROM outbound_call_jobs j
      JOIN outbound_call_runs r ON r.id = j.run_id
      JOIN businesses b ON b.id = j.business_id
      LEFT JOIN business_settings s ON s.business_id = j.business_id
      WHERE j.id = ${jobId}
    ),
    claimed AS (
      UPDATE outbound_call_jobs j
      SET status = 'dialing', lock_token = ${lockToken}, attempts = j.attempts + 1,
          dial_started_at = now(), updated_at = now()
      WHERE j.id = ${jobId} AND j.business_id = ${businessId}
        AND j.status = 'queued' AND j.lock_token IS NULL AND j.call_sid IS NULL
        AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= now())
        AND EXISTS (
          SELECT 1 FROM outbound_call_runs r
          WHERE r.id = j.run_id AND r.status IN (${sqlList(DIALING_CAMPAIGN_STATUSES)})
            AND (r.window_start IS NULL OR r.window_start <= now())
            AND (r.window_end IS NULL OR r.window_end > now()))
      RETURNING j.id, j.attempts, j.business_id, j.lead_id, j.phone_e164
    ),
    started AS (
      UPDATE outbound_call_runs r
      SET status = CASE WHEN r.status = 'queued' THEN 'running' ELSE r.status END,
          started_at = coalesce(r.started_at, now()), updated_at = now()
      WHERE r.id = (SELECT run_id FROM target) AND EXISTS (SELECT 1 FROM claimed)
        AND (r.status = 'queued' OR r.started_at IS NULL)
    ),
    logged AS (
      INSERT INTO call_logs (business_id, lead_id, direction, source, lease_id, from_number, to_number, status,
                             outbound_job_id)
      SELECT c.business_id, c.lead_id, 'outbound', 'bulk', ${leaseId}, t.twilio_number, c.phone_e164, 'queued', c.id
      FROM claimed c CROSS JOIN target t
      WHERE t.lead_ok AND t.twilio_number IS NOT NULL AND c.phone_e164 ~ ${E164_SQL} AND NOT t.business_hours_only
      RETURNING id
    )
    SELECT t.*, c.id IS NOT NULL AS claimed, c.attempts AS claimed_attempts, (SELECT id FROM logged) AS call_log_id,
           now() AS db_now
    FROM (SELECT 1) one LEFT JOIN target t ON true LEFT JOIN claimed c ON true`);
  const row = result.rows[0]!;
  const claim = claimOf(row, lockToken);
  if (!claim.job) return { ...claim, business: null, leadOk: false, callLogId: null };
  return {
    ...claim,
    business: {
      id: Number(row.business_id),
      name: String(row.business_name),
      locale: String(row.business_locale),
      twilioNumber: (row.twilio_number as string | null) ?? null,
      greetingText: (row.greeting_text as string | null) ?? null,
    },
    leadOk: row.lead_ok === true,
    callLogId: row.call_log_id === null || row.call_log_id === undefined ? null : Number(row.call_log_id),
  };
}

/** A claimed job's call log, on its own (a run limited to working hours, once they are checked). */
export async function insertBulkCallLog(
  db: Database,
  input: { jobId: number; lockToken: string; leaseId: string },
): Promise<number | null> {
  const result = await db.execute<{ id: number }>(sql`
    INSERT INTO call_logs (business_id, lead_id, direction, source, lease_id, from_number, to_number, status,
                           outbound_job_id)
    SELECT j.business_id, j.lead_id, 'outbound', 'bulk', ${input.leaseId}, b.twilio_number, j.phone_e164, 'queued', j.id
    FROM outbound_call_jobs j JOIN businesses b ON b.id = j.business_id
    WHERE j.id = ${input.jobId} AND j.lock_token = ${input.lockToken} AND j.status = 'dialing'
      AND b.twilio_number IS NOT NULL
    RETURNING id`);
  const row = result.rows[0];
  return row ? Number(row.id) : null;
}

/**
 * Gives a claimed job back (no call was placed): queued again, unlocked, its attempt not counted —
 * or cancelled, if its run was cancelled meanwhile.
 */
export async function unlockJob(
  db: Database,
  jobId: number,
  lockToken: string,
  opts: { lastError?: string; notBefore?: Date } = {},
): Promise<boolean> {
  const result = await db.execute(sql`
    UPDATE outbound_call_jobs j
    SET status = CASE WHEN r.status = 'cancelled' THEN 'cancelled' ELSE 'queued' END,
        lock_token = NULL, attempts = greatest(j.attempts - 1, 0), dial_started_at = NULL,
        last_error = coalesce(${opts.lastError ?? null}::text, j.last_error),
        next_attempt_at = coalesce(${opts.notBefore?.toISOString() ?? null}::timestamptz, j.next_attempt_at),
        completed_at = CASE WHEN r.status = 'cancelled' THEN now() ELSE NULL END,
        updated_at = now()
    FROM outbound_call_runs r
    WHERE r.id = j.run_id AND j.id = ${jobId} AND j.lock_token = ${lockToken} AND j.status = 'dialing'
      AND j.call_sid IS NULL`);
  return (result.rowCount ?? 0) > 0;
}

/**
 * A claimed job whose call was never asked of Twilio after all (its creation time was lost): its
 * call log (still `queued`, no CallSid) goes, and the job is given back as unlockJob does. One
 * statement.
 */
export async function abandonDial(
  db: Database,
  input: { jobId: number; lockToken: string; callLogId: number; lastError: string },
): Promise<void> {
  await db.execute(sql`
    WITH gone AS (
      DELETE FROM call_logs
      WHERE id = ${input.callLogId} AND outbound_job_id = ${input.jobId} AND status = 'queued' AND call_sid IS NULL
    )
    UPDATE outbound_call_jobs j
    SET status = CASE WHEN r.status = 'cancelled' THEN 'cancelled' ELSE 'queued' END,
        lock_token = NULL, attempts = greatest(j.attempts - 1, 0), dial_started_at = NULL,
        last_error = ${input.lastError},
        completed_at = CASE WHEN r.status = 'cancelled' THEN now() ELSE NULL END,
        updated_at = now()
    FROM outbound_call_runs r
    WHERE r.id = j.run_id AND j.id = ${input.jobId} AND j.lock_token = ${input.lockToken} AND j.status = 'dialing'
      AND j.call_sid IS NULL`);
}

/**
 * After an unexpected error mid-dial: unlock the job only when this attempt left no call log, or
 * one that failed without a CallSid (placeOutboundCall writes the log before it asks Twilio). A
 * log still `queued` may be a call Twilio created: the job stays `dialing` for its status callback
 * or the sweep to settle.
 */
export async function releaseAfterError(
  db: Database,
  jobId: number,
  lockToken: string,
  reason: string,
): Promise<boolean> {
  const result = await db.execute(sql`
    UPDATE outbound_call_jobs j
    SET status = CASE WHEN r.status = 'cancelled' THEN 'cancelled' ELSE 'queued' END,
        lock_token = NULL, attempts = greatest(j.attempts - 1, 0), dial_started_at = NULL,
        completed_at = CASE WHEN r.status = 'cancelled' THEN now() ELSE NULL END,
        last_error = ${reason}, updated_at = now()
    FROM outbound_call_runs r
    WHERE r.id = j.run_id AND j.id = ${jobId} AND j.lock_token = ${lockToken} AND j.status = 'dialing'
      AND j.call_sid IS NULL
      AND NOT EXISTS (
        SELECT 1 FROM call_logs l
        WHERE l.business_id = j.business_id AND l.created_at >= j.dial_started_at AND l.outbound_job_id = j.id
          AND (l.call_sid IS NOT NULL OR l.status <> 'failed'))`);
  return (result.rowCount ?? 0) > 0;
}

/**
 * Twilio accepted the call: store its CallSid. A status callback may have beaten this (it finds
 * the job through the call log): then the job keeps the status the callback gave it.
 */
export async function markDialed(db: Executor, jobId: number, lockToken: string, callSid: string): Promise<void> {
  await db.execute(sql`
    UPDATE outbound_call_jobs
    SET call_sid = coalesce(call_sid, ${callSid}),
        status = CASE WHEN status = 'dialing' THEN 'in_call' ELSE status END,
        last_error = NULL, updated_at = now()
    WHERE id = ${jobId} AND lock_token = ${lockToken}`);
}

/** A claimed job that can never be dialed (bad number, lead gone, Twilio refused it for good). */
export async function failClaimedJob(
  db: Database,
  jobId: number,
  lockToken: string,
  reason: string,
): Promise<number | null> {
  const result = await db.execute<{ run_id: number }>(sql`
    UPDATE outbound_call_jobs
    SET status = 'failed', last_error = ${reason}, completed_at = now(), updated_at = now()
    WHERE id = ${jobId} AND lock_token = ${lockToken} AND status = 'dialing'
    RETURNING run_id`);
  const row = result.rows[0];
  return row ? Number(row.run_id) : null;
}

/**
 * Picks the business's next `limit` due jobs (queued, unlocked, due, of a run that may dial now)
 * for an immediate message, touching them so the next pick takes others: least recently touched
 * first, which also favours a job whose message was lost. An UPDATE … RETURNING id, run_id.
 */
export function pickNextDueJobs(businessId: number, limit: number): SQL {
  return sql`
    UPDATE outbound_call_jobs SET updated_at = now()
    WHERE id IN (
      SELECT j.id FROM outbound_call_jobs j
      JOIN outbound_call_runs r ON r.id = j.run_id
      WHERE r.business_id = ${businessId}
        AND r.status IN (${sqlList(DIALING_CAMPAIGN_STATUSES)})
        AND (r.window_start IS NULL OR r.window_start <= now())
        AND (r.window_end IS NULL OR r.window_end > now())
        AND j.status = 'queued' AND j.lock_token IS NULL
        AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= now())
      ORDER BY j.updated_at, j.id
      LIMIT ${limit}
      FOR UPDATE OF j SKIP LOCKED
    )
    RETURNING id, run_id`;
}

export interface CallEndResult {
  /** The job the call belonged to, as it is now; null when the end did not apply to it. */
  ended: {
    jobId: number;
    runId: number;
    businessId: number;
    /** Terminal, or `queued` when the run's retry policy dials it again. */
    status: string;
    nextAttemptAt: Date | null;
  } | null;
  /** The business's next due job (the slot this call freed), already touched; none if nothing waits. */
  next: { jobId: number; runId: number }[];
}

/**
 * A call of this job ended (its status callback). No-answer and busy are dialed again after the
 * run's retry delay while attempts remain (and the run is not cancelled or failed); otherwise the
 * job takes its final status. Applies only to a job still dialing or on this call. In the same
 * statement, picks the business's next due job for the freed slot (one round trip for both).
 */
export async function applyCallEnd(
  db: Executor,
  input: { jobId: number; businessId: number; callSid: string | null; callStatus: string },
): Promise<CallEndResult> {
  const final = jobStatusForCall(input.callStatus);
  const retryable = isRetryableOutcome(input.callStatus);
  const again = sql`(${retryable}::boolean AND j.attempts < r.max_attempts AND r.status IN (${sqlList(UNFINISHED_CAMPAIGN_STATUSES)}))`;
  const result = await db.execute<Record<string, unknown>>(sql`
    WITH ended AS (
      UPDATE outbound_call_jobs j
      SET status = CASE WHEN ${again} THEN 'queued' ELSE ${final} END,
          call_sid = CASE WHEN ${again} THEN NULL ELSE coalesce(j.call_sid, ${input.callSid}::text) END,
          lock_token = CASE WHEN ${again} THEN NULL ELSE j.lock_token END,
          next_attempt_at = CASE WHEN ${again} THEN now() + make_interval(secs => r.retry_delay_seconds) ELSE j.next_attempt_at END,
          outcome = ${input.callStatus},
          completed_at = CASE WHEN ${again} THEN NULL ELSE now() END,
          updated_at = now()
      FROM outbound_call_runs r
      WHERE r.id = j.run_id AND j.id = ${input.jobId} AND j.business_id = ${input.businessId}
        AND j.status IN ('dialing', 'in_call')
        AND (j.call_sid IS NULL OR ${input.callSid}::text IS NULL OR j.call_sid = ${input.callSid}::text)
      RETURNING j.id, j.run_id, j.status, j.next_attempt_at
    ),
    next AS (${pickNextDueJobs(input.businessId, 1)})
    SELECT 'ended' AS kind, id, run_id, status, next_attempt_at FROM ended
    UNION ALL
    SELECT 'next', id, run_id, NULL, NULL FROM next`);
  const endedRow = result.rows.find((r) => r.kind === "ended");
  return {
    ended: endedRow
      ? {
          jobId: Number(endedRow.id),
          runId: Number(endedRow.run_id),
          businessId: input.businessId,
          status: String(endedRow.status),
          nextAttemptAt: date(endedRow.next_attempt_at),
        }
      : null,
    next: result.rows.filter((r) => r.kind === "next").map((r) => ({ jobId: Number(r.id), runId: Number(r.run_id) })),
  };
}

/**
 * "Is the campaign done", the one place it is decided: an unfinished campaign (queued, running or
 * paused) is marked completed once none of its jobs is unfinished (queued, dialing or on a call).
 * Run after the job's own change has committed (a separate statement), so of two jobs ending at
 * once the later check sees both finished. Idempotent.
 */
export async function finishRunIfDone(db: Database, runId: number): Promise<boolean> {
  // With its campaign.finished webhook event (the outbox; the minute sweep delivers it).
  return db.transaction(async (tx) => {
    const result = await tx.execute(sql`
      UPDATE outbound_call_runs r
      SET status = 'completed', finished_at = now(), updated_at = now()
      WHERE r.id = ${runId} AND r.status IN (${sqlList(UNFINISHED_CAMPAIGN_STATUSES)})
        AND NOT EXISTS (
          SELECT 1 FROM outbound_call_jobs j
          WHERE j.run_id = r.id AND j.status IN (${sqlList(ACTIVE_JOB_STATUSES)}))
      RETURNING r.id, r.business_id, r.status, r.finished_at`);
    const row = result.rows[0] as
      | { id: number; business_id: number; status: string; finished_at: Date | string }
      | undefined;
    if (!row) return false;
    await emitWebhookEvent(tx, {
      businessId: Number(row.business_id),
      type: "campaign.finished",
      data: { campaign: { id: Number(row.id), status: row.status, finishedAt: new Date(row.finished_at) } },
    });
    return true;
  });
}

/** A user paused the campaign: no new claims (they need a dialing status); calls in progress finish. */
export async function pauseCampaignRun(db: Database, businessId: number, campaignId: number): Promise<boolean> {
  const result = await db.execute(sql`
    UPDATE outbound_call_runs SET status = 'paused', updated_at = now()
    WHERE id = ${campaignId} AND business_id = ${businessId} AND status IN (${sqlList(DIALING_CAMPAIGN_STATUSES)})`);
  return (result.rowCount ?? 0) > 0;
}

/**
 * Paused or failed → dialing again (queued if it never dialed, else running); a failed campaign's
 * error is cleared (its cause was fixed). Returns the ids and due delays (seconds) of its waiting
 * jobs to queue again, or null when the campaign was in neither status.
 */
export async function resumeCampaignRun(
  db: Database,
  businessId: number,
  campaignId: number,
): Promise<{ jobId: number; delaySeconds: number }[] | null> {
  const resumed = await db.execute(sql`
    UPDATE outbound_call_runs
    SET status = CASE WHEN started_at IS NULL THEN 'queued' ELSE 'running' END,
        last_error = CASE WHEN status = 'failed' THEN NULL ELSE last_error END,
        updated_at = now()
    WHERE id = ${campaignId} AND business_id = ${businessId} AND status IN ('paused', 'failed')`);
  if ((resumed.rowCount ?? 0) === 0) return null;
  const waiting = await db.execute<{ id: number; delay: number }>(sql`
    SELECT j.id, greatest(0, ceil(extract(epoch FROM (greatest(j.next_attempt_at, r.window_start) - now()))))::int AS delay
    FROM outbound_call_jobs j JOIN outbound_call_runs r ON r.id = j.run_id
    WHERE j.run_id = ${campaignId} AND j.status = 'queued' AND j.lock_token IS NULL`);
  return waiting.rows.map((r) => ({ jobId: Number(r.id), delaySeconds: Number(r.delay ?? 0) }));
}

/**
 * Cancels the campaign and its waiting jobs in one statement; calls in progress finish (their
 * jobs end by their status callbacks). Returns how many jobs were cancelled, or null when the
 * campaign was already finished.
 */
export async function cancelCampaignRun(db: Database, businessId: number, campaignId: number): Promise<number | null> {
  const result = await db.execute<{ id: number; cancelled_jobs: number }>(sql`
    WITH run AS (
      UPDATE outbound_call_runs SET status = 'cancelled', finished_at = now(), updated_at = now()
      WHERE id = ${campaignId} AND business_id = ${businessId}
        AND status IN (${sqlList([...UNFINISHED_CAMPAIGN_STATUSES, "failed"])})
      RETURNING id
    ),
    jobs AS (
      UPDATE outbound_call_jobs SET status = 'cancelled', last_error = 'the campaign was cancelled', completed_at = now(),
        updated_at = now()
      WHERE run_id IN (SELECT id FROM run) AND status = 'queued' AND lock_token IS NULL
      RETURNING id
    )
    SELECT id, (SELECT count(*)::int FROM jobs) AS cancelled_jobs FROM run`);
  const row = result.rows[0];
  return row ? Number(row.cancelled_jobs) : null;
}

/** A new campaign's jobs could not be queued: it fails with the reason (resuming queues them again). */
export async function failCampaignRun(db: Database, campaignId: number, reason: string): Promise<void> {
  await db.execute(sql`
    UPDATE outbound_call_runs SET status = 'failed', last_error = ${reason}, updated_at = now()
    WHERE id = ${campaignId} AND status IN (${sqlList(DIALING_CAMPAIGN_STATUSES)})`);
}

/**
 * The run cannot dial at all (PUBLIC_HOST or Twilio settings missing, no Twilio number): it fails
 * with the reason. Its queued jobs stay queued, so once the cause is fixed, resuming the run
 * dials them; nothing is dialed until then (claims need a queued or running run).
 */
export async function failRunOfJob(db: Database, jobId: number, reason: string): Promise<number | null> {
  const result = await db.execute<{ id: number }>(sql`
    UPDATE outbound_call_runs r
    SET status = 'failed', last_error = ${reason}, updated_at = now()
    WHERE r.id = (SELECT run_id FROM outbound_call_jobs WHERE id = ${jobId})
      AND r.status IN (${sqlList(DIALING_CAMPAIGN_STATUSES)})
    RETURNING r.id`);
  const row = result.rows[0];
  return row ? Number(row.id) : null;
}

/** The run's schedule window has closed: its jobs still waiting are cancelled, and the run finishes. */
export async function closeRunWindow(db: Database, runId: number): Promise<void> {
  await db.execute(sql`
    UPDATE outbound_call_jobs
    SET status = 'cancelled', last_error = 'the run''s schedule window ended', completed_at = now(), updated_at = now()
    WHERE run_id = ${runId} AND status = 'queued' AND lock_token IS NULL
      AND EXISTS (SELECT 1 FROM outbound_call_runs r WHERE r.id = ${runId} AND r.window_end <= now())`);
  await finishRunIfDone(db, runId);
}

/** Out of retries on the queue (dead-letter): the job fails with the reason, unless it was dialed meanwhile. */
export async function failDeadLetteredJob(
  db: Database,
  jobId: number,
  businessId: number,
  reason: string,
): Promise<number | null> {
  const result = await db.execute<{ run_id: number }>(sql`
    UPDATE outbound_call_jobs
    SET status = 'failed', last_error = ${reason}, completed_at = now(), updated_at = now()
    WHERE id = ${jobId} AND business_id = ${businessId} AND status = 'queued' AND lock_token IS NULL
      AND call_sid IS NULL
    RETURNING run_id`);
  const row = result.rows[0];
  return row ? Number(row.run_id) : null;
}
