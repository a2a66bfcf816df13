/**
 * The platform-wide call cap (MAX_CONCURRENT_CALLS), inbound and outbound, across all businesses:
 * the logic CallCapacityDO delegates to. One SQLite row per held slot, keyed by the BusinessDO's
 * lease id, so acquire and release are idempotent.
 *
 * Slots are normally freed by the BusinessDO that acquired them. As a safety net of its own, each
 * slot also expires (after the lease's full lifetime plus a grace the BusinessDO's sweep uses
 * first); at expiry this object asks the BusinessDO whether it still holds the lease — held →
 * adopt its expiry, not held → free; if the BusinessDO cannot be asked CALL_LEASE_MAX_FAILED_CHECKS
 * times in a row, free anyway. Every free is counted by reason, persisted, for /metrics.
 */
import { getConfig } from "../../worker/config";
import { log } from "../../worker/lib/log";
import type { DurableObjectBindings } from "../bindings";
import { leaseTimes } from "../business/call-leases";
import { businessObjectName } from "../names";

/** Why a slot was freed. The first two are normal ends; the rest are expiries (lease or slot). */
export type PlatformFreeReason =
  | "released"
  | "call_ended"
  | "unconfirmed"
  | "ended"
  | "not_found"
  | "check_failed"
  | "orphaned"
  | "orphan_check_failed";

export const EXPIRY_REASONS: readonly PlatformFreeReason[] = [
  "unconfirmed",
  "ended",
  "not_found",
  "check_failed",
  "orphaned",
  "orphan_check_failed",
];

export interface SlotRequest {
  leaseId: string;
  businessId: number;
  kind: "outbound" | "inbound";
  /** When this object's safety net looks at the slot if nobody released it. */
  expiresMs: number;
}

export interface AcquireResult {
  ok: boolean;
  /** Slots held after this request (including it when ok). */
  active: number;
  limit: number;
}

export interface PlatformSnapshot {
  active: number;
  limit: number;
  /** Slots by business id (all kinds). */
  byBusiness: Record<string, number>;
  byBusinessKind: { businessId: number; kind: "outbound" | "inbound"; active: number }[];
  /** Slots freed since this object was created, by reason (monotonic; persisted). */
  freedTotal: Partial<Record<PlatformFreeReason, number>>;
}

interface SlotRow {
  lease_id: string;
  business_id: number;
  kind: "outbound" | "inbound";
  expires_ms: number;
  failed_checks: number;
  [key: string]: SqlStorageValue;
}

