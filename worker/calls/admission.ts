/**
 * The Worker's door to call admission: every caller (outbound service, inbound webhook, status
 * callbacks, bulk campaigns) reserves, confirms and releases call slots through here, never by
 * addressing the Durable Objects itself. Counts admissions and refusals for /metrics.
 */
import type {
  CallSlotsSnapshot,
  CallStatusResult,
  ConfirmResult,
  LeaseFreeReason,
  ReleaseResult,
  ReserveRequest,
  ReserveResult,
  UnknownOutcome,
} from "../../durable-objects/business/call-leases";
import type { HandOff } from "../../durable-objects/business/call-log-outbox";
import type { DialTurn, DialTurnRequest } from "../../durable-objects/business/dial-turns";
import type { InboundAnswer } from "../../durable-objects/business/inbound-calls";
import type { PaceResult } from "../../durable-objects/call-capacity/create-pacer";
import type { PlatformSnapshot } from "../../durable-objects/call-capacity/platform-slots";
import { businessObjectName, PLATFORM_CALLS_OBJECT_NAME } from "../../durable-objects/names";
import type { Config } from "../config";
import type { Env } from "../env";
import { callAdmissions, callRefusals } from "../metrics/calls";
import type { BusinessSettingsView } from "../services/settings";
import type { CallDialedWrite, CallLogUpdate } from "./status-callback";

export type {
  CallLease,
  CallRefusal,
  CallSlotsSnapshot,
  ConfirmResult,
  ReleaseResult,
  ReserveRequest,
  ReserveResult,
} from "../../durable-objects/business/call-leases";
export type { DialTurn, DialTurnRequest, HandOff, InboundAnswer };

export interface CallAdmission {
  reserve(req: ReserveRequest): Promise<ReserveResult>;
  confirm(leaseId: string, callSid: string): Promise<ConfirmResult>;
  /** By CallSid or lease id; idempotent. */
  release(ref: string, reason?: LeaseFreeReason): Promise<ReleaseResult>;
  snapshot(): Promise<CallSlotsSnapshot>;
  /** Twilio never answered the create: the slot stays held until the call is found or proven absent. */
  markUnknown(leaseId: string, outcome: UnknownOutcome): Promise<{ held: boolean }>;
  /** A status callback of a call we placed (by the lease its URL names): frees on terminal, adopts the CallSid otherwise. */
  callStatus(leaseId: string, callSid: string, status: string): Promise<CallStatusResult>;
  /** Keeps a call log update durably in the business's object until Postgres takes it. */
  deferCallLogUpdate(update: CallLogUpdate): Promise<void>;
  /**
   * A status callback: its slot (by the lease its URL names, else — inbound — by CallSid) and its
   * call log update, kept durably in the business's object until Postgres takes it (issue 16 #2):
   * written through the queue, or by the campaign dial the freed slot wakes.
   */
  recordCallStatus(leaseId: string | null, update: CallLogUpdate & { callSid: string }): Promise<CallStatusResult>;
  /** A dial applied the writes it was handed to Postgres (`applied` false: it could not; the object will). */
  ackCallLogWrites(ids: number[], applied?: boolean): Promise<void>;
  /** Twilio accepted a call we placed: confirm its lease and keep its CallSid (and campaign job) for the log. */
  confirmDial(leaseId: string, dialed: CallDialedWrite): Promise<ConfirmResult>;
  /**
   * A campaign job's turn to dial (issue 16 #4): a duplicate, a slot (its lease), or — every slot
   * taken — a wait as a standby until a call ends.
   */
  dialTurn(req: DialTurnRequest): Promise<DialTurn>;
  /**
   * An inbound call: the answer already given to its CallSid, or a slot or a refusal (the log row
   * kept until Postgres takes it); with the business's cached settings (greeting, inbound action),
   * or null when they could not be read (the caller answers with the defaults).
   */
  admitInbound(call: {
    callSid: string;
    from: string | null;
    to: string;
    status: string;
  }): Promise<{ answer: InboundAnswer; settings: BusinessSettingsView | null }>;
}

