/**
 * Call-slot leases of one business, held in its BusinessDO's SQLite storage. The BusinessDO
 * delegates its call RPCs here; this is the one home of call admission.
 *
 * Why it holds under races: a Durable Object runs one event at a time only until it awaits
 * something outside itself. So `reserve` checks the business cap and records the reservation as
 * pending — in memory, synchronously — before it may await the platform object (CallCapacityDO),
 * and every later reserve counts it. A platform refusal (or error) drops it. Nothing here calls
 * Twilio between check and commit: the caller dials after `reserve` returns.
 *
 * The platform cap: every call uses a platform slot this business holds (./platform-block.ts).
 * A slot freed by a call's end stays with the business, idle, for its next call (within limits,
 * for fairness), so a reserve usually takes an idle slot here, synchronously, and asks the
 * platform object only when the business holds none.
 *
 * What one cycle costs (bench/admission.ts prints it): reserve = 1 write here (the lease row and
 * its slot marked in use: one commit) and no other object, when the business holds an idle slot;
 * otherwise + 1 call to the platform object (1 write there). Release = 1 write here (lease row
 * deleted, slot marked idle) and no other object; a slot not kept goes back to the platform off
 * the caller's path (an outbox row in the same write, sent in the background, retried by the alarm).
 * The pending reservation is in memory rather than a row, so a reserve writes once: if the
 * object is reset mid-reserve, the platform slot it may have taken carries a short expiry (ring
 * timeout + grace), at which the platform asks this object, finds no such slot, and frees it.
 *
 * Leases expire. An unconfirmed lease (no CallSid) lives for the ring timeout; a confirmed one
 * for ring timeout + call time limit + margin. The alarm sweeps expired leases: no CallSid → free;
 * otherwise ask Twilio for the call's status → terminal (or unknown to Twilio) → free, live →
 * check again later, lookup failed CALL_LEASE_MAX_FAILED_CHECKS times in a row → free anyway.
 * Every free is logged with its reason.
 *
 * Unknown outcomes (issue 10 #6): a Twilio create whose answer never came may or may not have
 * created the call. Its lease is marked `unknown` (keeping the call log id, To and From) and keeps
 * its slot. The first status callback for it adopts the CallSid (`callStatus`); otherwise the
 * sweep asks Twilio for calls To/From since the lease was taken: found → adopted (or freed if it
 * already ended), absent once the ring timeout has passed → proven never created, freed. Either
 * way the call log is told through the call-log outbox (./call-log-outbox.ts).
 *
 * Inbound calls hold a lease here too (so the same release, expiry and snapshot apply), but they
 * neither count toward nor are limited by the business cap: that cap is for outbound dialing
 * (`outbound_call_cap`), and a customer calling in should not be turned away because a campaign is
 * dialing. Inbound calls are limited by the platform cap only (DESIGN: "Inbound calls take a slot
 * too (global cap)").
 */

import { isTerminalStatus } from "../../worker/calls/call-status";
import { type TwilioCall, type TwilioClient, twilioClient } from "../../worker/calls/twilio-client";
import { type Config, getConfig } from "../../worker/config";
import { log } from "../../worker/lib/log";
import type { PlatformCallsBindings } from "../bindings";
import type { PlatformFreeReason } from "../call-capacity/platform-slots";
import type { SharedAlarm } from "../shared-alarm";
import { CallLogOutbox, type CallLogUpdate } from "./call-log-outbox";
import { PlatformBlock } from "./platform-block";

export type CallKind = "outbound" | "inbound";
export type OutboundSource = "direct" | "bulk";
export type CallSource = OutboundSource | "inbound";

export interface ReserveRequest {
  kind: CallKind;
  /** Outbound: `direct` or `bulk` — they share one business cap. Inbound: `inbound` (the default). */
  source?: CallSource;
  /**
   * The business's outbound cap (business_settings.outbound_call_cap), read by the caller.
   * Default BUSINESS_CALL_CAP_DEFAULT; never above MAX_CONCURRENT_CALLS.
   */
  businessCap?: number;
  /** Inbound calls arrive with their CallSid: the lease is confirmed at once, and a retried reserve for it is the same lease. */
  callSid?: string;
}

