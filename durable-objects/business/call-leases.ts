/**
 * Call-slot leases of one business, held in its BusinessDO's SQLite storage. The BusinessDO
 * delegates its call RPCs here; this is the one home of call admission.
 *
 * Why it holds under races: a Durable Object runs one event at a time only until it awaits
 * something outside itself. So `reserve` checks the business cap and records the lease as
 * `pending` synchronously — before it awaits the platform object (CallCapacityDO) — and every
 * later reserve counts that pending row. A platform refusal (or error) rolls the row back. Nothing
 * here calls Twilio between check and commit: the caller dials after `reserve` returns.
 *
 * Leases expire. An unconfirmed lease (no CallSid) lives for the ring timeout; a confirmed one
 * for ring timeout + call time limit + margin. The alarm sweeps expired leases: no CallSid → free;
 * otherwise ask Twilio for the call's status → terminal (or unknown to Twilio) → free, live →
 * check again later, lookup failed CALL_LEASE_MAX_FAILED_CHECKS times in a row → free anyway.
 * Every free is logged with its reason. Freeing a lease also frees its platform slot through a
 * small outbox (retried by the alarm), so a failed cross-object call never leaks a platform slot.
 *
 * Inbound calls hold a lease here too (so the same release, expiry and snapshot apply), but they
 * neither count toward nor are limited by the business cap: that cap is for outbound dialing
 * (`outbound_call_cap`), and a customer calling in should not be turned away because a campaign is
 * dialing. Inbound calls are limited by the platform cap only (DESIGN: "Inbound calls take a slot
 * too (global cap)").
 */

import { isTerminalStatus } from "../../worker/calls/call-status";
import { type TwilioClient, twilioClient } from "../../worker/calls/twilio-client";
import { type Config, getConfig } from "../../worker/config";
import type { Env } from "../../worker/env";
import { log } from "../../worker/lib/log";
import type { PlatformFreeReason } from "../call-capacity/platform-slots";
import { PLATFORM_CALLS_OBJECT_NAME } from "../names";

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
  /** Calls holding platform slots after this admission (null for a repeated inbound reserve, which asks nobody). */
  platformActive: number | null;
  platformCap: number;
}

export interface CallRefusal {
  /** Which cap refused. */
  cap: "business" | "platform";
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
  state: "pending" | "reserved" | "confirmed";
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
  /** Platform slots freed here whose release has not reached CallCapacityDO yet (retried by the alarm). */
  pendingPlatformReleases: number;
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
  created_ms: number;
  expires_ms: number;
  failed_checks: number;
  last_status: string | null;
  [key: string]: SqlStorageValue;
}

