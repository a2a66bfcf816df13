/**
 * Placing one outbound call — the one path for direct calls (POST /api/calls) and bulk campaigns:
 *
 *   PUBLIC_HOST and Twilio credentials present (else ConfigError: nothing reserved, no call made)
 *   → reserve a slot (business cap shared by direct and bulk, then the platform cap)
 *   → a Twilio creation turn (TWILIO_CALLS_PER_SECOND; direct calls first) — bulk without a turn: refusal
 *   → call log row (status `queued`, lease id)            — refusal: a typed result, no row
 *   → Twilio createCall (status callback carries the call log id)
 *   → confirm the lease with the CallSid, save the CallSid on the log.
 * If Twilio refuses (an HTTP error answer), the slot is released, the log says `failed` with Twilio's
 * reason, and an OutboundCallError says whether retrying may help. If Twilio's answer never comes
 * (timeout, connection cut, no answer we can read), the call may exist: the outcome is unknown. The
 * slot and lease stay held, the log says `unknown`, and the error is not retryable — nothing may
 * dial again. The call's first status callback (its URL names the log and the lease) or the
 * lease sweep asking Twilio settles it (durable-objects/business/call-leases.ts).
 *
 * The log row is written before dialing (not after) so a status callback that beats the confirm
 * still finds its call (by the id in its URL), and a crash mid-way leaves a record.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import type { CallRefusal } from "../../durable-objects/business/call-leases";
import { type Config, ConfigError, requirePublicHost } from "../config";
import type { Database } from "../db/client";
import { callLogs, leads } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { log } from "../lib/log";
import { isE164 } from "../services/phones";
import {
  type CallAdmission,
  type ConfirmResult,
  CREATE_TURN_LATENESS_MS,
  callAdmission,
  pacedCreatesPerSecond,
  paceTwilioCreate,
} from "./admission";
import { businessForCalls } from "./call-business";
import { UNKNOWN_OUTCOME_STATUS } from "./call-status";
import { statusCallbackUrl } from "./status-callback";
import { type CreateCallInput, TwilioApiError, type TwilioCall, twilioClient } from "./twilio-client";
import { hangup, twimlResponse } from "./twiml";
import { sayGreeting, voiceLanguage } from "./voice-prompts";

export interface PlaceOutboundCallInput {
  db: Database;
  env: Env;
  config: Config;
  businessId: number;
  /** The lead being called (must belong to the business), or null for a number without a lead. */
  leadId: number | null;
  /** E.164, e.g. +972501234567. */
  toNumber: string;
  source: "direct" | "bulk";
  createdByUserId?: number | null;
  /** Bulk campaigns: the job this call belongs to (stored on the call log for the call-ended hook). */
  outboundJobId?: number | null;
  /**
   * What the callee hears once the call is answered (inline TwiML or a URL Twilio fetches).
   * Default: the business's greeting, then hang up — the conversation flow is not part of admission.
   */
  answer?: CreateCallInput["answer"];
}

export type PlaceOutboundCallResult =
  | { ok: true; callLogId: number; callSid: string; leaseId: string; twilioStatus: string }
  | { ok: false; refusal: CallRefusal };

export type OutboundCallErrorCode =
  | "invalid_number"
  | "business_not_found"
  | "no_twilio_number"
  | "lead_not_found"
  | "twilio_rejected"
  | "twilio_unavailable"
  /** Twilio's answer to the create never came: the call may exist. Never retryable. */
  | "twilio_unknown_outcome";

export class OutboundCallError extends Error {
  override readonly name = "OutboundCallError";
  constructor(
    readonly code: OutboundCallErrorCode,
    message: string,
    /** Whether the same call may succeed later (Twilio 5xx/429/network), e.g. for a bulk job retry. */
    readonly retryable: boolean,
    /** The call log recording the failed attempt, when one was written. */
    readonly callLogId: number | null = null,
    readonly twilio: { httpStatus: number | null; code: number | null; message: string } | null = null,
  ) {
    super(message);
  }
}

const CONFIRM_ATTEMPTS = 3;

