/**
 * One object per business (named `business:<id>`). It is the serialisation point for everything
 * that must hold per business under races: call-slot leases, the WhatsApp shard assignment and its
 * fencing token, send throttles, and the settings cache. Each concern lives in its own SQLite
 * table created here; the RPC methods are added by the parts that own them.
 *
 * What it needs from the platform (settings, queues, Postgres writes) comes through a
 * BusinessHost (./business/host.ts): the Worker's subclass `BusinessDO` (worker/durable-objects.ts)
 * supplies it, so this folder does not depend on the Worker's services.
 */
import { DurableObject } from "cloudflare:workers";
import { isTerminalStatus } from "../worker/calls/call-status";
import { log } from "../worker/lib/log";
import type { DurableObjectBindings } from "./bindings";
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
import type { CallDialedWrite, CallLogUpdate, HandOff } from "./business/call-log-outbox";
import { type DialTurn, type DialTurnRequest, DialTurns } from "./business/dial-turns";
import type { BusinessHost, SendLimits } from "./business/host";
import { type InboundAnswer, InboundCalls } from "./business/inbound-calls";
import {
  type OriginWaiting,
  type ScheduledSend,
  type SendOrigin,
  type SendPolicy,
  SendSchedule,
  type SendState,
  type Waiting,
} from "./business/send-schedule";
import { SettingsCache } from "./business/settings-cache";
import { type Assignment, ShardAssignment } from "./business/shard-assignment";
import { SharedAlarm } from "./shared-alarm";

/** How long cached settings live without an invalidation. */
const SETTINGS_TTL_MS = 60_000;

export class BusinessObject<Settings extends SendLimits> extends DurableObject<DurableObjectBindings<Settings>> {
  protected readonly sql: SqlStorage;
  /** Call-slot leases (issue 4): the logic lives in ./business/call-leases.ts. */
  private readonly calls: CallLeases;
  /** The object's one alarm, shared by the call leases and the send schedule. */
  private readonly sharedAlarm: SharedAlarm;
  /** Campaign dials' turns: duplicates, standbys woken when a slot frees (./business/dial-turns.ts). */
  private readonly turns: DialTurns;
  /** Answers given to inbound calls, for Twilio's retries (./business/inbound-calls.ts). */
  private readonly inbound: InboundCalls;

