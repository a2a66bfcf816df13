/**
 * The business's WhatsApp send throttle, in its BusinessDO (so every sender — replies,
 * broadcasts, scheduled messages, reminders — shares one budget, across isolates).
 *
 *  - Pace: a GCRA token bucket of `perMinute` with a small burst. A refusal says when to come
 *    back, plus random jitter, so queued senders do not return in lockstep and the traffic does
 *    not look machine-regular to WhatsApp.
 *  - Daily cap: counted per calendar day in the business's timezone.
 *  - Quiet hours: no sends inside [start, end) local time (the window may cross midnight).
 *  - Pause: a ban signal from the shard (429 rate-overlimit, 463 reach-out timelock, logged out)
 *    stops all sends with the reason until an admin resumes.
 */
export interface ThrottlePolicy {
  perMinute: number;
  dailyCap: number;
  /** "HH:MM" in `timezone`, or null for none. */
  quietStart: string | null;
  quietEnd: string | null;
  timezone: string;
}

export type PermitRefusal = "paused" | "quiet_hours" | "daily_cap" | "rate";

export type Permit =
  | { ok: true; sentToday: number }
  | { ok: false; reason: PermitRefusal; retryAfterSeconds: number | null; detail: string };

export interface SendState {
  paused: boolean;
  pausedReason: string | null;
  pausedAt: string | null;
  sentToday: number;
  day: string | null;
}

/** Burst allowance: a few messages may go back to back, never more than a tenth of a minute's worth. */
function burstOf(perMinute: number): number {
  return Math.max(1, Math.min(5, Math.floor(perMinute / 10)));
}

function localParts(nowMs: number, timezone: string): { day: string; minutes: number } {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(nowMs));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  return {
    day: `${get("year")}-${get("month")}-${get("day")}`,
    minutes: Number(get("hour")) * 60 + Number(get("minute")),
  };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Minutes until the quiet window ends, or 0 when outside it. */
function minutesOfQuietLeft(nowMinutes: number, start: number, end: number): number {
  if (start === end) return 0;
  const inside = start < end ? nowMinutes >= start && nowMinutes < end : nowMinutes >= start || nowMinutes < end;
  if (!inside) return 0;
  return (end - nowMinutes + 24 * 60) % (24 * 60);
}

export class SendThrottle {
  constructor(
    private readonly sql: SqlStorage,
    private readonly random: () => number = Math.random,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS send_throttle (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      tat_ms INTEGER NOT NULL DEFAULT 0,
      day TEXT,
      sent_today INTEGER NOT NULL DEFAULT 0,
      paused_reason TEXT,
      paused_at_ms INTEGER
    )`);
    sql.exec("INSERT OR IGNORE INTO send_throttle (id) VALUES (1)");
  }

  private row() {
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

  take(policy: ThrottlePolicy, nowMs: number): Permit {
    const row = this.row();
    if (row.paused_reason) {
      return {
        ok: false,
        reason: "paused",
        retryAfterSeconds: null,
        detail: `sending is paused: ${row.paused_reason}`,
      };
    }
    const local = localParts(nowMs, policy.timezone);
    if (policy.quietStart && policy.quietEnd) {
      const left = minutesOfQuietLeft(local.minutes, toMinutes(policy.quietStart), toMinutes(policy.quietEnd));
      if (left > 0) {
        return {
          ok: false,
          reason: "quiet_hours",
          retryAfterSeconds: left * 60 + Math.floor(this.random() * 120),
          detail: `quiet hours ${policy.quietStart}–${policy.quietEnd} (${policy.timezone})`,
        };
      }
    }
    const sentToday = row.day === local.day ? row.sent_today : 0;
    if (sentToday >= policy.dailyCap) {
      const untilMidnight = (24 * 60 - local.minutes) * 60;
      return {
        ok: false,
        reason: "daily_cap",
        retryAfterSeconds: untilMidnight + Math.floor(this.random() * 300),
        detail: `daily cap of ${policy.dailyCap} messages reached`,
      };
    }
    // GCRA: the theoretical arrival time advances one interval per send; a send is allowed when
    // it is no more than `burst` intervals ahead of now.
    const intervalMs = 60_000 / policy.perMinute;
    const tat = Math.max(row.tat_ms, nowMs);
    const allowedAt = tat - burstOf(policy.perMinute) * intervalMs + intervalMs;
    if (allowedAt > nowMs) {
      const waitMs = allowedAt - nowMs + this.random() * intervalMs;
      return {
        ok: false,
        reason: "rate",
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
        detail: `pacing at ${policy.perMinute}/min`,
      };
    }
    this.sql.exec(
      "UPDATE send_throttle SET tat_ms = ?, day = ?, sent_today = ? WHERE id = 1",
      tat + intervalMs,
      local.day,
      sentToday + 1,
    );
    return { ok: true, sentToday: sentToday + 1 };
  }

  pause(reason: string, nowMs: number): SendState {
    const row = this.row();
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
    const row = this.row();
    return {
      paused: row.paused_reason !== null,
      pausedReason: row.paused_reason,
      pausedAt: row.paused_at_ms === null ? null : new Date(row.paused_at_ms).toISOString(),
      sentToday: row.sent_today,
      day: row.day,
    };
  }
}