export interface CallLease {
  leaseId: string;
  businessId: number;
  kind: CallKind;
  source: CallSource;
  callSid: string | null;
  /** Epoch ms when the sweep looks at this lease. */
  expiresAt: number;
  /** Outbound calls of this business holding a slot, this one included. */
  businessActive: number;
  businessCap: number;
  /**
   * Platform slots held (all businesses) after this admission, when the platform was asked; null
   * when the slot came from this business's own idle slots (or a repeated inbound reserve).
   */
  platformActive: number | null;
  platformCap: number;
}

export interface CallRefusal {
  /** Which cap refused (`rate`: Twilio's calls per second, for bulk dials only; see create-pacer.ts). */
  cap: "business" | "platform" | "rate";
  /** Calls holding that cap's slots when it refused. */
  active: number;
  limit: number;
  message: string;
}

export type ReserveResult = { ok: true; lease: CallLease } | { ok: false; refusal: CallRefusal };

export type ConfirmResult =
  | { confirmed: true; expiresAt: number }
  /** `not_held`: released or expired before the confirm; `call_ended`: its terminal status came first (slot freed now). */
  | { confirmed: false; reason: "not_held" | "call_ended" };

export type ReleaseResult = { released: true; leaseId: string } | { released: false };

export interface LeaseView {
  leaseId: string;
  kind: CallKind;
  source: CallSource;
  /** `unknown`: Twilio's answer to the create never came (see the header). */
  state: "reserved" | "confirmed" | "unknown";
  callSid: string | null;
  createdAt: number;
  expiresAt: number;
  failedChecks: number;
  lastStatus: string | null;
}

export interface CallSlotsSnapshot {
  businessId: number | null;
  outboundActive: number;
  inboundActive: number;
  bySource: Record<CallSource, number>;
  leases: LeaseView[];
  /** Platform slots this business holds: in use by its calls, and idle (kept for its next call). */
  platformSlots: { held: number; idle: number };
  /** Platform slots given up here whose release has not reached CallCapacityDO yet (sent in the background, retried by the alarm). */
  pendingPlatformReleases: number;
  /** Call log updates waiting for Postgres (applied by the alarm). */
  pendingCallLogUpdates: number;
}

/** What the lease of a create whose answer never came remembers, to find the call later. */
export interface UnknownOutcome {
  callLogId: number;
  to: string;
  from: string;
}

/** What a status callback did to the lease. */
export interface CallStatusResult {
  /** The terminal status freed the lease. */
  released: boolean;
  /** The lease had no CallSid yet and took this one (a callback beating the confirm, or an unknown outcome). */
  adopted: boolean;
}

export type LeaseFreeReason = Extract<
  PlatformFreeReason,
  "released" | "call_ended" | "unconfirmed" | "ended" | "not_found" | "check_failed"
>;

interface LeaseRow {
  lease_id: string;
  kind: CallKind;
  source: CallSource;
  state: LeaseView["state"];
  call_sid: string | null;
  call_log_id: number | null;
  to_number: string | null;
  from_number: string | null;
  created_ms: number;
  expires_ms: number;
  failed_checks: number;
  last_status: string | null;
  [key: string]: SqlStorageValue;
}

const TOMBSTONE_TTL_MS = 24 * 3600_000;
const SWEEP_PARALLELISM = 8;
/** Slack between our clock and Twilio's date_created (whole seconds) when matching an unknown create. */
const CREATE_MATCH_SLACK_MS = 5_000;

