/**
 * call_logs updates driven by Twilio callbacks. Each is one atomic UPDATE, so concurrent and
 * repeated callbacks are safe: a status applies only if the log is not terminal yet and the
 * callback is newer (its SequenceNumber is higher, or — without one — its status is further along).
 * Terminal statuses never regress.
 */
import { and, eq, isNull, or, type SQL, sql } from "drizzle-orm";
import type { Database, Executor } from "../db/client";
import { callLogs } from "../db/schema";
import type { CallLogRow } from "./call-ended";
import {
  isTerminalStatus,
  REJECTED_STATUS,
  statusRank,
  TERMINAL_CALL_STATUSES,
  UNKNOWN_OUTCOME_STATUS,
} from "./call-status";

export interface StatusUpdate {
  /** Null only when we settle a log whose call was never created (found by `callLogId`). */
  callSid: string | null;
  status: string;
  sequenceNumber: number | null;
  durationSeconds: number | null;
  /** Twilio's Timestamp of the event, when it sent a valid one. */
  at: Date | null;
  /** Our call log id from the status callback URL (outbound calls): finds the log before its CallSid is saved. */
  callLogId: number | null;
  /** Why, for our own settlements (e.g. an unknown create proven never placed). */
  reason?: string | null;
}

export interface StatusUpdateResult {
  /** The call log after the update (or as it was, when the update did not apply); null if unknown. */
  row: CallLogRow | null;
  applied: boolean;
  /** This update moved the log to a terminal status. */
  becameTerminal: boolean;
}

const terminalList = sql.join(
  [...TERMINAL_CALL_STATUSES, REJECTED_STATUS].map((s) => sql`${s}`),
  sql`, `,
);
const storedRank = sql`(CASE ${callLogs.status} WHEN 'queued' THEN 0 WHEN ${UNKNOWN_OUTCOME_STATUS} THEN 0 WHEN 'initiated' THEN 1 WHEN 'ringing' THEN 2 WHEN 'in-progress' THEN 3 ELSE 4 END)`;

function matchCall(callSid: string | null, callLogId: number | null): SQL {
  const byId = callLogId === null ? null : and(eq(callLogs.id, callLogId), isNull(callLogs.callSid))!;
  if (callSid === null) return byId ?? sql`false`;
  const bySid = eq(callLogs.callSid, callSid);
  return byId === null ? bySid : or(bySid, byId)!;
}

export async function applyStatusUpdate(db: Executor, u: StatusUpdate): Promise<StatusUpdateResult> {
  const at = u.at ?? new Date();
  const terminal = isTerminalStatus(u.status);
  const rank = statusRank(u.status);
  const newer =
    u.sequenceNumber === null
      ? sql`${storedRank} < ${rank}`
      : sql`${callLogs.sequenceNumber} < ${u.sequenceNumber} AND ${storedRank} <= ${rank}`;
  const [updated] = await db
    .update(callLogs)
    .set({
      status: u.status,
      callSid: sql`COALESCE(${callLogs.callSid}, ${u.callSid})`,
      sequenceNumber: u.sequenceNumber === null ? sql`${callLogs.sequenceNumber}` : u.sequenceNumber,
      startedAt: rank >= 1 ? sql`COALESCE(${callLogs.startedAt}, ${at})` : sql`${callLogs.startedAt}`,
      answeredAt:
        u.status === "in-progress" ? sql`COALESCE(${callLogs.answeredAt}, ${at})` : sql`${callLogs.answeredAt}`,
      endedAt: terminal ? sql`COALESCE(${callLogs.endedAt}, ${at})` : sql`${callLogs.endedAt}`,
      durationSeconds: u.durationSeconds ?? sql`${callLogs.durationSeconds}`,
      reason: u.reason ?? sql`${callLogs.reason}`,
      updatedAt: sql`now()`,
    })
    .where(and(matchCall(u.callSid, u.callLogId), sql`${callLogs.status} NOT IN (${terminalList})`, newer))
    .returning();
  if (updated) return { row: updated, applied: true, becameTerminal: terminal };
  const [row] = await db.select().from(callLogs).where(matchCall(u.callSid, u.callLogId)).limit(1);
  return { row: row ?? null, applied: false, becameTerminal: false };
}

export interface RecordingUpdate {
  callSid: string;
  recordingSid: string | null;
  recordingUrl: string | null;
  durationSeconds: number | null;
}

/** Stores the recording reference on the call's log; repeated callbacks leave it as it is. */
export async function applyRecording(db: Database, r: RecordingUpdate): Promise<CallLogRow | null> {
  const [row] = await db
    .update(callLogs)
    .set({
      recordingSid: sql`COALESCE(${r.recordingSid}::text, ${callLogs.recordingSid})`,
      recordingUrl: sql`COALESCE(${r.recordingUrl}::text, ${callLogs.recordingUrl})`,
      recordingDurationSeconds: sql`COALESCE(${r.durationSeconds}::int, ${callLogs.recordingDurationSeconds})`,
      updatedAt: sql`now()`,
    })
    .where(eq(callLogs.callSid, r.callSid))
    .returning();
  return row ?? null;
}