/** Call admission for one business (its BusinessDO, which consults the platform CallCapacityDO). */
export function callAdmission(env: Env, businessId: number): CallAdmission {
  const stub = env.BUSINESS_DO.getByName(businessObjectName(businessId));
  return {
    async reserve(req) {
      const result = (await stub.reserveCallSlot(businessId, req)) as ReserveResult;
      const source = req.source ?? (req.kind === "inbound" ? "inbound" : "direct");
      if (result.ok) callAdmissions.inc({ kind: req.kind, source });
      else callRefusals.inc({ kind: req.kind, cap: result.refusal.cap });
      return result;
    },
    confirm: async (leaseId, callSid) => (await stub.confirmCallSlot(businessId, leaseId, callSid)) as ConfirmResult,
    release: async (ref, reason) => (await stub.releaseCallSlot(businessId, ref, reason)) as ReleaseResult,
    snapshot: async () => (await stub.callSlotsSnapshot(businessId)) as CallSlotsSnapshot,
    markUnknown: async (leaseId, outcome) => await stub.markCallOutcomeUnknown(businessId, leaseId, outcome),
    callStatus: async (leaseId, callSid, status) =>
      (await stub.callStatus(businessId, leaseId, callSid, status)) as CallStatusResult,
    deferCallLogUpdate: async (update) => {
      await stub.deferCallLogUpdate(businessId, update);
    },
    recordCallStatus: async (leaseId, update) =>
      (await stub.recordCallStatus(businessId, leaseId, update)) as CallStatusResult,
    ackCallLogWrites: async (ids, applied = true) => {
      await stub.ackCallLogWrites(businessId, ids, applied);
    },
    confirmDial: async (leaseId, dialed) => (await stub.confirmDial(businessId, leaseId, dialed)) as ConfirmResult,
    async dialTurn(req) {
      const turn = (await stub.dialTurn(businessId, req)) as DialTurn;
      if (turn.go) callAdmissions.inc({ kind: "outbound", source: "bulk" });
      else if (turn.refusal) callRefusals.inc({ kind: "outbound", cap: turn.refusal.cap });
      return turn;
    },
    async admitInbound(call) {
      const result = (await stub.admitInboundCall(businessId, call)) as {
        answer: InboundAnswer;
        settings: BusinessSettingsView | null;
        fresh: boolean;
      };
      if (result.fresh) {
        if (result.answer.admitted) callAdmissions.inc({ kind: "inbound", source: "inbound" });
        else callRefusals.inc({ kind: "inbound", cap: "platform" });
      }
      return { answer: result.answer, settings: result.settings };
    },
  };
}

/**
 * A Twilio creation time within the account's calls per second (CallCapacityDO's pacer): a direct
 * call waits for its turn; a bulk dial gets a time within one interval, or `null` and when to come back.
 */
export async function paceTwilioCreate(
  env: Env,
  perSecond: number,
  source: "direct" | "bulk",
): Promise<{ retryAfterMs: number } | null> {
  const platform = env.CALL_CAPACITY_DO.getByName(PLATFORM_CALLS_OBJECT_NAME);
  const pace = (await platform.paceCreate(source, perSecond)) as PaceResult;
  if (!pace.ok) return { retryAfterMs: pace.retryAfterMs };
  if (pace.waitMs > 0) await new Promise((r) => setTimeout(r, pace.waitMs));
  return null;
}

/**
 * The pace creation times are handed out at: TWILIO_CALLS_PER_SECOND less 5% (the pacer keeps at
 * most CPS times in any window of 1/0.95 s: durable-objects/call-capacity/create-pacer.ts). Twilio
 * counts calls as they arrive; between a creation time and the request reaching Twilio lie a
 * database round trip and the network, whose spread (tens of ms, measured by bench:campaign) would
 * otherwise let CPS + 1 creations land within one second. The window's 53 ms absorb that.
 */
/**
 * A creation time is kept only if the create goes out within this of it; later (the database was
 * slow), the caller takes a new time. With the 5% above, creations never land closer than the pace
 * allows: at most TWILIO_CALLS_PER_SECOND in any second, as Twilio counts them.
 */
export const CREATE_TURN_LATENESS_MS = 40;

export function pacedCreatesPerSecond(config: Pick<Config, "TWILIO_CALLS_PER_SECOND">): number {
  return config.TWILIO_CALLS_PER_SECOND * 0.95;
}

/**
 * A Twilio creation time (CallCapacityDO's pacer) without waiting for it: the caller waits `waitMs`
 * itself, doing its own work meanwhile (a campaign dial claims its job during the wait).
 */
export async function takeCreateTurn(
  env: Env,
  perSecond: number,
  source: "direct" | "bulk",
  /** A time this caller was given and was late for (PaceResult's `at`): taken back if no one came after it. */
  missed?: number,
): Promise<PaceResult> {
  const platform = env.CALL_CAPACITY_DO.getByName(PLATFORM_CALLS_OBJECT_NAME);
  return (await platform.paceCreate(source, perSecond, missed)) as PaceResult;
}

/** Platform-wide slots: total, by business and kind, the cap, frees by reason. */
export async function platformCallSnapshot(env: Env): Promise<PlatformSnapshot> {
  return (await env.CALL_CAPACITY_DO.getByName(PLATFORM_CALLS_OBJECT_NAME).snapshot()) as PlatformSnapshot;
}
