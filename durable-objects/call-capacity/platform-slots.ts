/**
 * The platform-wide call cap (MAX_CONCURRENT_CALLS), inbound and outbound, across all businesses:
 * the logic CallCapacityDO delegates to. One SQLite row per slot granted to a business, keyed by a
 * slot id the BusinessDO chose, so acquire and release are idempotent. A business keeps a granted
 * slot for its next calls for a short while (its block, durable-objects/business/platform-block.ts),
 * so the rows here are its calls plus its idle slots, and the cap holds over their sum.
 *
 * A business refused because the platform is full while others hold idle slots is not refused
 * for that: before refusing, this object asks every holder to hand its idle slots back and tries
 * again (one such round at a time; a holder that does not answer in RECLAIM_WAIT_MS is not waited
 * for, and its answer, when it comes, still frees what it gave back). The round also tells every
 * holder that others wait (`contendedUntil`, CONTENDED_MS ahead; each grant carries it too): until
 * then businesses keep no idle slots, so each slot freed goes back here and is first-come for all.
 * While that holds, a refusal does not start another round (holders have nothing idle to give)
 * unless the last one was more than half of CONTENDED_MS ago.
 *
 * Slots are normally returned by the BusinessDO that holds them. As a safety net of its own, each
 * slot also expires (after its call's full lifetime plus a grace the BusinessDO's sweep uses
 * first); at expiry this object asks the BusinessDO whether it still holds the slot — held →
 * adopt its expiry, not held → free; if the BusinessDO cannot be asked CALL_LEASE_MAX_FAILED_CHECKS
 * times in a row, free anyway. Every free is counted by reason, persisted, for /metrics.
 *
 * Which calls are active (by business and kind) is the businesses' to say: the snapshot asks each
 * business holding slots here (a read of one small table each, at scrape time only).
 */
import { getConfig } from "../../worker/config";
import { log } from "../../worker/lib/log";
import type { DurableObjectBindings } from "../bindings";
import { leaseTimes } from "../business/call-leases";
import { businessObjectName } from "../names";

/**
 * Why a slot was freed. `released` and `call_ended`: a call's normal end; `returned`: idle past its
 * reuse time; `reclaimed`: idle, handed back because the platform was full; the rest are expiries.
 */
export type PlatformFreeReason =
  | "released"
  | "call_ended"
  | "returned"
  | "reclaimed"
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
  /** Chosen by the business; asking again with the same id is the same slot. */
  slotId: string;
  businessId: number;
  kind: "outbound" | "inbound";
  /** When this object's safety net looks at the slot if nobody released it. */
  expiresMs: number;
}

export interface AcquireResult {
  ok: boolean;
  /** Slots granted after this request (including it when ok; businesses' idle slots included). */
  active: number;
  limit: number;
  /** Until when businesses should keep no idle slots: others waited for one (0: nobody did). */
  contendedUntil: number;
}

export interface PlatformSnapshot {
  /** Calls holding a slot now, all businesses. */
  active: number;
  limit: number;
  /** Slots granted now: the calls and the businesses' idle slots (what the cap counts). */
  held: number;
  /** Calls by business id (all kinds). */
  byBusiness: Record<string, number>;
  byBusinessKind: { businessId: number; kind: "outbound" | "inbound"; active: number }[];
  /** Businesses holding slots that did not answer the snapshot: their slots count as active outbound calls. */
  unanswered: number[];
  /** Slots freed since this object was created, by reason (monotonic; persisted). */
  freedTotal: Partial<Record<PlatformFreeReason, number>>;
  /** Requests from businesses since this object started (in memory): how often admission reaches this object. */
  requests: { acquire: number; releaseMany: number; reclaimRounds: number };
}

/** How long a reclaim round waits for each holder before deciding without it. */
const RECLAIM_WAIT_MS = 1_000;
/** How long after a business had to wait for a slot the holders keep no idle slots. */
export const CONTENDED_MS = 10_000;