/** Lease lifetimes and the platform's grace, from config. */
export function leaseTimes(config: Config) {
  const ringMs = config.CALL_RING_TIMEOUT_SECONDS * 1000;
  const fullMs =
    (config.CALL_RING_TIMEOUT_SECONDS + config.CALL_TIME_LIMIT_SECONDS + config.CALL_LEASE_MARGIN_SECONDS) * 1000;
  const recheckMs = config.CALL_LEASE_RECHECK_SECONDS * 1000;
  // The platform's own safety net fires only after this object had every chance to sweep first.
  const platformGraceMs =
    config.CALL_LEASE_MARGIN_SECONDS * 1000 + recheckMs * (config.CALL_LEASE_MAX_FAILED_CHECKS + 1);
  return { ringMs, fullMs, recheckMs, platformGraceMs };
}

export class CallLeases {
  private readonly sql: SqlStorage;
  /** Reservations between the business-cap check and the platform's answer (see the header). */
  private readonly pending = new Map<string, { kind: CallKind; callSid: string | null }>();
  /** Inbound reserves in flight by CallSid, so a retried webhook waits for the same lease. */
  private readonly pendingBySid = new Map<string, Promise<ReserveResult>>();
  /** The platform slots this business holds. */
  private readonly block: PlatformBlock;
  readonly callLogs: CallLogOutbox;