export async function placeOutboundCall(input: PlaceOutboundCallInput): Promise<PlaceOutboundCallResult> {
  const { db, env, config, businessId, source } = input;
  // Both fail fast (ConfigError) before anything is reserved.
  requirePublicHost(config);
  twilioClient(config);
  if (!isE164(input.toNumber)) {
    throw new OutboundCallError("invalid_number", `toNumber must be E.164 (e.g. +972501234567)`, false);
  }
  const business = await businessForCalls(db, businessId);
  if (!business) throw new OutboundCallError("business_not_found", `business ${businessId} not found`, false);
  if (!business.twilioNumber) {
    throw new OutboundCallError("no_twilio_number", "the business has no Twilio number to call from", false);
  }
  if (input.leadId !== null) {
    const [lead] = await db
      .select({ id: leads.id })
      .from(leads)
      .where(and(eq(leads.id, input.leadId), eq(leads.businessId, businessId), isNull(leads.deletedAt)))
      .limit(1);
    if (!lead) throw new OutboundCallError("lead_not_found", `lead ${input.leadId} not found`, false);
  }

  const admission = callAdmission(env, businessId);
  const reserved = await admission.reserve({
    kind: "outbound",
    source,
    businessCap: business.outboundCallCap ?? undefined,
  });
  const fields = { businessId, leadId: input.leadId, source };
  if (!reserved.ok) {
    log.info("outbound call refused at capacity", { ...fields, ...reserved.refusal });
    return { ok: false, refusal: reserved.refusal };
  }
  const { leaseId } = reserved.lease;
  const release = () =>
    admission.release(leaseId).catch((err) =>
      // The lease then ends at its ring timeout (no CallSid): nothing leaks for long.
      log.error("could not release a call slot; the sweep will", { ...fields, leaseId, error: String(err) }),
    );

  // Twilio's calls per second for the account: a direct call waits its turn; a bulk dial without a
  // turn soon gives its slot back and is refused like at capacity (the campaign waits and retries).
  let paced: { retryAfterMs: number } | null;
  try {
    paced = await paceTwilioCreate(env, pacedCreatesPerSecond(config), source);
  } catch (err) {
    await release();
    throw err;
  }
  let pacedAt = Date.now();
  if (paced) {
    await release();
    const limit = config.TWILIO_CALLS_PER_SECOND;
    const refusal: CallRefusal = {
      cap: "rate",
      active: limit,
      limit,
      message: `Twilio's ${limit} call creations per second are taken; next in ${paced.retryAfterMs} ms`,
    };
    log.info("bulk dial waits for Twilio's calls per second", { ...fields, retryAfterMs: paced.retryAfterMs });
    return { ok: false, refusal };
  }

  let callLogId: number;
  try {
    const [row] = await db
      .insert(callLogs)
      .values({
        businessId,
        leadId: input.leadId,
        direction: "outbound",
        source,
        leaseId,
        fromNumber: business.twilioNumber,
        toNumber: input.toNumber,
        status: "queued",
        createdByUserId: input.createdByUserId ?? null,
        outboundJobId: input.outboundJobId ?? null,
      })
      .returning({ id: callLogs.id });
    callLogId = row!.id;
  } catch (err) {
    await release();
    throw err;
  }

  // Late for the creation time (a slow insert): take a new one, so creations stay 1/CPS apart.
  while (Date.now() > pacedAt + CREATE_TURN_LATENESS_MS) {
    let again: { retryAfterMs: number } | null;
    try {
      again = await paceTwilioCreate(env, pacedCreatesPerSecond(config), source);
    } catch (err) {
      again = { retryAfterMs: 1000 };
      log.warn("could not take a new creation time", { ...fields, error: String(err) });
    }
    if (again) {
      // A bulk dial without a new time gives its slot and its log back (nothing was asked of Twilio).
      await release();
      await db.delete(callLogs).where(and(eq(callLogs.id, callLogId), eq(callLogs.status, "queued")));
      const limit = config.TWILIO_CALLS_PER_SECOND;
      return {
        ok: false,
        refusal: {
          cap: "rate",
          active: limit,
          limit,
          message: `Twilio's ${limit} call creations per second are taken; next in ${again.retryAfterMs} ms`,
        },
      };
    }
    pacedAt = Date.now();
  }

  const call = await createReservedCall({
    db,
    config,
    admission,
    release,
    fields,
    callLogId,
    leaseId,
    businessId,
    to: input.toNumber,
    from: business.twilioNumber,
    answer: input.answer ?? {
      twiml: twimlResponse(sayGreeting(voiceLanguage(business.locale), business.name, business.greetingText), hangup()),
    },
    confirm: (callSid) => admission.confirm(leaseId, callSid),
  });
  await db
    .update(callLogs)
    .set({ callSid: sql`COALESCE(${callLogs.callSid}, ${call.sid})`, updatedAt: new Date() })
    .where(eq(callLogs.id, callLogId));
  log.info("outbound call placed", { ...fields, callLogId, leaseId, callSid: call.sid });
  return { ok: true, callLogId, callSid: call.sid, leaseId, twilioStatus: call.status };
}

/**
 * Twilio's create for a call whose slot is reserved and whose log (`queued`) is written, then its
 * lease confirmed — shared by direct calls and campaign dials (worker/campaigns/dial.ts), which
 * differ only in how they confirm (a campaign dial also hands its CallSid to the business's object
 * for the log, instead of writing it here). Errors as placeOutboundCall's header says: a Twilio
 * refusal frees the slot and fails the log; no answer keeps the slot and marks the outcome unknown.
 */