export class PlatformSlots {
  private readonly sql: SqlStorage;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: DurableObjectBindings,
  ) {
    this.sql = ctx.storage.sql;
    // `slots` is created by CallCapacityDO; the safety net needs a failure counter on it.
    const columns = this.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('slots')").toArray();
    if (!columns.some((c) => c.name === "failed_checks")) {
      this.sql.exec("ALTER TABLE slots ADD COLUMN failed_checks INTEGER NOT NULL DEFAULT 0");
    }
    this.sql.exec("CREATE INDEX IF NOT EXISTS slots_expires ON slots (expires_ms)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS freed_total (reason TEXT PRIMARY KEY, n INTEGER NOT NULL)");
  }

  private get limit(): number {
    return getConfig(this.env).MAX_CONCURRENT_CALLS;
  }

  private active(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM slots").one().n;
  }

  /** Takes a slot if one is free. Synchronous: the check and the insert cannot interleave with anything. */
  async acquire(req: SlotRequest): Promise<AcquireResult> {
    const limit = this.limit;
    if (this.sql.exec("SELECT 1 FROM slots WHERE lease_id = ?", req.leaseId).toArray().length > 0) {
      return { ok: true, active: this.active(), limit };
    }
    const active = this.active();
    if (active >= limit) return { ok: false, active, limit };
    this.sql.exec(
      "INSERT INTO slots (lease_id, business_id, kind, expires_ms) VALUES (?, ?, ?, ?)",
      req.leaseId,
      req.businessId,
      req.kind,
      req.expiresMs,
    );
    await this.arm();
    return { ok: true, active: active + 1, limit };
  }

  /** Frees the slot of this lease. Idempotent. */
  release(leaseId: string, reason: PlatformFreeReason): { released: boolean; active: number } {
    const released = this.freeNow(leaseId, reason);
    return { released, active: this.active() };
  }

  /** Frees the slots of many leases in one call (a BusinessDO's release outbox). Idempotent. */
  releaseMany(items: { leaseId: string; reason: PlatformFreeReason }[]): { released: number; active: number } {
    let released = 0;
    for (const item of items) if (this.freeNow(item.leaseId, item.reason)) released++;
    return { released, active: this.active() };
  }

  private freeNow(leaseId: string, reason: PlatformFreeReason): boolean {
    const freed =
      this.sql.exec("DELETE FROM slots WHERE lease_id = ? RETURNING lease_id", leaseId).toArray().length > 0;
    if (freed) {
      this.sql.exec(
        "INSERT INTO freed_total (reason, n) VALUES (?, 1) ON CONFLICT (reason) DO UPDATE SET n = n + 1",
        reason,
      );
    }
    return freed;
  }

  snapshot(): PlatformSnapshot {
    const rows = this.sql
      .exec<{ business_id: number; kind: "outbound" | "inbound"; n: number }>(
        "SELECT business_id, kind, COUNT(*) AS n FROM slots GROUP BY business_id, kind ORDER BY business_id, kind",
      )
      .toArray();
    const byBusiness: Record<string, number> = {};
    let active = 0;
    for (const r of rows) {
      byBusiness[String(r.business_id)] = (byBusiness[String(r.business_id)] ?? 0) + r.n;
      active += r.n;
    }
    const freedTotal: Partial<Record<PlatformFreeReason, number>> = {};
    for (const r of this.sql.exec<{ reason: PlatformFreeReason; n: number }>("SELECT reason, n FROM freed_total")) {
      freedTotal[r.reason] = r.n;
    }
    return {
      active,
      limit: this.limit,
      byBusiness,
      byBusinessKind: rows.map((r) => ({ businessId: r.business_id, kind: r.kind, active: r.n })),
      freedTotal,
    };
  }

  /** The safety net: for each expired slot ask its BusinessDO whether the lease is still held. */
  async onAlarm(): Promise<void> {
    // The alarm that woke us is gone now.
    this.armedAt = null;
    const config = getConfig(this.env);
    const { recheckMs, platformGraceMs } = leaseTimes(config);
    const due = this.sql
      .exec<SlotRow>("SELECT * FROM slots WHERE expires_ms <= ? ORDER BY expires_ms LIMIT 200", Date.now())
      .toArray();
    await Promise.all(
      due.map(async (slot) => {
        const fields = { leaseId: slot.lease_id, businessId: slot.business_id, kind: slot.kind };
        try {
          const state = await this.env.BUSINESS_DO.getByName(businessObjectName(slot.business_id)).callLeaseState(
            slot.business_id,
            slot.lease_id,
          );
          if (state.held && state.expiresAt !== null) {
            this.sql.exec(
              "UPDATE slots SET expires_ms = ?, failed_checks = 0 WHERE lease_id = ?",
              Math.max(state.expiresAt, Date.now()) + platformGraceMs,
              slot.lease_id,
            );
          } else if (this.freeNow(slot.lease_id, "orphaned")) {
            log.warn("platform call slot freed: its business no longer holds the lease", fields);
          }
        } catch (err) {
          const failedChecks = slot.failed_checks + 1;
          if (failedChecks >= config.CALL_LEASE_MAX_FAILED_CHECKS) {
            if (this.freeNow(slot.lease_id, "orphan_check_failed")) {
              log.error("platform call slot freed: its business could not be asked", {
                ...fields,
                failedChecks,
                error: String(err),
              });
            }
          } else {
            this.sql.exec(
              "UPDATE slots SET expires_ms = ?, failed_checks = ? WHERE lease_id = ?",
              Date.now() + recheckMs,
              failedChecks,
              slot.lease_id,
            );
          }
        }
      }),
    );
    await this.arm();
  }

  /** The alarm this object set (it is its only user), so the hot path needs no storage round trip to read it. */
  private armedAt: number | null | undefined;

  private async arm(): Promise<void> {
    const next = this.sql.exec<{ t: number | null }>("SELECT MIN(expires_ms) AS t FROM slots").one().t;
    if (next === null) return;
    if (this.armedAt === undefined) this.armedAt = await this.ctx.storage.getAlarm();
    if (this.armedAt === null || next < this.armedAt) {
      this.armedAt = next;
      await this.ctx.storage.setAlarm(next);
    }
  }
}
