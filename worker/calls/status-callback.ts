/**
 * What call log writes do to Postgres — a status update and, when it made the call terminal, the
 * call-ended hooks; a dialed call's CallSid; an inbound call's row — shared by the BusinessDO's
 * call-log outbox (which holds the status callbacks, dials and inbound calls until Postgres takes
 * them: durable-objects/business/call-log-outbox.ts) and the routes' fallbacks.
 *
 * The status callback URL of an outbound call we place names its business, call log and lease
 * (`statusCallbackUrl`). Twilio signs the whole URL (we verify against https://PUBLIC_HOST + path +
 * query), so those parameters are as trustworthy as the callback itself, and the route can reach
 * the business's object — and free the slot — before and without Postgres.
 */

import { and, eq, isNull, sql } from "drizzle-orm";
import type {
  CallDialedWrite,
  CallLogUpdate,
  CallLogWrite,
  InboundCallWrite,
} from "../../durable-objects/business/call-log-outbox";
import { markDialed } from "../campaigns/jobs";
import type { Config } from "../config";
import type { Database, Executor } from "../db/client";
import { callLogs, leads } from "../db/schema";
import type { Env } from "../env";
import { publishLive } from "../live/publish";
import { cachedSubscriptions, type EnabledSubscriptions, emitWebhookEvent, kickDeliveries } from "../webhooks/outbox";
import { type AfterCallEnded, callEndedInTransaction } from "./call-ended";
import { applyStatusUpdate, type StatusUpdateResult } from "./call-logs";
import { isTerminalStatus, REJECTED_STATUS } from "./call-status";

/** Call log writes, JSON-safe: they may wait in the BusinessDO's outbox (which owns their shape). */
export type { CallDialedWrite, CallLogUpdate, CallLogWrite, InboundCallWrite };

/** One update on its own (the unknown-outcome settlements, the route's fallback): its own transaction. */
export async function recordCallLogUpdate(
  db: Database,
  env: Env,
  _config: Config,
  u: CallLogUpdate,
): Promise<StatusUpdateResult> {
  return (await recordCallLogWrites(db, env, [u]))[0]!;
}

/**
 * Applies writes in order in ONE transaction (with each call end's webhook event and its campaign
 * job: the outbox pattern), then — once committed — queues what follows (next dials, retries,
 * webhook deliveries, the campaign's completion) and tells open dashboards. Returns, per status
 * update, what it did (other writes: a placeholder).
 */
export async function recordCallLogWrites(
  db: Database,
  env: Env,
  writes: readonly CallLogWrite[],
): Promise<StatusUpdateResult[]> {
  const { results, subscribers, after, changed } = await db.transaction(async (tx) => {
    const subscriptions = cachedSubscriptions(tx);
    const results: StatusUpdateResult[] = [];
    const subscribers: number[] = [];
    const after: AfterCallEnded[] = [];
    /** Logs a dashboard should refetch: callLogId → business and latest status. */
    const changed = new Map<number, { businessId: number; status: string }>();
    for (const w of writes) {
      if (w.kind === "inbound") {
        const row = await insertInboundLog(tx, w);
        if (row) changed.set(row.id, { businessId: row.businessId, status: row.status });
        results.push({ row: null, applied: row !== null, becameTerminal: false });
        continue;
      }
      if (w.kind === "dialed") {
        await storeDialed(tx, w);
        results.push({ row: null, applied: true, becameTerminal: false });
        continue;
      }
      const result = await applyUpdate(tx, w, subscriptions, subscribers, after);
      if (result.row && result.applied) changed.set(result.row.id, result.row);
      results.push(result);
    }
    return { results, subscribers, after, changed };
  });
  await kickDeliveries(env, subscribers);
  for (const next of after) await next(db, env);
  // After the log and the call-ended work (campaign job, next dials) committed: open dashboards
  // refetch the log, the gauge and campaign progress.
  for (const [callLogId, c] of changed)
    await publishLive(env, c.businessId, { type: "calls", callLogId, status: c.status });
  return results;
}