interface SlotRow {
  slot_id: string;
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
    // Before blocks a slot was keyed by its lease id (one slot per lease; the business names it alike).
    if (columns.some((c) => c.name === "lease_id"))
      this.sql.exec("ALTER TABLE slots RENAME COLUMN lease_id TO slot_id");
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

  private readonly requests = { acquire: 0, releaseMany: 0, reclaimRounds: 0 };
  /** The reclaim round in flight: concurrent refusals wait for the same one. */
  private reclaiming: Promise<void> | null = null;
  /** When the last reclaim round started, and until when holders were told to keep no idle slots (in memory). */
  private lastRoundAt = 0;
  private contendedUntil = 0;

  /**
   * Grants a slot if one is free; if not, asks the holders for their idle slots once and tries
   * again. Each try is synchronous: the check and the insert cannot interleave with anything.
   */
  async acquire(req: SlotRequest): Promise<AcquireResult> {
    this.requests.acquire++;
    const first = this.tryGrant(req);
    if (first.ok) {
      await this.arm();
      return first;
    }
    const now = Date.now();
    // Holders were told others wait, recently: they keep nothing idle, so a round would find nothing.
    if (this.reclaiming === null && now < this.contendedUntil && now - this.lastRoundAt < CONTENDED_MS / 2) {
      return first;
    }
    await this.reclaimIdle();
    const second = this.tryGrant(req);
    if (second.ok) await this.arm();
    return second;
  }

  private tryGrant(req: SlotRequest): AcquireResult {
    const limit = this.limit;
    const contendedUntil = this.contendedUntil;
    if (this.sql.exec("SELECT 1 FROM slots WHERE slot_id = ?", req.slotId).toArray().length > 0) {
      return { ok: true, active: this.active(), limit, contendedUntil };
    }
    const active = this.active();
    if (active >= limit) return { ok: false, active, limit, contendedUntil };
    this.sql.exec(
      "INSERT INTO slots (slot_id, business_id, kind, expires_ms) VALUES (?, ?, ?, ?)",
      req.slotId,
      req.businessId,
      req.kind,
      req.expiresMs,
    );
    return { ok: true, active: active + 1, limit, contendedUntil };
  }

  /** Asks every business holding slots to hand back its idle ones, and to keep none for a while (one round at a time). */
  private reclaimIdle(): Promise<void> {
    this.reclaiming ??= (async () => {
      this.requests.reclaimRounds++;
      this.lastRoundAt = Date.now();
      this.contendedUntil = this.lastRoundAt + CONTENDED_MS;
      const contendedUntil = this.contendedUntil;
      const holders = this.sql
        .exec<{ business_id: number }>("SELECT DISTINCT business_id FROM slots")
        .toArray()
        .map((r) => r.business_id);
      await Promise.all(
        holders.map((businessId) => {
          const answer = this.env.BUSINESS_DO.getByName(businessObjectName(businessId))
            .reclaimIdleCallSlots(businessId, contendedUntil)
            .then((slotIds) => {
              for (const slotId of slotIds) this.freeNow(slotId, "reclaimed", businessId);
            })
            .catch((err) =>
              log.warn("a business could not hand back its idle call slots", { businessId, error: String(err) }),
            );
          return Promise.race([answer, new Promise((resolve) => setTimeout(resolve, RECLAIM_WAIT_MS))]);
        }),
      );
    })().finally(() => {
      this.reclaiming = null;
    });
    return this.reclaiming;
  }

  /** Frees this slot. Idempotent. */
  release(slotId: string, reason: PlatformFreeReason): { released: boolean; active: number } {
    const released = this.freeNow(slotId, reason);
    return { released, active: this.active() };
  }

  /** Frees many slots in one call (a BusinessDO's release outbox). Idempotent. */
  releaseMany(items: { slotId: string; reason: PlatformFreeReason }[]): { released: number; active: number } {
    this.requests.releaseMany++;
    let released = 0;
    for (const item of items) if (this.freeNow(item.slotId, item.reason)) released++;
    return { released, active: this.active() };
  }