const TOMBSTONE_TTL_MS = 24 * 3600_000;
const SWEEP_PARALLELISM = 8;

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

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    /** The business this object belongs to, once known (BusinessDO.identify). */
    private readonly businessIdOf: () => number | null,
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
    this.sql.exec("CREATE INDEX IF NOT EXISTS call_leases_expires ON call_leases (expires_ms)");
    // Platform slots freed here but not yet confirmed freed by CallCapacityDO.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS call_platform_outbox (
      lease_id TEXT PRIMARY KEY, reason TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL
    )`);
    // Calls whose end we saw before (or without) a confirm, so a late confirm frees its lease at once.
    this.sql.exec("CREATE TABLE IF NOT EXISTS call_ended (ref TEXT PRIMARY KEY, ended_ms INTEGER NOT NULL)");
    // Whenever the object wakes (e.g. after a crash mid-reserve), make sure its leases have an alarm.
    void ctx.blockConcurrencyWhile(() => this.arm());
  }

  private get config(): Config {
    return getConfig(this.env);
  }

  private platform() {
    return this.env.CALL_CAPACITY_DO.getByName(PLATFORM_CALLS_OBJECT_NAME);
  }

  private row(leaseId: string): LeaseRow | undefined {
    return this.sql.exec<LeaseRow>("SELECT * FROM call_leases WHERE lease_id = ?", leaseId).toArray()[0];
  }

  private outboundActive(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM call_leases WHERE kind = 'outbound'").one().n;
  }

  async reserve(businessId: number, req: ReserveRequest): Promise<ReserveResult> {
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
      if (existing) return { ok: true, lease: await this.leaseOf(businessId, existing, businessCap) };
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
    const expiresMs = now + (req.callSid ? times.fullMs : times.ringMs);
    this.sql.exec(
      "INSERT INTO call_leases (lease_id, kind, source, state, call_sid, created_ms, expires_ms) VALUES (?, ?, ?, 'pending', ?, ?, ?)",
      leaseId,
      kind,
      source,
      req.callSid ?? null,
      now,
      expiresMs,
    );
    // ---- from here other events interleave; the pending row already counts against the cap ----
    let platform: { ok: boolean; active: number; limit: number };
    try {
      platform = await this.platform().acquire({
        leaseId,
        businessId,
        kind,
        expiresMs: now + times.fullMs + times.platformGraceMs,
      });
    } catch (err) {
      // The acquire may or may not have landed: roll back here and free it there (idempotent), via the outbox.
      this.freeNow(leaseId, "released", Date.now());
      await this.flushOutbox([leaseId]);
      throw err;
    }
    if (!platform.ok) {
      this.sql.exec("DELETE FROM call_leases WHERE lease_id = ?", leaseId);
      return {
        ok: false,
        refusal: {
          cap: "platform",
          active: platform.active,
          limit: platform.limit,
          message: `platform cap ${platform.limit} reached (${platform.active} active)`,
        },
      };
    }
    const held = this.row(leaseId);
    if (!held) {
      // Swept while the platform answered (only if that took longer than the ring timeout).
      this.enqueuePlatformRelease(leaseId, "unconfirmed", Date.now());
      await this.flushOutbox([leaseId]);
      throw new Error(`reserve: lease ${leaseId} expired before the platform admitted it`);
    }
    this.sql.exec(
      "UPDATE call_leases SET state = ? WHERE lease_id = ?",
      req.callSid ? "confirmed" : "reserved",
      leaseId,
    );
    await this.arm();
    return {
      ok: true,
      lease: {
        ...(await this.leaseOf(businessId, { ...held, state: "reserved" }, businessCap)),
        platformActive: platform.active,
        platformCap: platform.limit,
      },
    };
  }

  private async leaseOf(businessId: number, row: LeaseRow, businessCap: number): Promise<CallLease> {
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
    const now = Date.now();
    if (this.sql.exec("SELECT 1 FROM call_ended WHERE ref = ?", callSid).toArray().length > 0) {
      // The call's terminal status arrived before this confirm: the slot is free now.
      this.freeNow(leaseId, "call_ended", now);
      await this.flushOutbox([leaseId]);
      log.info("call lease freed at confirm: the call had already ended", { leaseId, callSid });
      return { confirmed: false, reason: "call_ended" };
    }
    const expiresMs = row.created_ms + leaseTimes(this.config).fullMs;
    this.sql.exec(
      "UPDATE call_leases SET call_sid = ?, state = 'confirmed', expires_ms = ? WHERE lease_id = ?",
      callSid,
      expiresMs,
      leaseId,
    );
    await this.arm();
    return { confirmed: true, expiresAt: expiresMs };
  }

  /** Frees the lease with this lease id or CallSid. Idempotent: an unknown or already freed ref is a no-op. */
  async release(ref: string, reason: LeaseFreeReason = "released"): Promise<ReleaseResult> {
    const now = Date.now();
    const row = this.sql
      .exec<LeaseRow>("SELECT * FROM call_leases WHERE lease_id = ? OR call_sid = ?", ref, ref)
      .toArray()[0];
    if (!row) {
      // Perhaps a CallSid whose confirm has not arrived yet: remember it ended.
      this.sql.exec("INSERT OR IGNORE INTO call_ended (ref, ended_ms) VALUES (?, ?)", ref, now);
      return { released: false };
    }
    this.freeNow(row.lease_id, reason, now);
    await this.flushOutbox([row.lease_id]);
    return { released: true, leaseId: row.lease_id };
  }

  /** For CallCapacityDO's safety net: does this object still hold the lease, and until when? */
  leaseState(leaseId: string): { held: boolean; expiresAt: number | null } {
    const row = this.row(leaseId);
    return row ? { held: true, expiresAt: row.expires_ms } : { held: false, expiresAt: null };
  }

  snapshot(): CallSlotsSnapshot {
    const rows = this.sql.exec<LeaseRow>("SELECT * FROM call_leases ORDER BY created_ms").toArray();
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
      pendingPlatformReleases: this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM call_platform_outbox").one().n,
    };
  }

  /** The alarm: retry platform releases, sweep expired leases, prune old tombstones, re-arm. */
  async onAlarm(): Promise<void> {
    const now = Date.now();
    await this.flushOutbox();
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
    }
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
    if (!lease.call_sid) {
      await this.freeExpired(lease.lease_id, "unconfirmed", { ...fields, why: "no CallSid within the ring timeout" });
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
    const { recheckMs } = leaseTimes(this.config);
    const now = Date.now();
    if (notFound) {
      await this.freeExpired(lease.lease_id, "not_found", { ...fields, why: "Twilio does not know the call" });
    } else if (status !== null && isTerminalStatus(status)) {
      await this.freeExpired(lease.lease_id, "ended", { ...fields, status, why: "Twilio reports the call ended" });
    } else if (status !== null) {
      this.sql.exec(
        "UPDATE call_leases SET expires_ms = ?, failed_checks = 0, last_status = ? WHERE lease_id = ?",
        now + recheckMs,
        status,
        lease.lease_id,
      );
      log.info("call lease extended: the call is still live", { ...fields, status, recheckInMs: recheckMs });
    } else {
      const failedChecks = current.failed_checks + 1;
      const max = this.config.CALL_LEASE_MAX_FAILED_CHECKS;
      if (failedChecks >= max) {
        await this.freeExpired(lease.lease_id, "check_failed", {
          ...fields,
          why: `the call's status could not be checked ${failedChecks} times`,
          error: failure,
        });
      } else {
        this.sql.exec(
          "UPDATE call_leases SET expires_ms = ?, failed_checks = ? WHERE lease_id = ?",
          now + recheckMs,
          failedChecks,
          lease.lease_id,
        );
        log.warn("call lease status check failed; will retry", { ...fields, failedChecks, max, error: failure });
      }
    }
  }

  private async freeExpired(leaseId: string, reason: LeaseFreeReason, fields: Record<string, unknown>): Promise<void> {
    this.freeNow(leaseId, reason, Date.now());
    log.warn("call lease freed by the sweep", { ...fields, reason });
    await this.flushOutbox([leaseId]);
  }

  /** Synchronous part of freeing: drop the lease, remember its call ended, queue the platform release. */
  private freeNow(leaseId: string, reason: LeaseFreeReason, now: number): void {
    const row = this.row(leaseId);
    this.sql.exec("DELETE FROM call_leases WHERE lease_id = ?", leaseId);
    if (row?.call_sid)
      this.sql.exec("INSERT OR IGNORE INTO call_ended (ref, ended_ms) VALUES (?, ?)", row.call_sid, now);
    this.enqueuePlatformRelease(leaseId, reason, now);
  }

  private enqueuePlatformRelease(leaseId: string, reason: LeaseFreeReason, now: number): void {
    this.sql.exec(
      "INSERT OR IGNORE INTO call_platform_outbox (lease_id, reason, next_ms) VALUES (?, ?, ?)",
      leaseId,
      reason,
      now,
    );
  }

  /** Sends queued platform releases (all due ones, or just `only`); failures back off and wait for the alarm. */
  private async flushOutbox(only?: string[]): Promise<void> {
    const now = Date.now();
    const rows = (
      only
        ? only.flatMap((id) =>
            this.sql
              .exec<{ lease_id: string; reason: LeaseFreeReason; attempts: number }>(
                "SELECT lease_id, reason, attempts FROM call_platform_outbox WHERE lease_id = ?",
                id,
              )
              .toArray(),
          )
        : this.sql
            .exec<{ lease_id: string; reason: LeaseFreeReason; attempts: number }>(
              "SELECT lease_id, reason, attempts FROM call_platform_outbox WHERE next_ms <= ?",
              now,
            )
            .toArray()
    ) as { lease_id: string; reason: LeaseFreeReason; attempts: number }[];
    if (rows.length === 0) return;
    let failed = false;
    await Promise.all(
      rows.map(async (r) => {
        try {
          await this.platform().release(r.lease_id, r.reason);
          this.sql.exec("DELETE FROM call_platform_outbox WHERE lease_id = ?", r.lease_id);
        } catch (err) {
          failed = true;
          const attempts = r.attempts + 1;
          const backoffMs = Math.min(300_000, 1000 * 2 ** Math.min(attempts, 9));
          this.sql.exec(
            "UPDATE call_platform_outbox SET attempts = ?, next_ms = ? WHERE lease_id = ?",
            attempts,
            Date.now() + backoffMs,
            r.lease_id,
          );
          log.warn("platform slot release failed; will retry", { leaseId: r.lease_id, attempts, error: String(err) });
        }
      }),
    );
    if (failed) await this.arm();
  }

  /** Arms the alarm for the earliest lease expiry or outbox retry, unless an earlier alarm is already set. */
  private async arm(): Promise<void> {
    const next = this.sql
      .exec<{ t: number | null }>(
        "SELECT MIN(t) AS t FROM (SELECT MIN(expires_ms) AS t FROM call_leases UNION ALL SELECT MIN(next_ms) FROM call_platform_outbox)",
      )
      .one().t;
    if (next === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || next < current) await this.ctx.storage.setAlarm(next);
  }
}
