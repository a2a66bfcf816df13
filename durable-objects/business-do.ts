/**
 * One object per business (named `business:<id>`). It is the serialisation point for everything
 * that must hold per business under races: call-slot leases, the WhatsApp shard assignment and its
 * fencing token, send throttles, and the settings cache. Each concern lives in its own SQLite
 * table created here; the RPC methods are added by the parts that own them.
 */
import { DurableObject } from "cloudflare:workers";
import type { CallLogUpdate } from "../worker/calls/status-callback";
import { getConfig } from "../worker/config";
import { withDb } from "../worker/db/client";
import type { Env } from "../worker/env";
import { type BusinessSettingsView, loadSettings } from "../worker/services/settings";
import {
  CallLeases,
  type CallSlotsSnapshot,
  type CallStatusResult,
  type ConfirmResult,
  type LeaseFreeReason,
  type ReleaseResult,
  type ReserveRequest,
  type ReserveResult,
  type UnknownOutcome,
} from "./business/call-leases";
import { type Permit, type SendState, SendThrottle, type ThrottlePolicy } from "./business/send-throttle";
import { SettingsCache } from "./business/settings-cache";
import { type Assignment, ShardAssignment } from "./business/shard-assignment";

/** How long cached settings live without an invalidation. */
const SETTINGS_TTL_MS = 60_000;

export class BusinessDO extends DurableObject<Env> {
  protected readonly sql: SqlStorage;
  /** Call-slot leases (issue 4): the logic lives in ./business/call-leases.ts. */
  private readonly calls: CallLeases;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    this.calls = new CallLeases(ctx, env, () => {
      const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'business_id'").toArray()[0];
      return row ? Number(row.value) : null;
    });
  }

  private settingsCache: SettingsCache<BusinessSettingsView> | null = null;

  /** The business's settings, cached here (TTL, invalidated on update). `nowMs` is for tests. */
  async settings(businessId: number, nowMs?: number): Promise<BusinessSettingsView> {
    this.identify(businessId);
    this.settingsCache ??= new SettingsCache(
      () => withDb(getConfig(this.env), (db) => loadSettings(db, businessId)),
      SETTINGS_TTL_MS,
    );
    return this.settingsCache.get(nowMs);
  }

  /** Drops the cached settings; the next read loads them from Postgres. */
  invalidateSettings(businessId: number): void {
    this.identify(businessId);
    this.settingsCache?.invalidate();
  }

  /** Binds this object to its business id on first use and refuses a different one after. */
  identify(businessId: number): number {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'business_id'").toArray()[0];
    if (row && Number(row.value) !== businessId) {
      throw new Error(`BusinessDO for business ${row.value} was addressed as business ${businessId}`);
    }
    if (!row) this.sql.exec("INSERT INTO meta (key, value) VALUES ('business_id', ?)", String(businessId));
    return businessId;
  }

  // ---- Calls: call-slot leases (see ./business/call-leases.ts for why admission holds under races) ----

  /** A call slot for this business: a lease, or a refusal naming the cap (business or platform) and how many are active. */
  reserveCallSlot(businessId: number, req: ReserveRequest): Promise<ReserveResult> {
    this.identify(businessId);
    return this.calls.reserve(businessId, req);
  }

  /** Attaches Twilio's CallSid once Twilio accepted the call; the lease then lives for the call's full length. */
  confirmCallSlot(businessId: number, leaseId: string, callSid: string): Promise<ConfirmResult> {
    this.identify(businessId);
    return this.calls.confirm(leaseId, callSid);
  }

  /** Frees the slot held by a CallSid or lease id (its platform slot follows in the background). Idempotent. */
  releaseCallSlot(businessId: number, ref: string, reason?: LeaseFreeReason): ReleaseResult {
    this.identify(businessId);
    return this.calls.release(ref, reason);
  }

  /** Twilio never answered the create: keep the slot until the call is found or proven absent. */
  markCallOutcomeUnknown(businessId: number, leaseId: string, outcome: UnknownOutcome): Promise<{ held: boolean }> {
    this.identify(businessId);
    return this.calls.markUnknown(leaseId, outcome);
  }

  /** A status callback of a call we placed: terminal frees the slot, any other adopts the CallSid. No Postgres. */
  callStatus(businessId: number, leaseId: string, callSid: string, status: string): Promise<CallStatusResult> {
    this.identify(businessId);
    return this.calls.callStatus(leaseId, callSid, status);
  }

  /** Keeps a call log update Postgres could not take now; the alarm applies it when it can. */
  deferCallLogUpdate(businessId: number, update: CallLogUpdate): Promise<void> {
    this.identify(businessId);
    return this.calls.callLogs.defer(update);
  }

  /** Leases held now (dashboard). */
  callSlotsSnapshot(businessId: number): CallSlotsSnapshot {
    this.identify(businessId);
    return this.calls.snapshot();
  }

  /** For CallCapacityDO's safety net: is this lease still held here? */
  callLeaseState(businessId: number, leaseId: string): { held: boolean; expiresAt: number | null } {
    this.identify(businessId);
    return this.calls.leaseState(leaseId);
  }

  // ---- WhatsApp: send throttle (./business/send-throttle.ts) and shard assignment (./business/shard-assignment.ts) ----

  private throttleStore: SendThrottle | null = null;
  private get throttle(): SendThrottle {
    this.throttleStore ??= new SendThrottle(this.sql);
    return this.throttleStore;
  }

  private assignmentStore: ShardAssignment | null = null;
  private get assignment(): ShardAssignment {
    this.assignmentStore ??= new ShardAssignment(this.sql);
    return this.assignmentStore;
  }

  /** One send permit, or why not and when to come back. `nowMs` is for tests. */
  takeSendPermit(businessId: number, policy: ThrottlePolicy, nowMs = Date.now()): Permit {
    this.identify(businessId);
    return this.throttle.take(policy, nowMs);
  }

  /** A ban signal: every send of this business waits until an admin resumes. */
  pauseSends(businessId: number, reason: string): SendState {
    this.identify(businessId);
    return this.throttle.pause(reason, Date.now());
  }

  resumeSends(businessId: number): SendState {
    this.identify(businessId);
    return this.throttle.resume();
  }

  sendState(businessId: number): SendState {
    this.identify(businessId);
    return this.throttle.state();
  }

  /**
   * The shard this business's session lives on, with its fencing token. Held here after first
   * use; before that, null unless the caller passes `routed` (from Postgres or the hash).
   */
  shardAssignment(businessId: number, routed?: number): Assignment | null {
    this.identify(businessId);
    return routed === undefined ? this.assignment.peek() : this.assignment.current(routed);
  }

  beginShardMove(businessId: number, routed: number, to: number) {
    this.identify(businessId);
    return this.assignment.beginMove(routed, to, Date.now());
  }

  completeShardMove(businessId: number, fencingToken: number) {
    this.identify(businessId);
    return this.assignment.completeMove(fencingToken);
  }

  abortShardMove(businessId: number): Assignment | null {
    this.identify(businessId);
    return this.assignment.abortMove();
  }

  /**
   * One alarm per object, shared by its concerns: each handles what is due and re-arms for its
   * own next time only if that is earlier than the alarm already set (see CallLeases.arm).
   */
  override async alarm(): Promise<void> {
    await this.calls.onAlarm();
  }
}