  /** `businessId`: free only if that business holds it (a reclaim answer names its own slots). */
  private freeNow(slotId: string, reason: PlatformFreeReason, businessId?: number): boolean {
    const freed =
      (businessId === undefined
        ? this.sql.exec("DELETE FROM slots WHERE slot_id = ? RETURNING slot_id", slotId)
        : this.sql.exec("DELETE FROM slots WHERE slot_id = ? AND business_id = ? RETURNING slot_id", slotId, businessId)
      ).toArray().length > 0;
    if (freed) {
      this.sql.exec(
        "INSERT INTO freed_total (reason, n) VALUES (?, 1) ON CONFLICT (reason) DO UPDATE SET n = n + 1",
        reason,
      );
    }
    return freed;
  }

  async snapshot(): Promise<PlatformSnapshot> {
    const holders = this.sql
      .exec<{ business_id: number; n: number }>(
        "SELECT business_id, COUNT(*) AS n FROM slots GROUP BY business_id ORDER BY business_id",
      )
      .toArray();
    const held = holders.reduce((sum, h) => sum + h.n, 0);
    const uses = await Promise.all(
      holders.map(async (h) => {
        try {
          const use = await this.env.BUSINESS_DO.getByName(businessObjectName(h.business_id)).callSlotUse(
            h.business_id,
          );
          return { businessId: h.business_id, outbound: use.outbound, inbound: use.inbound, answered: true };
        } catch (err) {
          log.warn("call snapshot: a business holding slots did not answer", {
            businessId: h.business_id,
            error: String(err),
          });
          // Counted as busy with everything it holds: the snapshot never shows more room than there is.
          return { businessId: h.business_id, outbound: h.n, inbound: 0, answered: false };
        }
      }),
    );
    const byBusiness: Record<string, number> = {};
    const byBusinessKind: PlatformSnapshot["byBusinessKind"] = [];
    let active = 0;
    for (const u of uses) {
      for (const kind of ["inbound", "outbound"] as const) {
        if (u[kind] > 0) byBusinessKind.push({ businessId: u.businessId, kind, active: u[kind] });
      }
      if (u.outbound + u.inbound > 0) byBusiness[String(u.businessId)] = u.outbound + u.inbound;
      active += u.outbound + u.inbound;
    }
    const freedTotal: Partial<Record<PlatformFreeReason, number>> = {};
    for (const r of this.sql.exec<{ reason: PlatformFreeReason; n: number }>("SELECT reason, n FROM freed_total")) {
      freedTotal[r.reason] = r.n;
    }
    return {
      active,
      limit: this.limit,
      held,
      byBusiness,
      byBusinessKind,
      unanswered: uses.filter((u) => !u.answered).map((u) => u.businessId),
      freedTotal,
      requests: { ...this.requests },
    };
  }

  /** The safety net: for each expired slot ask its BusinessDO whether it still holds the slot. */
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
        const fields = { slotId: slot.slot_id, businessId: slot.business_id, kind: slot.kind };
        try {
          const state = await this.env.BUSINESS_DO.getByName(businessObjectName(slot.business_id)).callSlotState(
            slot.business_id,
            slot.slot_id,
          );
          if (state.held && state.expiresAt !== null) {
            this.sql.exec(
              "UPDATE slots SET expires_ms = ?, failed_checks = 0 WHERE slot_id = ?",
              Math.max(state.expiresAt, Date.now()) + platformGraceMs,
              slot.slot_id,
            );
          } else if (this.freeNow(slot.slot_id, "orphaned")) {
            log.warn("platform call slot freed: its business no longer holds it", fields);
          }
        } catch (err) {
          const failedChecks = slot.failed_checks + 1;
          if (failedChecks >= config.CALL_LEASE_MAX_FAILED_CHECKS) {
            if (this.freeNow(slot.slot_id, "orphan_check_failed")) {
              log.error("platform call slot freed: its business could not be asked", {
                ...fields,
                failedChecks,
                error: String(err),
              });
            }
          } else {
            this.sql.exec(
              "UPDATE slots SET expires_ms = ?, failed_checks = ? WHERE slot_id = ?",
              Date.now() + recheckMs,
              failedChecks,
              slot.slot_id,
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
