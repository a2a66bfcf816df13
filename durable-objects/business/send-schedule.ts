/**
 * The business's WhatsApp send schedule, in its BusinessDO: every waiting send of the business
 * (replies, scheduled messages, reminders, broadcasts) is held here in order, and each gets ONE
 * queue delivery when its slot comes. The object's alarm hands out the slots; nothing polls.
 *
 * Why here and not in the queue: a throttle that refuses and lets the sender re-enqueue itself
 * turns every waiting message into a chain of queue messages (10,000 waiting = thousands of
 * deliveries a second), chains sleeping on the daily cap all wake at midnight together, and an
 * agent's reply waits in the same lottery. Held here, waiting costs nothing and the order is ours.
 *
 *  - Order: priority first (replies, then scheduled messages and reminders, then broadcasts), then
 *    the order written (outbound ids grow with creation). Messages to one recipient never overtake
 *    each other: a message waits while an earlier one to the same recipient waits or is in flight,
 *    and a reply lifts the earlier messages to its customer to its own priority so they go first.
 *  - Pace: a GCRA token bucket of `perMinute` with a small burst (the slot time, not a refusal).
 *  - Daily cap: counted per calendar day in the business's timezone; reached, the schedule sleeps
 *    until local midnight (one alarm, not one wake-up per message).
 *  - Quiet hours: [start, end) local time, for messages the business starts. A reply to a customer
 *    who wrote within WhatsApp's 24-hour window is not held by them (the customer is there and
 *    waiting for the answer); such a reply also does not wait behind a quiet-held message to the
 *    same customer.
 *  - Pause: a ban signal from the shard stops all slots until an admin resumes.
 *  - Lost deliveries: an item handed out and not finished within LOST_AFTER_MS goes back into the
 *    schedule at its place (one more delivery, never a second chain: an item is one row).
 */
export interface SendPolicy {
  perMinute: number;
  dailyCap: number;
  /** "HH:MM" in `timezone`, or null for none. */
  quietStart: string | null;
  quietEnd: string | null;
  timezone: string;
}

export interface SendState {
  paused: boolean;
  pausedReason: string | null;
  pausedAt: string | null;
  sentToday: number;
  day: string | null;
  /** Sends held in the schedule, not yet handed to the queue. */
  waiting: number;
}

export type SendOrigin = "reply" | "scheduled" | "reminder" | "broadcast";

export interface ScheduledSend {
  outboundId: number;
  /** Normalised recipient (digits or JID): the per-customer order is kept on it. */
  recipient: string;
  origin: SendOrigin;
  originId: number | null;
  /** For a reply: when the customer's 24-hour window closes (ms), or null if they never wrote. */
  windowUntilMs: number | null;
}

export type WaitReason = "paused" | "quiet_hours" | "daily_cap" | "rate" | "retry" | "sending";

export interface Waiting {
  outboundId: number;
  reason: WaitReason;
  /** For people: why, in words. */
  detail: string;
  /** When it is expected to go (an estimate from the queue ahead and the policy); null while paused. */
  expectedAt: string | null;
}

export interface OriginWaiting {
  originId: number;
  /** Messages of this origin held in the schedule (not yet handed to the queue). */
  waiting: number;
  /** The next of them: why it waits and when it should go. */
  next: Waiting | null;
  /** The last of them: when the whole lot should be out. */
  last: Waiting | null;
}

const PRIORITY: Record<SendOrigin, number> = { reply: 0, scheduled: 1, reminder: 1, broadcast: 2 };
/** A reply's rank (and that of what goes before it to the same customer): delivered on the fast lane. */
const URGENT = 0;
/**
 * Slots handed out and not finished, at most (replies excepted). The queue then never holds a
 * backlog the pace has run ahead of: a pause, a cancel or a settings change applies to everything
 * still here, and the estimates shown to users stay true. Two default-queue batches' worth.
 */
export const MAX_IN_FLIGHT = 50;
/** A slot handed out and not finished by then is taken as lost and goes back into the schedule. */
export const LOST_AFTER_MS = 15 * 60_000;
const DAY_MS = 24 * 3600_000;

