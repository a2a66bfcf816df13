/**
 * The platform call slots one business holds: its block. CallCapacityDO counts every slot it
 * grants (the platform cap holds over the sum of all blocks); this business uses a slot it holds
 * for one call at a time, and when a call ends keeps its slot idle for the next call, so a
 * business that keeps dialing asks the platform object only when it needs more slots than it holds.
 *
 * Why the platform cap still holds: a slot is written here (in the same commit as the lease that
 * uses it) only after the platform granted it, and the platform never counts a slot freed before
 * this business wrote it gone: returning a slot deletes it here first, then tells the platform
 * (an outbox row, sent in the background, retried by the alarm). So the slots in use here are
 * always a subset of the slots the platform counts for this business.
 *
 * Small, short-lived, and given up when others wait (fairness):
 * - a slot freed by a call's end stays idle for this business's next call (a call ends, the next
 *   one starts: the common case, and at a steady N calls at once, N slots cycle without a
 *   platform call); so a business never holds more slots than it had calls at once lately;
 * - an idle slot goes back after IDLE_RETURN_MS unused, so a burst's slots go back once it is over;
 * - a business the platform refuses while others hold idle slots does not wait for them: the
 *   platform asks every holder for its idle slots (`reclaimIdle`) and tries again;
 * - once the platform was full with someone waiting it says so (`contendedUntil`, in each grant
 *   and each reclaim): until then a slot goes back when its call ends, never kept, so every
 *   business competes for each freed slot first-come, as it would without blocks.
 *
 * If this object dies holding slots, the platform's own safety net frees them: every slot has an
 * expiry there, at which the platform asks here whether the slot is still held (`state`) — held by
 * a call: adopt its lease's expiry; idle: until it goes back; unknown here: free.
 */
import { log } from "../../worker/lib/log";
import type { PlatformCallsBindings } from "../bindings";
import type { PlatformFreeReason } from "../call-capacity/platform-slots";
import { PLATFORM_CALLS_OBJECT_NAME } from "../names";
import { outboxRetryDelayMs } from "../outbox-backoff";
import type { SharedAlarm } from "../shared-alarm";

/** An idle slot goes back to the platform after this long unused. */
export const IDLE_RETURN_MS = 10_000;
/** A platform release sent in the background is retried by the alarm after this long. */
const OUTBOX_GRACE_MS = 10_000;
/** Platform releases per RPC. */
const RELEASE_BATCH = 100;

/** A lease's end as the platform counts it: normal ends keep the slot; expiries hand it back with their reason. */
const NORMAL_ENDS: readonly PlatformFreeReason[] = ["released", "call_ended"];

export interface AcquireOutcome {
  /** Null: refused, the platform is full. */
  slotId: string | null;
  active: number;
  limit: number;
}

interface SlotRow {
  slot_id: string;
  lease_id: string | null;
  idle_since_ms: number | null;
  [key: string]: SqlStorageValue;
}

