/**
 * What a call status does to Postgres — the call log update and, when it made the call terminal,
 * the call-ended hooks — in one function shared by the status callback route and the BusinessDO's
 * call-log outbox (which applies the updates the route could not write while Postgres was down,
 * and the settlements of unknown call outcomes).
 *
 * The status callback URL of an outbound call we place names its business, call log and lease
 * (`statusCallbackUrl`). Twilio signs the whole URL (we verify against https://PUBLIC_HOST + path +
 * query), so those parameters are as trustworthy as the callback itself, and the route can reach
 * the business's object — and free the slot — before and without Postgres.
 */

import type { CallLogUpdate } from "../../durable-objects/business/call-log-outbox";
import type { Config } from "../config";
import type { Database } from "../db/client";
import type { Env } from "../env";
import { publishLive } from "../live/publish";
import { emitWebhookEvent, kickDeliveries } from "../webhooks/outbox";
import { runCallEndedHooks } from "./call-ended";
import { applyStatusUpdate, type StatusUpdateResult } from "./call-logs";
import { isTerminalStatus } from "./call-status";

/** A call log update, JSON-safe: it may wait in the BusinessDO's outbox (which owns its shape). */
export type { CallLogUpdate };

export async function recordCallLogUpdate(
  db: Database,
  env: Env,
  config: Config,
  u: CallLogUpdate,
): Promise<StatusUpdateResult> {
  // The status and the call.ended webhook event commit together (the outbox).
  const { result, subscribers } = await db.transaction(async (tx) => {
    const result = await applyStatusUpdate(tx, {
      callSid: u.callSid,
      status: u.status,
      sequenceNumber: u.sequenceNumber,
      durationSeconds: u.durationSeconds,
      at: u.at ? new Date(u.at) : null,
      callLogId: u.callLogId,
      reason: u.reason,
    });
    const ended = result.row && result.becameTerminal ? result.row : null;
    const subscribers = ended
      ? await emitWebhookEvent(tx, { businessId: ended.businessId, type: "call.ended", data: callEndedData(ended) })
      : [];
    return { result, subscribers };
  });
  await kickDeliveries(env, subscribers);
  const row = result.row;
  if (row && isTerminalStatus(u.status) && isTerminalStatus(row.status)) {
    await runCallEndedHooks({ row, firstTime: result.becameTerminal, db, env, config });
  }
  // After the log and the call-ended work (campaign job, next dials) committed: open dashboards
  // refetch the log, the gauge and campaign progress.
  if (row && result.applied)
    await publishLive(env, row.businessId, { type: "calls", callLogId: row.id, status: row.status });
  return result;
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