  constructor(
    ctx: DurableObjectState,
    env: DurableObjectBindings<Settings>,
    private readonly host: BusinessHost<Settings>,
  ) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    this.sharedAlarm = new SharedAlarm(ctx.storage);
    this.calls = new CallLeases(
      ctx,
      env,
      () => {
        const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'business_id'").toArray()[0];
        return row ? Number(row.value) : null;
      },
      this.sharedAlarm,
      (update) => host.applyCallLogUpdate(update),
    );
    // The object hands its call log writes out, in batches (./business/call-log-outbox.ts).
    this.calls.callLogs.handOffWith(async (handOff) => {
      const businessId = this.businessIdOf();
      if (businessId === null) throw new Error("call log writes of an object that does not know its business");
      await host.sendCallLogWrites(businessId, handOff);
    });
    this.turns = new DialTurns(this.sql, () => this.calls.snapshot().outboundActive);
    this.inbound = new InboundCalls(this.sql);
  }

  private businessIdOf(): number | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'business_id'").toArray()[0];
    return row ? Number(row.value) : null;
  }

  private settingsCache: SettingsCache<Settings> | null = null;

  /** The business's settings, cached here (TTL, invalidated on update). `nowMs` is for tests. */
  async settings(businessId: number, nowMs?: number): Promise<Settings> {
    this.identify(businessId);
    this.settingsCache ??= new SettingsCache(() => this.host.loadSettings(businessId), SETTINGS_TTL_MS);
    return this.settingsCache.get(nowMs);
  }

  /** Drops the cached settings; the next read loads them from Postgres. The send schedule re-plans at once. */
  async invalidateSettings(businessId: number): Promise<void> {
    this.identify(businessId);
    this.settingsCache?.invalidate();
    this.timezoneCache?.invalidate();
    await this.armSends(Date.now());
  }

  /** The business id this object is bound to, once read or written (it never changes after). */
  private boundBusinessId: number | null = null;

  /** Binds this object to its business id on first use and refuses a different one after. */
  identify(businessId: number): number {
    // Every RPC passes here: after the first, no storage read.
    if (this.boundBusinessId === businessId) return businessId;
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'business_id'").toArray()[0];
    if (row && Number(row.value) !== businessId) {
      throw new Error(`BusinessDO for business ${row.value} was addressed as business ${businessId}`);
    }
    if (!row) this.sql.exec("INSERT INTO meta (key, value) VALUES ('business_id', ?)", String(businessId));
    this.boundBusinessId = businessId;
    return businessId;
  }

  // ---- Calls: call-slot leases (see ./business/call-leases.ts for why admission holds under races) ----

  /** A call slot for this business: a lease, or a refusal naming the cap (business or platform) and how many are active. */
  reserveCallSlot(businessId: number, req: ReserveRequest): Promise<ReserveResult> {
    this.identify(businessId);
    return this.calls.reserve(businessId, req);
  }

  /** Attaches Twilio's CallSid once Twilio accepted the call; the lease then lives for the call's full length. */
  async confirmCallSlot(businessId: number, leaseId: string, callSid: string): Promise<ConfirmResult> {
    this.identify(businessId);
    const result = await this.calls.confirm(leaseId, callSid);
    if (!result.confirmed && result.reason === "call_ended") this.turns.wake();
    return result;
  }

  /**
   * Twilio accepted a call we placed: confirm its lease, and keep its CallSid (and the campaign job
   * it dials) for Postgres, written with the call's progress (./business/call-log-outbox.ts). One
   * call instead of a confirm and a database write on the dialer's path.
   */
  async confirmDial(businessId: number, leaseId: string, dialed: CallDialedWrite): Promise<ConfirmResult> {
    this.identify(businessId);
    const result = await this.calls.confirm(leaseId, dialed.callSid);
    if (dialed.job) this.turns.recordDialed(dialed.job.id);
    await this.calls.callLogs.keep(dialed, false);
    if (!result.confirmed && result.reason === "call_ended") this.turns.wake();
    return result;
  }

  /** Frees the slot held by a CallSid or lease id (its platform slot follows in the background). Idempotent. */
  releaseCallSlot(businessId: number, ref: string, reason?: LeaseFreeReason): ReleaseResult {
    this.identify(businessId);
    const result = this.calls.release(ref, reason);
    if (result.released) this.turns.wake();
    return result;
  }

  /**
   * A campaign job's turn to dial (./business/dial-turns.ts): a duplicate message is told so, a
   * free slot says go, and with every slot taken the caller may wait here as a standby.
   */
  async dialTurn(businessId: number, req: DialTurnRequest): Promise<DialTurn> {
    this.identify(businessId);
    const deadline = Date.now() + req.maxWaitMs;
    let waitedMs = 0;
    // The ended call's writes a wake brought along: the caller applies them whatever follows.
    let handOff: HandOff | undefined;
    for (;;) {
      const turn = await this.turns.turn({ ...req, maxWaitMs: Math.max(0, deadline - Date.now()) });
      waitedMs += turn.waitedMs;
      // Woken again after a direct call took the slot: both ends' writes go along.
      if (turn.go && turn.handOff)
        handOff = handOff
          ? { ids: [...handOff.ids, ...turn.handOff.ids], writes: [...handOff.writes, ...turn.handOff.writes] }
          : turn.handOff;
      if (!turn.go) return { ...turn, waitedMs, handOff };
      // The reserve follows the decision at once: a woken standby takes the slot that woke it.
      this.turns.reserveStarted();
      let reserved: ReserveResult;
      try {
        reserved = await this.calls.reserve(businessId, { kind: "outbound", source: "bulk", businessCap: req.cap });
      } finally {
        this.turns.reserveEnded();
      }
      if (reserved.ok) return { go: true, lease: reserved.lease, waitedMs, handOff };
      // A direct call took the slot first: wait for the next one (the platform cap refuses for longer).
      if (reserved.refusal.cap !== "business" || Date.now() >= deadline)
        return { go: false, why: "busy", waitedMs, refusal: reserved.refusal, handOff };
    }
  }

  /** Twilio never answered the create: keep the slot until the call is found or proven absent. */
  markCallOutcomeUnknown(businessId: number, leaseId: string, outcome: UnknownOutcome): Promise<{ held: boolean }> {
    this.identify(businessId);
    return this.calls.markUnknown(leaseId, outcome);
  }

  /** A status callback of a call we placed: terminal frees the slot, any other adopts the CallSid. No Postgres. */
  async callStatus(businessId: number, leaseId: string, callSid: string, status: string): Promise<CallStatusResult> {
    this.identify(businessId);
    const result = await this.calls.callStatus(leaseId, callSid, status);
    if (result.released) this.turns.wake();
    return result;
  }

  /**
   * A status callback (issue 16 #2): the slot — by the lease its URL names, or for an inbound
   * call by its CallSid (terminal frees it) — and the call log update, kept here until Postgres
   * takes it (./business/call-log-outbox.ts). Once this returns, nothing of the callback can be
   * lost: the route answers Twilio without waiting for Postgres. A call's end that frees a slot a
   * campaign's standby dial waits for goes along with that dial, which applies it on the database
   * connection it already holds, after its create (./business/dial-turns.ts); any other write goes
   * through the queue in batches (the outbox's flush).
   */
  async recordCallStatus(
    businessId: number,
    leaseId: string | null,
    update: CallLogUpdate & { callSid: string },
  ): Promise<CallStatusResult> {
    this.identify(businessId);
    let slot: CallStatusResult = { released: false, adopted: false };
    if (leaseId) slot = await this.calls.callStatus(leaseId, update.callSid, update.status);
    else if (isTerminalStatus(update.status)) slot.released = this.calls.release(update.callSid).released;
    const toStandby = slot.released && this.turns.wouldWake();
    const handOff = await this.calls.callLogs.keep(update, toStandby);
    if (!slot.released) return slot;
    // No standby took it after all (it left meanwhile): the flush sends it.
    if (!this.turns.wake(handOff) && handOff) this.calls.callLogs.takeBack(handOff.ids);
    return slot;
  }

  /** A dial applied the call log writes it was handed (see recordCallStatus) — or, `applied` false, could not: they are the object's to apply again. */
  async ackCallLogWrites(businessId: number, ids: number[], applied = true): Promise<void> {
    this.identify(businessId);
    if (applied) this.calls.callLogs.ack(ids);
    else {
      this.calls.callLogs.takeBack(ids);
      await this.sharedAlarm.armAt(Date.now());
    }
  }

  /**
   * An inbound call (issue 16 #2): the answer already given to this CallSid (a retried webhook),
   * or a new one — a slot (inbound calls take only a platform slot) or a refusal — with the call's
   * log row kept here until Postgres takes it. Also the business's cached settings (its greeting
   * and inbound action), so the webhook answers without Postgres.
   */
  async admitInboundCall(
    businessId: number,
    call: { callSid: string; from: string | null; to: string; status: string },
  ): Promise<{ answer: InboundAnswer; settings: Settings | null; fresh: boolean }> {
    this.identify(businessId);
    const [{ answer, fresh }, settings] = await Promise.all([
      this.inbound.answer(call.callSid, () =>
        this.calls.reserve(businessId, { kind: "inbound", source: "inbound", callSid: call.callSid }),
      ),
      // Unreadable settings (Postgres away, nothing cached) must not fail a call already admitted:
      // null, and the caller answers with the defaults.
      this.settings(businessId).catch((err: unknown) => {
        log.warn("inbound call answered without the business's settings: they could not be read", {
          businessId,
          error: err instanceof Error ? err.message : String(err),
        });
        return null;
      }),
    ]);
    // The call's log row: sent through the queue at once, batched with other calls' under load.
    if (fresh)
      await this.calls.callLogs.defer({
        kind: "inbound",
        businessId,
        callSid: call.callSid,
        from: call.from,
        to: call.to,
        status: answer.admitted ? call.status : "rejected",
        leaseId: answer.leaseId,
        reason: answer.reason,
        at: new Date().toISOString(),
      });
    return { answer, settings, fresh };
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

  /** For CallCapacityDO's safety net: is this platform slot still held here, and until when? */
  callSlotState(businessId: number, slotId: string): { held: boolean; expiresAt: number | null } {
    this.identify(businessId);
    return this.calls.slotState(slotId);
  }

  /** CallCapacityDO is full and another business waits: hand back the idle platform slots held here, keep none until `contendedUntil`. */
  reclaimIdleCallSlots(businessId: number, contendedUntil: number): string[] {
    this.identify(businessId);
    return this.calls.reclaimIdleSlots(contendedUntil);
  }

  /** Calls holding a slot here, by kind (CallCapacityDO's snapshot adds these up). */
  callSlotUse(businessId: number): { outbound: number; inbound: number } {
    this.identify(businessId);
    return this.calls.use();
  }

  // ---- WhatsApp: send schedule (./business/send-schedule.ts) and shard assignment (./business/shard-assignment.ts) ----

  private sendsStore: SendSchedule | null = null;
  private get sends(): SendSchedule {
    this.sendsStore ??= new SendSchedule(this.sql);
    return this.sendsStore;
  }

  private assignmentStore: ShardAssignment | null = null;
  private get assignment(): ShardAssignment {
    this.assignmentStore ??= new ShardAssignment(this.sql);
    return this.assignmentStore;
  }

  private timezoneCache: SettingsCache<string> | null = null;

  /** The schedule's policy: the cached settings plus the business's timezone (cached alike). */
  private async sendPolicy(businessId: number): Promise<SendPolicy> {
    this.timezoneCache ??= new SettingsCache(() => this.host.loadTimezone(businessId), SETTINGS_TTL_MS);
    const [settings, timezone] = await Promise.all([this.settings(businessId), this.timezoneCache.get()]);
    return {
      perMinute: settings.waMessagesPerMinute,
      dailyCap: settings.waDailyCap,
      quietStart: settings.waQuietHoursStart,
      quietEnd: settings.waQuietHoursEnd,
      timezone,
    };
  }

  /** The alarm for the schedule's next slot: set only if earlier than the one already set (shared alarm). */
  private armSends(atMs: number): Promise<void> {
    return this.sharedAlarm.armAt(atMs);
  }

  /**
   * Holds sends for their slots (see SendSchedule.add). While sends are paused nothing is added
   * and the reason comes back, for the caller to park the rows as held.
   */
  async scheduleSends(
    businessId: number,
    items: ScheduledSend[],
    redispatchBefore?: number,
  ): Promise<{ added: number; paused: string | null }> {
    this.identify(businessId);
    const result = this.sends.add(items, redispatchBefore);
    if (!result.paused) await this.armSends(Date.now());
    return result;
  }

  /** The send job is done with this message (any final or held state): the next may go. */
  async sendFinished(businessId: number, outboundId: number): Promise<void> {
    this.identify(businessId);
    this.sends.finish(outboundId);
    await this.armSends(Date.now());
  }

  /** The shard could not take the message now: it goes back into the schedule, not before `seconds`. */
  async sendLater(businessId: number, outboundId: number, seconds: number): Promise<void> {
    this.identify(businessId);
    const at = Date.now() + seconds * 1000;
    this.sends.retryAt(outboundId, at);
    await this.armSends(at);
  }

  /** A broadcast paused or cancelled: its waiting messages leave the schedule. */
  unscheduleOrigin(businessId: number, origin: SendOrigin, originId: number): number {
    this.identify(businessId);
    return this.sends.removeOrigin(origin, originId);
  }

  /** Why these sends wait and when they should go (for the inbox thread). */
  async sendsWaiting(businessId: number, outboundIds: number[]): Promise<Waiting[]> {
    this.identify(businessId);
    return this.sends.waiting(await this.sendPolicy(businessId), outboundIds, Date.now());
  }

  /** Per origin record (e.g. each broadcast): how many wait, why, and until when. */
  async originWaiting(businessId: number, origin: SendOrigin, originIds: number[]): Promise<OriginWaiting[]> {
    this.identify(businessId);
    return this.sends.originWaiting(await this.sendPolicy(businessId), origin, originIds, Date.now());
  }

  /** A ban signal: every send of this business waits until an admin resumes. */
  pauseSends(businessId: number, reason: string): SendState {
    this.identify(businessId);
    return this.sends.pause(reason, Date.now());
  }

  async resumeSends(businessId: number): Promise<SendState> {
    this.identify(businessId);
    const state = this.sends.resume();
    await this.armSends(Date.now());
    return state;
  }

  sendState(businessId: number): SendState {
    this.identify(businessId);
    return this.sends.state();
  }

  /** The schedule's part of the alarm: hand out the due slots as queue messages, re-arm for the next. */
  private async runSends(): Promise<void> {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'business_id'").toArray()[0];
    // Nothing held: nothing to plan (and no settings to load for an alarm that was the leases').
    if (!row || this.sends.isEmpty()) return;
    const businessId = Number(row.value);
    let policy: SendPolicy;
    try {
      policy = await this.sendPolicy(businessId);
    } catch (err) {
      // Settings unreadable (Postgres away): try again shortly, nothing is lost meanwhile.
      log.warn("send schedule could not load its policy", { businessId, error: String(err) });
      await this.armSends(Date.now() + 5_000);
      return;
    }
    const { dispatch, urgent, nextAtMs } = this.sends.due(policy, Date.now());
    if (dispatch.length > 0) {
      const fast = new Set(urgent);
      try {
        // A reply (and what goes before it to that customer) takes the high queue, which delivers
        // at once; the rest the default queue.
        await this.host.enqueueSends(
          urgent,
          dispatch.filter((id) => !fast.has(id)),
        );
      } catch (err) {
        this.sends.undispatch(dispatch);
        log.warn("send schedule could not queue its slots", { businessId, error: String(err) });
        await this.armSends(Date.now() + 5_000);
        return;
      }
    }
    if (nextAtMs !== null) await this.armSends(nextAtMs);
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
    this.sharedAlarm.fired();
    try {
      await this.calls.onAlarm();
      // The sweep may have freed slots.
      this.turns.wake();
      this.turns.prune();
      this.inbound.prune();
    } finally {
      await this.runSends();
    }
  }
}
