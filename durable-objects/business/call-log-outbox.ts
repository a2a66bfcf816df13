/**
 * Call log updates this BusinessDO could not (or should not wait to) write to Postgres: a status
 * callback that arrived while the database was down (issue 10 #7), or the settlement of an unknown
 * call outcome found by the lease sweep. Each is a row here until Postgres took it; the alarm
 * applies them (worker/calls/status-callback.ts, the same code the callback route runs, call-ended
 * hooks included) with backoff. Updates are idempotent and ordered by SequenceNumber there, so
 * applying them late, twice or out of order is harmless.
 */
import { log } from "../../worker/lib/log";
import { outboxRetryDelayMs } from "../outbox-backoff";

/** After this many failed tries (about a day with the backoff) an update is dropped, loudly. */
const MAX_ATTEMPTS = 300;
const BATCH = 50;

/** A call log update, JSON-safe: it may wait here until Postgres takes it. */
export interface CallLogUpdate {
  callLogId: number | null;
  /** Null only when settling a call log whose call was never created. */
  callSid: string | null;
  status: string;
  sequenceNumber: number | null;
  durationSeconds: number | null;
  /** ISO time of the event, when Twilio sent one. */
  at: string | null;
  /** Why (our own settlements). */
  reason: string | null;
}

interface OutboxRow {
  id: number;
  body: string;
  attempts: number;
  [key: string]: SqlStorageValue;
}

export class CallLogOutbox {
  constructor(
    private readonly sql: SqlStorage,
    /** Writes one update to Postgres (BusinessHost.applyCallLogUpdate). */
    private readonly apply: (update: CallLogUpdate) => Promise<void>,
    /** Makes sure the object's alarm covers nextDue(). */
    private readonly arm: () => Promise<void>,
  ) {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS call_log_outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL
    )`);
  }

  /** Keeps the update durably; the alarm applies it (due at once). */
  add(update: CallLogUpdate): void {
    this.sql.exec("INSERT INTO call_log_outbox (body, next_ms) VALUES (?, ?)", JSON.stringify(update), Date.now());
  }

  async defer(update: CallLogUpdate): Promise<void> {
    this.add(update);
    await this.arm();
  }

  size(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM call_log_outbox").one().n;
  }

  nextDue(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT MIN(next_ms) AS t FROM call_log_outbox").one().t;
  }

  /** Applies the due updates in order; the first database failure stops the batch and backs off. */
  async flush(now: number): Promise<void> {
    const rows = this.sql
      .exec<OutboxRow>(
        "SELECT id, body, attempts FROM call_log_outbox WHERE next_ms <= ? ORDER BY id LIMIT ?",
        now,
        BATCH,
      )
      .toArray();
    if (rows.length === 0) return;
    try {
      for (const row of rows) {
        await this.apply(JSON.parse(row.body) as CallLogUpdate);
        this.sql.exec("DELETE FROM call_log_outbox WHERE id = ?", row.id);
      }
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      for (const row of this.sql
        .exec<OutboxRow>("SELECT id, body, attempts FROM call_log_outbox WHERE next_ms <= ? ORDER BY id", now)
        .toArray()) {
        const attempts = row.attempts + 1;
        if (attempts >= MAX_ATTEMPTS) {
          this.sql.exec("DELETE FROM call_log_outbox WHERE id = ?", row.id);
          log.error("call log update dropped after too many failures", { update: row.body, attempts, error });
          continue;
        }
        this.sql.exec(
          "UPDATE call_log_outbox SET attempts = ?, next_ms = ? WHERE id = ?",
          attempts,
          Date.now() + outboxRetryDelayMs(attempts),
          row.id,
        );
      }
      log.warn("call log updates wait for the database", { error });
    }
  }
}