async function applyUpdate(
  tx: Executor,
  u: CallLogUpdate,
  subscriptions: EnabledSubscriptions,
  subscribers: number[],
  after: AfterCallEnded[],
): Promise<StatusUpdateResult> {
  const result = await applyStatusUpdate(tx, {
    callSid: u.callSid,
    status: u.status,
    sequenceNumber: u.sequenceNumber,
    durationSeconds: u.durationSeconds,
    at: u.at ? new Date(u.at) : null,
    callLogId: u.callLogId,
    reason: u.reason,
  });
  const row = result.row;
  if (row && result.becameTerminal)
    subscribers.push(
      ...(await emitWebhookEvent(
        tx,
        { businessId: row.businessId, type: "call.ended", data: callEndedData(row) },
        subscriptions,
      )),
    );
  if (row && isTerminalStatus(u.status) && isTerminalStatus(row.status)) {
    const next = await callEndedInTransaction(tx, row, result.becameTerminal);
    if (next) after.push(next);
  }
  return result;
}

/** Twilio accepted the call: its CallSid on the log, and its campaign job on a call (as markDialed). */
async function storeDialed(tx: Executor, w: CallDialedWrite): Promise<void> {
  await tx
    .update(callLogs)
    .set({ callSid: sql`COALESCE(${callLogs.callSid}, ${w.callSid})`, updatedAt: sql`now()` })
    .where(eq(callLogs.id, w.callLogId));
  if (w.job) await markDialed(tx, w.job.id, w.job.lockToken, w.callSid);
}

/** An inbound call's row (its lead by the caller's number); a repeat changes nothing. */
async function insertInboundLog(
  tx: Executor,
  w: InboundCallWrite,
): Promise<{ id: number; businessId: number; status: string } | null> {
  const at = new Date(w.at);
  const rejected = w.status === REJECTED_STATUS;
  // A refused call is not linked to a lead (as before): no lookup on that path.
  const [lead] =
    w.from && !rejected
      ? await tx
          .select({ id: leads.id })
          .from(leads)
          .where(and(eq(leads.businessId, w.businessId), eq(leads.phoneE164, w.from), isNull(leads.deletedAt)))
          .limit(1)
      : [];
  const [row] = await tx
    .insert(callLogs)
    .values({
      businessId: w.businessId,
      direction: "inbound",
      source: "inbound",
      callSid: w.callSid,
      fromNumber: w.from,
      toNumber: w.to,
      leadId: lead?.id ?? null,
      status: w.status,
      leaseId: w.leaseId,
      reason: w.reason,
      startedAt: rejected ? null : at,
      endedAt: rejected ? at : null,
    })
    .onConflictDoNothing()
    .returning({ id: callLogs.id, businessId: callLogs.businessId, status: callLogs.status });
  return row ?? null;
}

function callEndedData(row: NonNullable<StatusUpdateResult["row"]>) {
  return {
    call: {
      id: row.id,
      callSid: row.callSid,
      direction: row.direction,
      source: row.source,
      leadId: row.leadId,
      from: row.fromNumber,
      to: row.toNumber,
      outcome: row.status,
      durationSeconds: row.durationSeconds,
      startedAt: row.startedAt,
      endedAt: row.endedAt,
      recordingAvailable: Boolean(row.recordingSid || row.recordingUrl),
    },
  };
}

/** The parameters an outbound call's status callback URL carries (see the header). */
export interface CallbackRef {
  businessId: number;
  callLogId: number;
  leaseId: string;
}

export function statusCallbackUrl(publicHost: string, ref: CallbackRef): string {
  const q = new URLSearchParams({
    callLogId: String(ref.callLogId),
    businessId: String(ref.businessId),
    leaseId: ref.leaseId,
  });
  return `https://${publicHost}/twilio/voice/status?${q}`;
}

const positiveId = (v: string | undefined): number | null => {
  const n = Number(v);
  return v && Number.isSafeInteger(n) && n > 0 && n <= 2 ** 31 - 1 ? n : null;
};

/** Reads the reference back from a (verified) callback's query; partial or absent → only what is there. */
export function callbackRefOf(query: Record<string, string | undefined>): {
  callLogId: number | null;
  ref: CallbackRef | null;
} {
  const callLogId = positiveId(query.callLogId);
  const businessId = positiveId(query.businessId);
  const leaseId = query.leaseId && /^[0-9a-f-]{36}$/i.test(query.leaseId) ? query.leaseId : null;
  return { callLogId, ref: callLogId && businessId && leaseId ? { callLogId, businessId, leaseId } : null };
}