  constructor(
    ctx: DurableObjectState,
    private readonly env: PlatformCallsBindings,
    /** The business this object belongs to, once known (BusinessDO.identify). */
    private readonly businessIdOf: () => number | null,
    /** The object's one alarm, shared with its other concerns. */
    private readonly alarm: SharedAlarm,
    /** Writes a call log update to Postgres (the host's; see ./host.ts). */
    applyCallLogUpdate: (update: CallLogUpdate) => Promise<void>,
  ) {
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS call_leases (
      lease_id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      source TEXT NOT NULL,
      state TEXT NOT NULL,
      call_sid TEXT UNIQUE,
      created_ms INTEGER NOT NULL,
      expires_ms INTEGER NOT NULL,
      failed_checks INTEGER NOT NULL DEFAULT 0,
      last_status TEXT
    )`);
    // Added for unknown outcomes (issue 10 #6): what finds the call at Twilio without a CallSid.
    const columns = this.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('call_leases')").toArray();
    for (const [name, type] of [
      ["call_log_id", "INTEGER"],
      ["to_number", "TEXT"],
      ["from_number", "TEXT"],
    ]) {
      if (!columns.some((c) => c.name === name)) this.sql.exec(`ALTER TABLE call_leases ADD COLUMN ${name} ${type}`);
    }
    this.sql.exec("CREATE INDEX IF NOT EXISTS call_leases_expires ON call_leases (expires_ms)");
    this.block = new PlatformBlock(this.sql, env, alarm, () => this.arm());
    // Calls whose end we saw before (or without) a confirm, so a late confirm frees its lease at once.
    this.sql.exec("CREATE TABLE IF NOT EXISTS call_ended (ref TEXT PRIMARY KEY, ended_ms INTEGER NOT NULL)");
    this.callLogs = new CallLogOutbox(this.sql, applyCallLogUpdate, (dueBy) => this.arm(dueBy));
    // Whenever the object wakes (e.g. after a crash), make sure its leases and outboxes have an alarm.
    void ctx.blockConcurrencyWhile(() => this.arm());
  }

  private get config(): Config {
    return getConfig(this.env);
  }

  private row(leaseId: string): LeaseRow | undefined {
    return this.sql.exec<LeaseRow>("SELECT * FROM call_leases WHERE lease_id = ?", leaseId).toArray()[0];
  }

  private outboundActive(): number {
    let pending = 0;
    for (const p of this.pending.values()) if (p.kind === "outbound") pending++;
    return (
      this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM call_leases WHERE kind = 'outbound'").one().n + pending
    );
  }

  reserve(businessId: number, req: ReserveRequest): Promise<ReserveResult> {
    if (req.callSid) {
      const inFlight = this.pendingBySid.get(req.callSid);
      if (inFlight) return inFlight;
      const sid = req.callSid;
      const p = this.reserveOnce(businessId, req).finally(() => this.pendingBySid.delete(sid));
      this.pendingBySid.set(sid, p);
      return p;
    }
    return this.reserveOnce(businessId, req);
  }

  private async reserveOnce(businessId: number, req: ReserveRequest): Promise<ReserveResult> {
    const config = this.config;
    const kind = req.kind;
    const source: CallSource = req.source ?? (kind === "inbound" ? "inbound" : "direct");
    if (kind === "outbound" ? source !== "direct" && source !== "bulk" : source !== "inbound") {
      throw new Error(`reserve: a ${kind} call cannot have source ${String(source)}`);
    }
    const requestedCap = req.businessCap ?? config.BUSINESS_CALL_CAP_DEFAULT;
    if (!Number.isInteger(requestedCap) || requestedCap < 0)
      throw new Error(`reserve: bad businessCap ${requestedCap}`);
    const businessCap = Math.min(requestedCap, config.MAX_CONCURRENT_CALLS);
    const times = leaseTimes(config);

    if (req.callSid) {
      const existing = this.sql
        .exec<LeaseRow>("SELECT * FROM call_leases WHERE call_sid = ?", req.callSid)
        .toArray()[0];
      if (existing) return { ok: true, lease: this.leaseOf(businessId, existing, businessCap) };
    }

    // ---- check and record, synchronously: no other event runs until the await below ----
    const active = this.outboundActive();
    if (kind === "outbound" && active >= businessCap) {
      return {
        ok: false,
        refusal: {
          cap: "business",
          active,
          limit: businessCap,
          message: `business cap ${businessCap} reached (${active} active)`,
        },
      };
    }
    const leaseId = crypto.randomUUID();
    const now = Date.now();
    // A slot this business already holds: no other object, no await — check and commit in one step.
    let platform: { active: number; limit: number } | null = null;
    if (this.block.takeIdle(leaseId) === null) {
      this.pending.set(leaseId, { kind, callSid: req.callSid ?? null });
      // ---- from here other events interleave; the pending reservation already counts against the cap ----
      let granted: Awaited<ReturnType<PlatformBlock["acquire"]>>;
      try {
        // The expiry is short on purpose: if this object forgets the slot (reset before the write
        // below), the platform asks at this time and frees it. A held slot's expiry is adopted then.
        granted = await this.block.acquire(businessId, kind, leaseId, now + times.ringMs + times.platformGraceMs);
      } finally {
        this.pending.delete(leaseId);
      }
      if (granted.slotId === null) {
        return {
          ok: false,
          refusal: {
            cap: "platform",
            active: granted.active,
            limit: granted.limit,
            message: `platform cap ${granted.limit} reached (${granted.active} active)`,
          },
        };
      }
      platform = { active: granted.active, limit: granted.limit };
    }
    const row: LeaseRow = {
      lease_id: leaseId,
      kind,
      source,
      state: req.callSid ? "confirmed" : "reserved",
      call_sid: req.callSid ?? null,
      created_ms: now,
      expires_ms: now + (req.callSid ? times.fullMs : times.ringMs),
      failed_checks: 0,
      last_status: null,
      call_log_id: null,
      to_number: null,
      from_number: null,
    };
    // The one write of a reserve (with its slot marked in use above: the same commit).
    this.sql.exec(
      "INSERT INTO call_leases (lease_id, kind, source, state, call_sid, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
      row.lease_id,
      row.kind,
      row.source,
      row.state,
      row.call_sid,
      row.created_ms,
      row.expires_ms,
    );
    // The alarm usually fires earlier already (an idle slot's return, another lease): no queries then.
    if (!this.alarm.coversBy(row.expires_ms)) await this.arm();
    return {
      ok: true,
      lease: {
        ...this.leaseOf(businessId, row, businessCap),
        platformActive: platform?.active ?? null,
        platformCap: platform?.limit ?? config.MAX_CONCURRENT_CALLS,
      },
    };
  }

  private leaseOf(businessId: number, row: LeaseRow, businessCap: number): CallLease {
    return {
      leaseId: row.lease_id,
      businessId,
      kind: row.kind,
      source: row.source,
      callSid: row.call_sid,
      expiresAt: row.expires_ms,
      businessActive: this.outboundActive(),
      businessCap,
      platformActive: null,
      platformCap: this.config.MAX_CONCURRENT_CALLS,
    };
  }

  async confirm(leaseId: string, callSid: string): Promise<ConfirmResult> {
    const row = this.row(leaseId);
    if (!row) return { confirmed: false, reason: "not_held" };
    if (row.call_sid) {
      if (row.call_sid === callSid) return { confirmed: true, expiresAt: row.expires_ms };
      throw new Error(`confirm: lease ${leaseId} already belongs to call ${row.call_sid}`);
    }
    if (this.sql.exec("SELECT 1 FROM call_ended WHERE ref = ?", callSid).toArray().length > 0) {
      // The call's terminal status arrived before this confirm: the slot is free now.
      this.free(leaseId, "call_ended", Date.now());
      log.info("call lease freed at confirm: the call had already ended", { leaseId, callSid });
      return { confirmed: false, reason: "call_ended" };
    }
    const expiresMs = this.adopt(row, callSid);
    await this.arm();
    return { confirmed: true, expiresAt: expiresMs };
  }

  /** Attaches a CallSid to a lease that had none: it then lives for the call's full length. */
  private adopt(row: LeaseRow, callSid: string, lastStatus: string | null = null): number {
    const expiresMs = row.created_ms + leaseTimes(this.config).fullMs;
    this.sql.exec(
      "UPDATE call_leases SET call_sid = ?, state = 'confirmed', expires_ms = ?, failed_checks = 0, last_status = COALESCE(?, last_status) WHERE lease_id = ?",
      callSid,
      expiresMs,
      lastStatus,
      row.lease_id,
    );
    return expiresMs;
  }

  /**
   * Twilio's answer to the create never came: keep the slot, remember how to find the call, and
   * look for it once the lease is due (see the header).
   */
  async markUnknown(leaseId: string, outcome: UnknownOutcome): Promise<{ held: boolean }> {
    const row = this.row(leaseId);
    if (!row) return { held: false };
    if (row.call_sid) return { held: true };
    const { ringMs, recheckMs } = leaseTimes(this.config);
    this.sql.exec(
      "UPDATE call_leases SET state = 'unknown', call_log_id = ?, to_number = ?, from_number = ?, expires_ms = ? WHERE lease_id = ?",
      outcome.callLogId,
      outcome.to,
      outcome.from,
      Date.now() + Math.min(ringMs, recheckMs),
      leaseId,
    );
    await this.arm();
    return { held: true };
  }

  /**
   * A status callback of an outbound call we placed (its URL names the lease): a terminal status
   * frees the slot; any other adopts the CallSid if the lease has none yet. Needs no Postgres.
   */
  async callStatus(leaseId: string, callSid: string, status: string): Promise<CallStatusResult> {
    const row = this.sql
      .exec<LeaseRow>("SELECT * FROM call_leases WHERE lease_id = ? OR call_sid = ?", leaseId, callSid)
      .toArray()[0];
    if (isTerminalStatus(status)) {
      if (!row) {
        this.sql.exec("INSERT OR IGNORE INTO call_ended (ref, ended_ms) VALUES (?, ?)", callSid, Date.now());
        return { released: false, adopted: false };
      }
      if (!row.call_sid) {
        this.sql.exec("UPDATE call_leases SET call_sid = ? WHERE lease_id = ?", callSid, row.lease_id);
      }
      this.free(row.lease_id, "released", Date.now());
      return { released: true, adopted: !row.call_sid };
    }
    if (!row || row.call_sid) return { released: false, adopted: false };
    this.adopt(row, callSid, status);
    if (row.state === "unknown") log.info("unknown call outcome settled by its status callback", { leaseId, callSid });
    await this.arm();
    return { released: false, adopted: true };
  }

  /** Frees the lease with this lease id or CallSid. Idempotent: an unknown or already freed ref is a no-op. */
  release(ref: string, reason: LeaseFreeReason = "released"): ReleaseResult {
    const now = Date.now();
    const row = this.sql
      .exec<LeaseRow>("SELECT * FROM call_leases WHERE lease_id = ? OR call_sid = ?", ref, ref)
      .toArray()[0];
    if (!row) {
      // Perhaps a CallSid whose confirm has not arrived yet: remember it ended.
      this.sql.exec("INSERT OR IGNORE INTO call_ended (ref, ended_ms) VALUES (?, ?)", ref, now);
      return { released: false };
    }
    this.free(row.lease_id, reason, now, row);
    return { released: true, leaseId: row.lease_id };
  }

  /** For CallCapacityDO's safety net: does this object still hold the platform slot, and until when? */
  slotState(slotId: string): { held: boolean; expiresAt: number | null } {
    return this.block.state(
      slotId,
      (leaseId) => this.row(leaseId)?.expires_ms ?? null,
      leaseTimes(this.config).ringMs,
      Date.now(),
    );
  }

  /** The platform is full and another business waits: hand back this business's idle slots, and keep none until `contendedUntil`. */
  reclaimIdleSlots(contendedUntil: number): string[] {
    return this.block.reclaimIdle(contendedUntil, Date.now());
  }

  /** Calls holding a slot here now, by kind (the platform's snapshot adds these up). */
  use(): { outbound: number; inbound: number } {
    const rows = this.sql
      .exec<{ kind: CallKind; n: number }>("SELECT kind, COUNT(*) AS n FROM call_leases GROUP BY kind")
      .toArray();
    return {
      outbound: rows.find((r) => r.kind === "outbound")?.n ?? 0,
      inbound: rows.find((r) => r.kind === "inbound")?.n ?? 0,
    };
  }

  snapshot(): CallSlotsSnapshot {
    const rows = this.sql.exec<LeaseRow>("SELECT * FROM call_leases ORDER BY created_ms").toArray();
    const slots = this.block.counts();
    const bySource: Record<CallSource, number> = { direct: 0, bulk: 0, inbound: 0 };
    for (const r of rows) bySource[r.source] += 1;
    return {
      businessId: this.businessIdOf(),
      outboundActive: rows.filter((r) => r.kind === "outbound").length,
      inboundActive: rows.filter((r) => r.kind === "inbound").length,
      bySource,
      leases: rows.map((r) => ({
        leaseId: r.lease_id,
        kind: r.kind,
        source: r.source,
        state: r.state,
        callSid: r.call_sid,
        createdAt: r.created_ms,
        expiresAt: r.expires_ms,
        failedChecks: r.failed_checks,
        lastStatus: r.last_status,
      })),
      platformSlots: { held: slots.held, idle: slots.idle },
      pendingPlatformReleases: slots.pendingReleases,
      pendingCallLogUpdates: this.callLogs.size(),
    };
  }

  /** The alarm: hand back aged idle slots and send platform releases, sweep expired leases, apply call log updates, prune tombstones, re-arm. */
  async onAlarm(): Promise<void> {
    const now = Date.now();
    await this.block.onAlarm(now);
    const due = this.sql
      .exec<LeaseRow>("SELECT * FROM call_leases WHERE expires_ms <= ? ORDER BY expires_ms", now)
      .toArray();
    if (due.length > 0) {
      let twilio: TwilioClient | null = null;
      let clientError: string | null = null;
      try {
        twilio = twilioClient(this.config);
      } catch (err) {
        clientError = err instanceof Error ? err.message : String(err);
      }
      for (let i = 0; i < due.length; i += SWEEP_PARALLELISM) {
        await Promise.all(
          due.slice(i, i + SWEEP_PARALLELISM).map((lease) => this.sweepOne(lease, twilio, clientError)),
        );
      }
      // What the sweep freed goes to the platform now (the alarm is off every caller's path).
      await this.block.flushAll();
    }
    // Call log updates last, so what the sweep just settled reaches Postgres in this same alarm.
    await this.callLogs.flush(Date.now());
    this.sql.exec("DELETE FROM call_ended WHERE ended_ms < ?", now - TOMBSTONE_TTL_MS);
    await this.arm();
  }

  private async sweepOne(lease: LeaseRow, twilio: TwilioClient | null, clientError: string | null): Promise<void> {
    const fields = {
      businessId: this.businessIdOf(),
      leaseId: lease.lease_id,
      callSid: lease.call_sid,
      kind: lease.kind,
    };
    if (!lease.call_sid && lease.state === "unknown") {
      await this.sweepUnknown(lease, twilio, clientError, fields);
      return;
    }
    if (!lease.call_sid) {
      this.freeExpired(lease.lease_id, "unconfirmed", { ...fields, why: "no CallSid within the ring timeout" });
      return;
    }
    let status: string | null = null;
    let notFound = false;
    let failure = clientError;
    if (twilio) {
      try {
        status = (await twilio.fetchCall(lease.call_sid)).status;
      } catch (err) {
        const e = err as { httpStatus?: number | null; message?: string };
        if (e.httpStatus === 404) notFound = true;
        else failure = e.message ?? String(err);
      }
    }
    // A status callback may have released the lease while Twilio answered.
    const current = this.row(lease.lease_id);
    if (!current) return;
    if (notFound) {
      this.freeExpired(lease.lease_id, "not_found", { ...fields, why: "Twilio does not know the call" });
    } else if (status !== null && isTerminalStatus(status)) {
      this.freeExpired(lease.lease_id, "ended", { ...fields, status, why: "Twilio reports the call ended" });
    } else if (status !== null) {
      this.recheckLater(lease.lease_id, status);
      log.info("call lease extended: the call is still live", { ...fields, status });
    } else {
      this.checkFailed(current, fields, failure);
    }
  }

  /**
   * A create whose answer never came: look for the call at Twilio by To/From since the lease was
   * taken (a call we already know by its CallSid is not a match). Found → adopt it (and tell the
   * call log); absent after the ring timeout → it was never created: free, and the log says so.
   */
  private async sweepUnknown(
    lease: LeaseRow,
    twilio: TwilioClient | null,
    clientError: string | null,
    fields: Record<string, unknown>,
  ): Promise<void> {
    let calls: TwilioCall[] | null = null;
    let failure = clientError;
    if (twilio && lease.to_number && lease.from_number) {
      try {
        calls = await twilio.listCalls({ to: lease.to_number, from: lease.from_number });
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
    } else if (twilio) failure = "the lease does not say which call to look for";
    const current = this.row(lease.lease_id);
    // Its status callback came (or the lease was freed) while Twilio answered.
    if (!current || current.call_sid) return;
    const callLogId = current.call_log_id;
    if (calls === null) {
      this.checkFailed(current, fields, failure);
      return;
    }
    const known = (sid: string) =>
      this.sql.exec("SELECT 1 FROM call_leases WHERE call_sid = ?", sid).toArray().length > 0 ||
      this.sql.exec("SELECT 1 FROM call_ended WHERE ref = ?", sid).toArray().length > 0;
    const match = calls
      .filter((c) => c.createdAt !== null && c.createdAt >= current.created_ms - CREATE_MATCH_SLACK_MS)
      .filter((c) => !known(c.sid))
      .sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0))[0];
    const now = Date.now();
    if (match) {
      const ended = isTerminalStatus(match.status);
      if (ended) {
        this.sql.exec("UPDATE call_leases SET call_sid = ? WHERE lease_id = ?", match.sid, current.lease_id);
        this.freeExpired(current.lease_id, "ended", { ...fields, callSid: match.sid, why: "found at Twilio, ended" });
      } else {
        this.adopt(current, match.sid, match.status);
        log.info("unknown call outcome settled: the call exists at Twilio", { ...fields, callSid: match.sid });
      }
      if (callLogId !== null)
        this.callLogs.add({
          callLogId,
          callSid: match.sid,
          status: match.status,
          sequenceNumber: null,
          durationSeconds: match.duration,
          at: null,
          reason: null,
        });
      return;
    }
    const ringEnds = current.created_ms + leaseTimes(this.config).ringMs;
    if (now < ringEnds) {
      // Not listed yet; a call created then would be ringing now. Look again when the ring timeout has passed.
      this.sql.exec("UPDATE call_leases SET expires_ms = ? WHERE lease_id = ?", ringEnds, current.lease_id);
      return;
    }
    this.freeExpired(current.lease_id, "not_found", {
      ...fields,
      why: "Twilio has no call for this create: it was never placed",
    });
    if (callLogId !== null)
      this.callLogs.add({
        callLogId,
        callSid: null,
        status: "failed",
        sequenceNumber: null,
        durationSeconds: null,
        at: null,
        reason: "Twilio never answered the create, and has no such call: it was not placed",
      });
  }

  private recheckLater(leaseId: string, status: string): void {
    this.sql.exec(
      "UPDATE call_leases SET expires_ms = ?, failed_checks = 0, last_status = ? WHERE lease_id = ?",
      Date.now() + leaseTimes(this.config).recheckMs,
      status,
      leaseId,
    );
  }

  private checkFailed(current: LeaseRow, fields: Record<string, unknown>, failure: string | null): void {
    const failedChecks = current.failed_checks + 1;
    const max = this.config.CALL_LEASE_MAX_FAILED_CHECKS;
    if (failedChecks >= max) {
      this.freeExpired(current.lease_id, "check_failed", {
        ...fields,
        why: `the call's status could not be checked ${failedChecks} times`,
        error: failure,
      });
    } else {
      this.sql.exec(
        "UPDATE call_leases SET expires_ms = ?, failed_checks = ? WHERE lease_id = ?",
        Date.now() + leaseTimes(this.config).recheckMs,
        failedChecks,
        current.lease_id,
      );
      log.warn("call lease status check failed; will retry", { ...fields, failedChecks, max, error: failure });
    }
  }

  private freeExpired(leaseId: string, reason: LeaseFreeReason, fields: Record<string, unknown>): void {
    this.free(leaseId, reason, Date.now());
    log.warn("call lease freed by the sweep", { ...fields, reason });
  }

  /**
   * Frees a lease (synchronous; one write with the caller's): drop it, remember its call ended, and
   * let its platform slot go idle for the next call (or back to the platform, in the background).
   */
  private free(leaseId: string, reason: LeaseFreeReason, now: number, known?: LeaseRow): void {
    const row = known ?? this.row(leaseId);
    this.sql.exec("DELETE FROM call_leases WHERE lease_id = ?", leaseId);
    if (row?.call_sid)
      this.sql.exec("INSERT OR IGNORE INTO call_ended (ref, ended_ms) VALUES (?, ?)", row.call_sid, now);
    this.block.release(leaseId, reason, now);
  }

  /**
   * Arms the alarm for the earliest lease expiry, slot return or outbox retry, unless an earlier
   * alarm is already set. `dueBy`: the caller's change needs the alarm by then at the latest; if
   * it already fires by then, the other times were covered before and nothing is queried (a
   * status callback's hot path).
   */
  private async arm(dueBy?: number): Promise<void> {
    if (dueBy !== undefined && this.alarm.coversBy(dueBy)) return;
    const leasesNext = this.sql.exec<{ t: number | null }>("SELECT MIN(expires_ms) AS t FROM call_leases").one().t;
    const times = [leasesNext, this.block.nextDue(), this.callLogs.nextDue()].filter((t): t is number => t !== null);
    if (times.length > 0) await this.alarm.armAt(Math.min(...times));
  }
}
