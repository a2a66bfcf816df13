/**
 * The durable event outbox: inbound WhatsApp events are appended here (one fsynced transaction
 * per batch) before anything else happens with them, and deleted only after the edge answered 2xx.
 * `event_id` is unique, so the same message seen twice while still pending is stored once; the
 * edge dedupes whatever is delivered twice (after a crash between its 2xx and our delete).
 *
 * An event the edge keeps refusing (4xx) is moved to the dead lane (`outbox_dead`) by `park`, so
 * it stops holding back the events of its business behind it.
 */
import type { ShardEvent } from "../../../contracts/shard-events.js";
import type { Db } from "./db.js";

export interface OutboxRow {
  seq: number;
  payload: string;
}

export interface DeadRow {
  seq: number;
  businessId: number;
  eventId: string;
  payload: string;
  refusals: number;
  lastStatus: number;
  lastError: string;
  parkedAt: number;
}

export class Outbox {
  private readonly insert;
  private readonly selectLanes;
  private readonly selectBatch;
  private readonly deleteUpTo;
  private readonly stats;
  private readonly moveToDead;
  private readonly deleteOne;
  private readonly deadStats;
  private readonly selectDead;
  private listener: (() => void) | undefined;

  constructor(private readonly db: Db) {
    this.insert = db.prepare<[number, string, string, number]>(
      "INSERT OR IGNORE INTO outbox (business_id, event_id, payload, created_at) VALUES (?, ?, ?, ?)",
    );
    // Distinct businesses by skip-scan over the (business_id, seq) index: one index probe per
    // business instead of a pass over every pending row (the backlog can be large when the edge is down).
    this.selectLanes = db.prepare<[], { business_id: number }>(
      `WITH RECURSIVE lanes(business_id) AS (
         SELECT MIN(business_id) FROM outbox
         UNION ALL
         SELECT (SELECT MIN(business_id) FROM outbox WHERE business_id > lanes.business_id)
         FROM lanes WHERE lanes.business_id IS NOT NULL
       )
       SELECT business_id, (SELECT MIN(seq) FROM outbox o WHERE o.business_id = lanes.business_id) AS first
       FROM lanes WHERE business_id IS NOT NULL ORDER BY first`,
    );
    this.selectBatch = db.prepare<[number, number], OutboxRow>(
      "SELECT seq, payload FROM outbox WHERE business_id = ? ORDER BY seq LIMIT ?",
    );
    this.deleteUpTo = db.prepare<[number, number]>("DELETE FROM outbox WHERE business_id = ? AND seq <= ?");
    this.stats = db.prepare<[], { pending: number; oldest: number | null }>(
      "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox",
    );
    this.moveToDead = db.prepare<[number, number, number, string, number]>(
      `INSERT OR REPLACE INTO outbox_dead
         (seq, business_id, event_id, payload, created_at, parked_at, refusals, last_status, last_error)
       SELECT seq, business_id, event_id, payload, created_at, ?, ?, ?, ? FROM outbox WHERE seq = ?`,
    );
    this.deleteOne = db.prepare<[number]>("DELETE FROM outbox WHERE seq = ?");
    this.deadStats = db.prepare<[], { dead: number }>("SELECT COUNT(*) AS dead FROM outbox_dead");
    this.selectDead = db.prepare<[number, number], DeadRow>(
      `SELECT seq, business_id AS businessId, event_id AS eventId, payload, refusals,
              last_status AS lastStatus, last_error AS lastError, parked_at AS parkedAt
       FROM outbox_dead WHERE business_id = ? ORDER BY seq LIMIT ?`,
    );
  }

  /** Called after every append (the forwarder wakes up). */
  onAppend(listener: () => void): void {
    this.listener = listener;
  }

  /** Stores the events in one transaction; returns how many were new. */
  append(events: ShardEvent[]): number {
    if (events.length === 0) return 0;
    const now = Date.now();
    const inserted = this.db.transaction(() => {
      let n = 0;
      for (const event of events) n += this.insert.run(event.businessId, event.id, JSON.stringify(event), now).changes;
      return n;
    })();
    this.listener?.();
    return inserted;
  }

  /**
   * Stores an already-serialised event as it is, without the contract's types: how an event written
   * by an older or buggy shard build looks. Only the fake driver's test seam uses it.
   */
  appendRaw(businessId: number, eventId: string, payload: string): number {
    const n = this.insert.run(businessId, eventId, payload, Date.now()).changes;
    this.listener?.();
    return n;
  }

  /** Businesses with pending events, the one waiting longest first. */
  pendingBusinesses(): number[] {
    return this.selectLanes.all().map((r) => r.business_id);
  }

  peek(businessId: number, limit: number): OutboxRow[] {
    return this.selectBatch.all(businessId, limit);
  }

  /** Removes a delivered prefix of one business's lane. */
  ack(businessId: number, lastSeq: number): void {
    this.deleteUpTo.run(businessId, lastSeq);
  }

  /** Moves one event to the dead lane, in one transaction, with why the edge refused it. */
  park(seq: number, refusal: { refusals: number; status: number; error: string }): void {
    this.db.transaction(() => {
      this.moveToDead.run(Date.now(), refusal.refusals, refusal.status, refusal.error.slice(0, 2000), seq);
      this.deleteOne.run(seq);
    })();
  }

  /** Parked events of one business, oldest first (for operators and tests). */
  dead(businessId: number, limit = 100): DeadRow[] {
    return this.selectDead.all(businessId, limit);
  }

  deadCount(): number {
    return this.deadStats.get()?.dead ?? 0;
  }

  stat(): { pending: number; oldestCreatedAt: number | null } {
    const row = this.stats.get();
    return { pending: row?.pending ?? 0, oldestCreatedAt: row?.oldest ?? null };
  }
}