/** Burst allowance: a few messages may go back to back, never more than a tenth of a minute's worth. */
function burstOf(perMinute: number): number {
  return Math.max(1, Math.min(5, Math.floor(perMinute / 10)));
}

function localParts(nowMs: number, timezone: string): { day: string; minutes: number; seconds: number } {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(nowMs));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  return {
    day: `${get("year")}-${get("month")}-${get("day")}`,
    minutes: Number(get("hour")) * 60 + Number(get("minute")),
    seconds: Number(get("second")),
  };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Milliseconds until the quiet window ends, or 0 when outside it (or none is set). */
export function quietLeftMs(policy: SendPolicy, nowMs: number): number {
  if (!policy.quietStart || !policy.quietEnd) return 0;
  const start = toMinutes(policy.quietStart);
  const end = toMinutes(policy.quietEnd);
  if (start === end) return 0;
  const { minutes, seconds } = localParts(nowMs, policy.timezone);
  const inside = start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
  if (!inside) return 0;
  return (((end - minutes + 24 * 60) % (24 * 60)) * 60 - seconds) * 1000;
}

/** Milliseconds until the next local midnight (when the daily count starts again). */
function untilMidnightMs(policy: SendPolicy, nowMs: number): number {
  const { minutes, seconds } = localParts(nowMs, policy.timezone);
  return ((24 * 60 - minutes) * 60 - seconds) * 1000;
}

type QueueRow = {
  outbound_id: number;
  priority: number;
  recipient: string;
  origin: string;
  origin_id: number | null;
  window_until_ms: number | null;
  not_before_ms: number | null;
  dispatched_at_ms: number | null;
};