export class PlatformBlock {
  /** Slots asked of the platform whose answer has not been written here yet (the safety net may ask). */
  private readonly pending = new Set<string>();
  /** The background platform-release flush in flight, and whether another is wanted after it. */
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  /** Until when the platform said others wait for slots (in memory: after a restart, the next grant says again). */
  private contendedUntil = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: PlatformCallsBindings,
    private readonly alarm: SharedAlarm,
    /** Re-arms the object's alarm for everything due (the owner's; covers nextDue()). */
    private readonly arm: () => Promise<void>,
  ) {
    // lease_id: the call using the slot now; NULL = idle (since idle_since_ms), kept for this business's next call.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS call_platform_slots (
      slot_id TEXT PRIMARY KEY, lease_id TEXT UNIQUE, granted_ms INTEGER NOT NULL, idle_since_ms INTEGER
    )`);
    // Platform slots given up here but not yet confirmed freed by CallCapacityDO.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS call_platform_outbox (
      slot_id TEXT PRIMARY KEY, reason TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL
    )`);
    // Before blocks its key was the lease id (one slot per lease, named alike).
    const outboxColumns = this.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('call_platform_outbox')");
    if (outboxColumns.toArray().some((c) => c.name === "lease_id")) {
      this.sql.exec("ALTER TABLE call_platform_outbox RENAME COLUMN lease_id TO slot_id");
    }
    // Leases from before blocks held one platform slot each, named by the lease id: adopt them as
    // slots in use (the platform's rows carry the same id).
    this.sql.exec(`INSERT OR IGNORE INTO call_platform_slots (slot_id, lease_id, granted_ms)
      SELECT l.lease_id, l.lease_id, l.created_ms FROM call_leases l
      WHERE NOT EXISTS (SELECT 1 FROM call_platform_slots s WHERE s.lease_id = l.lease_id)`);
  }

  private platform() {
    return this.env.CALL_CAPACITY_DO.getByName(PLATFORM_CALLS_OBJECT_NAME);
  }

  /**
   * An idle slot this business holds, now used by `leaseId`; null if none. Synchronous, so the
   * caller's check, this and its lease row are one step no other event can interleave with.
   */
  takeIdle(leaseId: string): string | null {
    const row = this.sql
      .exec<{ slot_id: string }>(
        "SELECT slot_id FROM call_platform_slots WHERE lease_id IS NULL ORDER BY idle_since_ms DESC LIMIT 1",
      )
      .toArray()[0];
    if (!row) return null;
    this.sql.exec(
      "UPDATE call_platform_slots SET lease_id = ?, idle_since_ms = NULL WHERE slot_id = ?",
      leaseId,
      row.slot_id,
    );
    return row.slot_id;
  }

  /**
   * A new slot from the platform for `leaseId`, written here as soon as it is granted (the caller
   * writes its lease row in the same turn: one commit). A refusal says how full the platform is.
   * On an error the slot may or may not have been granted: it is handed back (idempotent there).
   */
  async acquire(
    businessId: number,
    kind: "outbound" | "inbound",
    leaseId: string,
    expiresMs: number,
  ): Promise<AcquireOutcome> {
    const slotId = crypto.randomUUID();
    this.pending.add(slotId);
    let result: { ok: boolean; active: number; limit: number; contendedUntil: number };
    try {
      result = await this.platform().acquire({ slotId, businessId, kind, expiresMs });
    } catch (err) {
      this.pending.delete(slotId);
      this.enqueueReturn(slotId, "released", Date.now());
      this.flushInBackground();
      throw err;
    }
    this.pending.delete(slotId);
    this.contendedUntil = Math.max(this.contendedUntil, result.contendedUntil);
    if (!result.ok) return { slotId: null, active: result.active, limit: result.limit };
    this.sql.exec(
      "INSERT INTO call_platform_slots (slot_id, lease_id, granted_ms) VALUES (?, ?, ?)",
      slotId,
      leaseId,
      Date.now(),
    );
    return { slotId, active: result.active, limit: result.limit };
  }

  /**
   * The call on `leaseId` ended (its lease is gone). A normal end keeps the slot idle for the next
   * call, unless others wait for slots; otherwise (and after an expiry, whose reason the platform
   * counts) it goes back. Synchronous: part of the caller's one write.
   */
  release(leaseId: string, reason: PlatformFreeReason, now: number): void {
    const row = this.sql
      .exec<{ slot_id: string }>("SELECT slot_id FROM call_platform_slots WHERE lease_id = ?", leaseId)
      .toArray()[0];
    if (!row) return;
    if (NORMAL_ENDS.includes(reason) && now >= this.contendedUntil) {
      this.sql.exec(
        "UPDATE call_platform_slots SET lease_id = NULL, idle_since_ms = ? WHERE slot_id = ?",
        now,
        row.slot_id,
      );
      this.armBy(now + IDLE_RETURN_MS);
      return;
    }
    this.sql.exec("DELETE FROM call_platform_slots WHERE slot_id = ?", row.slot_id);
    this.enqueueReturn(row.slot_id, reason, now);
    this.flushInBackground();
  }

  /**
   * The platform is full and someone is waiting: hand back every idle slot now (their ids), and
   * keep none until `contendedUntil`.
   */
  reclaimIdle(contendedUntil: number, now: number): string[] {
    this.contendedUntil = Math.max(this.contendedUntil, contendedUntil);
    const ids = this.sql
      .exec<{ slot_id: string }>("DELETE FROM call_platform_slots WHERE lease_id IS NULL RETURNING slot_id")
      .toArray()
      .map((r) => r.slot_id);
    // The platform frees them from this answer; the outbox row is for an answer that got lost.
    for (const id of ids) this.enqueueReturn(id, "reclaimed", now);
    return ids;
  }

  /**
   * For the platform's safety net: is this slot held here, and until when? In use → its lease's
   * expiry; idle → when it goes back; being granted → a ring timeout.
   */
  state(slotId: string, leaseExpiry: (leaseId: string) => number | null, ringMs: number, now: number) {
    if (this.pending.has(slotId)) return { held: true, expiresAt: now + ringMs };
    const row = this.sql
      .exec<SlotRow>("SELECT slot_id, lease_id, idle_since_ms FROM call_platform_slots WHERE slot_id = ?", slotId)
      .toArray()[0];
    if (!row) return { held: false, expiresAt: null };
    const expiresAt = row.lease_id === null ? null : leaseExpiry(row.lease_id);
    return { held: true, expiresAt: expiresAt ?? Math.max(now, (row.idle_since_ms ?? now) + IDLE_RETURN_MS) };
  }

  /** Slots held (in use and idle) and idle, and releases not yet confirmed by the platform. */
  counts(): { held: number; idle: number; pendingReleases: number } {
    const slots = this.sql
      .exec<{ held: number; idle: number | null }>(
        "SELECT COUNT(*) AS held, SUM(lease_id IS NULL) AS idle FROM call_platform_slots",
      )
      .one();
    const pendingReleases = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM call_platform_outbox").one().n;
    return { held: slots.held, idle: slots.idle ?? 0, pendingReleases };
  }

  /** The alarm's part: slots idle for IDLE_RETURN_MS go back; due releases are sent. */
  async onAlarm(now: number): Promise<void> {
    const aged = this.sql
      .exec<{ slot_id: string }>(
        "DELETE FROM call_platform_slots WHERE lease_id IS NULL AND idle_since_ms <= ? RETURNING slot_id",
        now - IDLE_RETURN_MS,
      )
      .toArray();
    for (const r of aged) this.enqueueReturn(r.slot_id, "returned", now);
    // Returned slots go now; others only when due (the background flush normally sent them first).
    await this.flush(aged.length > 0 ? undefined : now);
  }

  /** When the alarm is next needed here: an idle slot going back, or an outbox retry. */
  nextDue(): number | null {
    return this.sql
      .exec<{ t: number | null }>(
        `SELECT MIN(t) AS t FROM (
           SELECT MIN(idle_since_ms) + ${IDLE_RETURN_MS} AS t FROM call_platform_slots WHERE lease_id IS NULL
           UNION ALL SELECT MIN(next_ms) FROM call_platform_outbox)`,
      )
      .one().t;
  }

  /** Sends every queued release now and waits for it (the alarm's sweep, which is off every caller's path). */
  async flushAll(): Promise<void> {
    this.flushInBackground();
    await this.flushing;
  }

  private enqueueReturn(slotId: string, reason: PlatformFreeReason, now: number): void {
    // Due for the alarm only after the grace: the background flush (or the platform's own reclaim) normally settles it first.
    this.sql.exec(
      "INSERT OR IGNORE INTO call_platform_outbox (slot_id, reason, next_ms) VALUES (?, ?, ?)",
      slotId,
      reason,
      now + OUTBOX_GRACE_MS,
    );
    this.armBy(now + OUTBOX_GRACE_MS);
  }

  /** Makes sure the alarm fires by `atMs`, without a storage round trip when it already does. */
  private armBy(atMs: number): void {
    if (this.alarm.coversBy(atMs)) return;
    void this.arm().catch((err) => log.error("could not arm the call slot alarm", { error: String(err) }));
  }

  /**
   * Sends every queued platform release in the background, in batches; releases queued while one
   * batch is in flight go in the next. Nobody waits for it: the outbox row is the promise.
   */
  private flushInBackground(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = (async () => {
      do {
        this.flushAgain = false;
        await this.flush();
      } while (this.flushAgain);
    })()
      .catch((err) => log.error("platform release flush failed", { error: String(err) }))
      .finally(() => {
        this.flushing = null;
      });
  }

  /** Sends queued platform releases (all, or those due by `dueBy`); failures back off and wait for the alarm. */
  private async flush(dueBy?: number): Promise<void> {
    type OutboxRow = { slot_id: string; reason: PlatformFreeReason; attempts: number };
    const rows = (
      dueBy === undefined
        ? this.sql.exec<OutboxRow>("SELECT slot_id, reason, attempts FROM call_platform_outbox").toArray()
        : this.sql
            .exec<OutboxRow>("SELECT slot_id, reason, attempts FROM call_platform_outbox WHERE next_ms <= ?", dueBy)
            .toArray()
    ) as OutboxRow[];
    for (let i = 0; i < rows.length; i += RELEASE_BATCH) {
      const batch = rows.slice(i, i + RELEASE_BATCH);
      try {
        await this.platform().releaseMany(batch.map((r) => ({ slotId: r.slot_id, reason: r.reason })));
        for (const r of batch) this.sql.exec("DELETE FROM call_platform_outbox WHERE slot_id = ?", r.slot_id);
      } catch (err) {
        for (const r of batch) {
          const attempts = r.attempts + 1;
          this.sql.exec(
            "UPDATE call_platform_outbox SET attempts = ?, next_ms = ? WHERE slot_id = ?",
            attempts,
            Date.now() + outboxRetryDelayMs(attempts),
            r.slot_id,
          );
        }
        log.warn("platform slot release failed; will retry", { slots: batch.length, error: String(err) });
        await this.arm();
      }
    }
  }
}