export async function createReservedCall(a: {
  db: Database;
  config: Config;
  admission: CallAdmission;
  release: () => Promise<unknown>;
  fields: Record<string, unknown>;
  callLogId: number;
  leaseId: string;
  businessId: number;
  to: string;
  from: string;
  answer: CreateCallInput["answer"];
  confirm: (callSid: string) => Promise<ConfirmResult>;
}): Promise<TwilioCall> {
  const { db, config, admission, fields, callLogId, leaseId } = a;
  const host = requirePublicHost(config);
  let call: TwilioCall;
  try {
    call = await twilioClient(config).createCall({
      to: a.to,
      from: a.from,
      statusCallback: statusCallbackUrl(host, { businessId: a.businessId, callLogId, leaseId }),
      answer: a.answer,
      ringTimeoutSeconds: config.CALL_RING_TIMEOUT_SECONDS,
      timeLimitSeconds: config.CALL_TIME_LIMIT_SECONDS,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (!(err instanceof TwilioApiError) || err.httpStatus === null) {
      // No answer we can trust: Twilio may have created the call. Keep the slot; never redial.
      await unknownOutcome({ db, admission, fields, callLogId, leaseId, to: a.to, from: a.from, reason });
      throw new OutboundCallError(
        "twilio_unknown_outcome",
        `Twilio did not answer the create, so the call may have been placed; it is not retried: ${reason}`,
        false,
        callLogId,
        { httpStatus: null, code: null, message: reason },
      );
    }
    await a.release();
    await db
      .update(callLogs)
      .set({ status: "failed", reason, endedAt: new Date(), updatedAt: new Date() })
      .where(and(eq(callLogs.id, callLogId), eq(callLogs.status, "queued")));
    log.warn("outbound call not placed: Twilio failed", { ...fields, callLogId, leaseId, error: reason });
    throw new OutboundCallError(
      err.retryable ? "twilio_unavailable" : "twilio_rejected",
      `Twilio did not place the call: ${err.message}`,
      err.retryable,
      callLogId,
      { httpStatus: err.httpStatus, code: err.twilioCode, message: err.message },
    );
  }

  // The call exists now: its slot must be confirmed, or it would be freed at the ring timeout.
  for (let attempt = 1; ; attempt++) {
    try {
      const confirmed = await a.confirm(call.sid);
      if (!confirmed.confirmed)
        log.info("call ended before its lease was confirmed", { ...fields, leaseId, ...confirmed });
      break;
    } catch (err) {
      if (attempt >= CONFIRM_ATTEMPTS) {
        log.error("could not confirm a call's lease; its slot frees at the ring timeout", {
          ...fields,
          leaseId,
          callSid: call.sid,
          error: String(err),
        });
        break;
      }
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
  return call;
}

/** The create's outcome is unknown: lease marked (slot kept), log `unknown` with the reason. */
async function unknownOutcome(a: {
  db: Database;
  admission: CallAdmission;
  fields: Record<string, unknown>;
  callLogId: number;
  leaseId: string;
  to: string;
  from: string;
  reason: string;
}): Promise<void> {
  try {
    await a.admission.markUnknown(a.leaseId, { callLogId: a.callLogId, to: a.to, from: a.from });
  } catch (err) {
    // The lease then ends at its ring timeout as unconfirmed; its callback (URL names it) still finds the log.
    log.error("could not mark a call's outcome unknown", { ...a.fields, leaseId: a.leaseId, error: String(err) });
  }
  await a.db
    .update(callLogs)
    .set({ status: UNKNOWN_OUTCOME_STATUS, reason: a.reason, updatedAt: new Date() })
    .where(and(eq(callLogs.id, a.callLogId), eq(callLogs.status, "queued")));
  log.warn("outbound call outcome unknown: Twilio did not answer the create; slot kept", {
    ...a.fields,
    callLogId: a.callLogId,
    leaseId: a.leaseId,
    error: a.reason,
  });
}

/**
 * How a route answers a refusal or an error of `placeOutboundCall`, in the one error shape:
 * refusal → 409 `call_capacity_reached` (which cap, how many active); missing PUBLIC_HOST or
 * Twilio credentials → 503 naming the variable; bad input → 400/404/409; Twilio → 502.
 */
export function refusalToApiError(refusal: CallRefusal): ApiError {
  return new ApiError(
    "call_capacity_reached",
    `No call slot: ${refusal.message}`,
    { cap: refusal.cap, active: refusal.active, limit: refusal.limit },
    409,
    { "Retry-After": "30" },
  );
}

export function outboundCallErrorToApiError(err: unknown): ApiError | null {
  if (err instanceof ConfigError) {
    const variables = err.issues.map((i) => i.variable);
    return new ApiError("service_unavailable", `Calls are unavailable: ${err.message}`, { variables }, 503);
  }
  if (!(err instanceof OutboundCallError)) return null;
  switch (err.code) {
    case "invalid_number":
      return new ApiError("validation_failed", err.message, { fields: [{ field: "toNumber", message: err.message }] });
    case "business_not_found":
    case "lead_not_found":
      return new ApiError("not_found", err.message);
    case "no_twilio_number":
      return new ApiError("conflict", err.message);
    case "twilio_unknown_outcome":
      return new ApiError(
        "upstream_failed",
        `${err.message}. Its call log says 'unknown' until Twilio's status callback or a check settles it.`,
        { retryable: false, outcome: "unknown", callLogId: err.callLogId, twilioCode: null },
        502,
      );
    case "twilio_rejected":
    case "twilio_unavailable":
      return new ApiError(
        "upstream_failed",
        err.message,
        { retryable: err.retryable, callLogId: err.callLogId, twilioCode: err.twilio?.code ?? null },
        502,
      );
  }
}