export class SendSchedule {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS send_throttle (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      tat_ms INTEGER NOT NULL DEFAULT 0,
      day TEXT,
      sent_today INTEGER NOT NULL DEFAULT 0,
      paused_reason TEXT,
      paused_at_ms INTEGER
    )`);
    sql.exec("INSERT OR IGNORE INTO send_throttle (id) VALUES (1)");
    sql.exec(`CREATE TABLE IF NOT EXISTS send_queue (
      outbound_id INTEGER PRIMARY KEY,
      priority INTEGER NOT NULL,
      recipient TEXT NOT NULL,
      origin TEXT NOT NULL,
      origin_id INTEGER,
      window_until_ms INTEGER,
      not_before_ms INTEGER,
      dispatched_at_ms INTEGER
    )`);
    sql.exec("CREATE INDEX IF NOT EXISTS send_queue_order ON send_queue (dispatched_at_ms, priority, outbound_id)");
    sql.exec("CREATE INDEX IF NOT EXISTS send_queue_recipient ON send_queue (recipient, outbound_id)");
    sql.exec("CREATE INDEX IF NOT EXISTS send_queue_origin ON send_queue (origin, origin_id)");
  }

  private throttle() {
    return this.sql
      .exec<{
        tat_ms: number;
        day: string | null;
        sent_today: number;
        paused_reason: string | null;
        paused_at_ms: number | null;
      }>("SELECT tat_ms, day, sent_today, paused_reason, paused_at_ms FROM send_throttle WHERE id = 1")
      .one();
  }

  /**
   * Adds sends to the schedule. Idempotent: an item already held keeps its place; one handed out
   * before `redispatchBefore` (its delivery was lost, says the stale sweep) goes back into the
   * schedule. While paused nothing is added and the pause reason is returned: the caller parks
   * the rows as held, and the admin's resume brings them back.
   */
  add(items: ScheduledSend[], redispatchBefore?: number): { added: number; paused: string | null } {
    const paused = this.throttle().paused_reason;
    if (paused) return { added: 0, paused };
    let added = 0;
    for (const item of items) {
      const priority = PRIORITY[item.origin];
      const cursor = this.sql.exec(
        `INSERT OR IGNORE INTO send_queue (outbound_id, priority, recipient, origin, origin_id, window_until_ms)
         VALUES (?, ?, ?, ?, ?, ?)`,
        item.outboundId,
        priority,
        item.recipient,
        item.origin,
        item.originId,
        item.windowUntilMs,
      );
      if (cursor.rowsWritten > 0) {
        added++;
        // The customer's earlier messages go before this one (order per customer), so they are
        // lifted to its priority rather than left to hold it back.
        this.sql.exec(
          "UPDATE send_queue SET priority = ? WHERE recipient = ? AND outbound_id < ? AND priority > ?",
          priority,
          item.recipient,
          item.outboundId,
          priority,
        );
      } else if (redispatchBefore !== undefined) {
        this.sql.exec(
          "UPDATE send_queue SET dispatched_at_ms = NULL WHERE outbound_id = ? AND dispatched_at_ms < ?",
          item.outboundId,
          redispatchBefore,
        );
      }
    }
    return { added, paused: null };
  }

  /** The send finished (sent, failed, held, cancelled): it leaves the schedule. */
  finish(outboundId: number): void {
    this.sql.exec("DELETE FROM send_queue WHERE outbound_id = ?", outboundId);
  }

  /** Paused or cancelled by whoever asked for them (e.g. a broadcast): they leave the schedule. */
  removeOrigin(origin: SendOrigin, originId: number): number {
    return this.sql.exec(
      "DELETE FROM send_queue WHERE origin = ? AND origin_id = ? AND dispatched_at_ms IS NULL",
      origin,
      originId,
    ).rowsWritten;
  }

  /** The shard could not take it now (session not open, a move): back into the schedule, not before `atMs`. */
  retryAt(outboundId: number, atMs: number): void {
    this.sql.exec(
      "UPDATE send_queue SET dispatched_at_ms = NULL, not_before_ms = ? WHERE outbound_id = ?",
      atMs,
      outboundId,
    );
  }

  /** Puts handed-out items back (their queue message could not be sent). */
  /** Nothing held, waiting or in flight: the schedule has no reason to wake. */
  isEmpty(): boolean {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM send_queue").one().n === 0;
  }

  undispatch(ids: number[]): void {
    for (const id of ids) this.sql.exec("UPDATE send_queue SET dispatched_at_ms = NULL WHERE outbound_id = ?", id);
  }

  /**
   * Hands out the slots that are due now: marks those items as dispatched, takes their permits,
   * and says when to look again (null: nothing to do until something is added or resumed).
   */
  due(policy: SendPolicy, nowMs: number): { dispatch: number[]; urgent: number[]; nextAtMs: number | null } {
    // A delivery lost long ago: back into the schedule at its place.
    this.sql.exec("UPDATE send_queue SET dispatched_at_ms = NULL WHERE dispatched_at_ms < ?", nowMs - LOST_AFTER_MS);
    const row = this.throttle();
    const lostCheck = this.sql.exec<{ t: number | null }>("SELECT MIN(dispatched_at_ms) AS t FROM send_queue").one().t;
    const lostAt = lostCheck === null ? null : lostCheck + LOST_AFTER_MS;
    const earliest = (...ts: (number | null)[]) => {
      const valid = ts.filter((t): t is number => t !== null);
      return valid.length === 0 ? null : Math.max(nowMs + 1, Math.min(...valid));
    };
    if (row.paused_reason) return { dispatch: [], urgent: [], nextAtMs: lostAt };
    const waiting = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM send_queue WHERE dispatched_at_ms IS NULL")
      .one().n;
    if (waiting === 0) return { dispatch: [], urgent: [], nextAtMs: lostAt };

    const local = localParts(nowMs, policy.timezone);
    let sentToday = row.day === local.day ? row.sent_today : 0;
    if (sentToday >= policy.dailyCap)
      return { dispatch: [], urgent: [], nextAtMs: earliest(nowMs + untilMidnightMs(policy, nowMs), lostAt) };
    const quietLeft = quietLeftMs(policy, nowMs);
    const quiet = quietLeft > 0 ? 1 : 0;
    const intervalMs = 60_000 / policy.perMinute;
    const burst = burstOf(policy.perMinute);
    let tat = Math.max(row.tat_ms, nowMs);
    const dispatch: number[] = [];
    const urgent: number[] = [];
    let inFlight = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM send_queue WHERE dispatched_at_ms IS NOT NULL")
      .one().n;
    let rateNext: number | null = null;
    for (;;) {
      if (sentToday >= policy.dailyCap) break;
      const allowedAt = tat - burst * intervalMs + intervalMs;
      if (allowedAt > nowMs) {
        rateNext = allowedAt;
        break;
      }
      // At the in-flight bound only a reply (or what goes before it) may still go.
      const next = this.nextEligible(nowMs, quiet, inFlight >= MAX_IN_FLIGHT ? URGENT : Number.MAX_SAFE_INTEGER);
      if (next === null) break;
      this.sql.exec("UPDATE send_queue SET dispatched_at_ms = ? WHERE outbound_id = ?", nowMs, next.id);
      dispatch.push(next.id);
      if (next.priority <= URGENT) urgent.push(next.id);
      inFlight++;
      tat += intervalMs;
      sentToday++;
    }
    if (dispatch.length > 0) {
      this.sql.exec(
        "UPDATE send_throttle SET tat_ms = ?, day = ?, sent_today = ? WHERE id = 1",
        tat,
        local.day,
        sentToday,
      );
    }
    if (sentToday >= policy.dailyCap) {
      return { dispatch, urgent, nextAtMs: earliest(nowMs + untilMidnightMs(policy, nowMs), lostAt) };
    }
    const stillWaiting = waiting - dispatch.length;
    if (stillWaiting === 0) return { dispatch, urgent, nextAtMs: lostAt };
    // Something eligible but the pace says wait: the next slot. Otherwise whichever comes first of
    // the quiet window's end and a deferred item's time (an item blocked behind one in flight to
    // the same recipient is released by that one's finish, which re-plans at once).
    if (rateNext !== null && this.nextEligible(nowMs, quiet, Number.MAX_SAFE_INTEGER) !== null) {
      return { dispatch, urgent, nextAtMs: earliest(rateNext, lostAt) };
    }
    const notBefore = this.sql
      .exec<{ t: number | null }>(
        "SELECT MIN(not_before_ms) AS t FROM send_queue WHERE dispatched_at_ms IS NULL AND not_before_ms > ?",
        nowMs,
      )
      .one().t;
    return {
      dispatch,
      urgent,
      nextAtMs: earliest(quiet ? nowMs + quietLeft : null, notBefore, lostAt, rateNext),
    };
  }

  /**
   * The first item that may go now, in priority then written order, respecting per-recipient
   * order; only up to `maxPriority` (the in-flight bound lets replies through alone).
   */
  private nextEligible(nowMs: number, quiet: number, maxPriority: number): { id: number; priority: number } | null {
    const rows = this.sql
      .exec<{ outbound_id: number; priority: number }>(
        `SELECT q.outbound_id, q.priority FROM send_queue q
         WHERE q.dispatched_at_ms IS NULL AND q.priority <= ?3
           AND (q.not_before_ms IS NULL OR q.not_before_ms <= ?1)
           AND (?2 = 0 OR q.window_until_ms > ?1)
           AND NOT EXISTS (
             SELECT 1 FROM send_queue e
             WHERE e.recipient = q.recipient AND e.outbound_id < q.outbound_id
               AND (e.dispatched_at_ms IS NOT NULL OR ?2 = 0 OR e.window_until_ms > ?1))
         ORDER BY q.priority, q.outbound_id
         LIMIT 1`,
        nowMs,
        quiet,
        maxPriority,
      )
      .toArray();
    const row = rows[0];
    return row ? { id: row.outbound_id, priority: row.priority } : null;
  }

  /** Why each of these sends waits and when it should go (those not in the schedule are left out). */
  waiting(policy: SendPolicy, ids: number[], nowMs: number): Waiting[] {
    const result: Waiting[] = [];
    for (const id of ids) {
      const item = this.sql.exec<QueueRow>("SELECT * FROM send_queue WHERE outbound_id = ?", id).toArray()[0];
      if (item) result.push(this.explain(policy, item, nowMs));
    }
    return result;
  }

  /** Per origin (e.g. each broadcast): how many wait, and the first and last one's reason and time. */
  originWaiting(policy: SendPolicy, origin: SendOrigin, originIds: number[], nowMs: number): OriginWaiting[] {
    return originIds.map((originId) => {
      const agg = this.sql
        .exec<{ n: number; first: number | null; last: number | null }>(
          `SELECT COUNT(*) AS n, MIN(outbound_id) AS first, MAX(outbound_id) AS last FROM send_queue
           WHERE origin = ? AND origin_id = ? AND dispatched_at_ms IS NULL`,
          origin,
          originId,
        )
        .one();
      const [first, last] = agg.first === null ? [] : this.waiting(policy, [agg.first, agg.last!], nowMs);
      return { originId, waiting: agg.n, next: first ?? null, last: last ?? null };
    });
  }

  /**
   * The estimate: the slots of everything ahead at the current pace, moved past the daily cap
   * (to the next local day) and past quiet hours when they apply to this message.
   */
  private explain(policy: SendPolicy, item: QueueRow, nowMs: number): Waiting {
    const id = item.outbound_id;
    const row = this.throttle();
    if (item.dispatched_at_ms !== null) {
      return {
        outboundId: id,
        reason: "sending",
        detail: "handed to the sender",
        expectedAt: new Date(nowMs).toISOString(),
      };
    }
    if (row.paused_reason) {
      return { outboundId: id, reason: "paused", detail: `sending is paused: ${row.paused_reason}`, expectedAt: null };
    }
    const ahead = this.sql
      .exec<{ n: number }>(
        `SELECT COUNT(*) AS n FROM send_queue WHERE dispatched_at_ms IS NULL
         AND (priority < ?1 OR (priority = ?1 AND outbound_id < ?2))`,
        item.priority,
        id,
      )
      .one().n;
    const intervalMs = 60_000 / policy.perMinute;
    const local = localParts(nowMs, policy.timezone);
    const sentToday = row.day === local.day ? row.sent_today : 0;
    const left = Math.max(0, policy.dailyCap - sentToday);
    let reason: WaitReason = "rate";
    let detail = `pacing at ${policy.perMinute}/min; ${ahead} message(s) ahead`;
    let at = Math.max(nowMs, row.tat_ms - (burstOf(policy.perMinute) - 1) * intervalMs) + ahead * intervalMs;
    if (ahead >= left) {
      reason = "daily_cap";
      detail = `daily cap of ${policy.dailyCap} messages reached for today; ${ahead} message(s) ahead`;
      const over = ahead - left;
      const days = Math.floor(over / policy.dailyCap);
      at = nowMs + untilMidnightMs(policy, nowMs) + days * DAY_MS + (over % policy.dailyCap) * intervalMs;
    }
    const exempt = item.window_until_ms !== null && item.window_until_ms > nowMs;
    if (!exempt) {
      const quietAt = quietLeftMs(policy, at);
      if (quietAt > 0) {
        if (quietLeftMs(policy, nowMs) > 0 || reason === "rate") {
          reason = "quiet_hours";
          detail = `quiet hours ${policy.quietStart}–${policy.quietEnd} (${policy.timezone})`;
        }
        at += quietAt;
      }
    }
    if (item.not_before_ms !== null && item.not_before_ms > at) {
      reason = "retry";
      detail = "waiting to try again (the WhatsApp session was not ready)";
      at = item.not_before_ms;
    }
    return { outboundId: id, reason, detail, expectedAt: new Date(Math.ceil(at)).toISOString() };
  }

  pause(reason: string, nowMs: number): SendState {
    const row = this.throttle();
    // Keep the first reason: it is the one that explains the ban.
    if (!row.paused_reason)
      this.sql.exec("UPDATE send_throttle SET paused_reason = ?, paused_at_ms = ? WHERE id = 1", reason, nowMs);
    return this.state();
  }

  resume(): SendState {
    this.sql.exec("UPDATE send_throttle SET paused_reason = NULL, paused_at_ms = NULL WHERE id = 1");
    return this.state();
  }

  state(): SendState {
    const row = this.throttle();
    return {
      paused: row.paused_reason !== null,
      pausedReason: row.paused_reason,
      pausedAt: row.paused_at_ms === null ? null : new Date(row.paused_at_ms).toISOString(),
      sentToday: row.sent_today,
      day: row.day,
      waiting: this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM send_queue WHERE dispatched_at_ms IS NULL").one()
        .n,
    };
  }
}
