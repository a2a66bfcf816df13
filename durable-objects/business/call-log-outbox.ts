/**
 * Call log writes the BusinessDO keeps until Postgres has taken them: status callbacks (issue 16
 * #2: the callback route answers Twilio once the write is here, without waiting for Postgres), a
 * dial's CallSid, an inbound call's log row, and the settlements of unknown call outcomes found by
 * the lease sweep. Each is a row here first — durable before the caller's answer goes out — and
 * stays until whoever applied it to Postgres acknowledges it (`ack`). Writes are idempotent and
 * ordered by SequenceNumber there (worker/calls/status-callback.ts), so applying them late, twice
 * or out of order is harmless.
 *
 * The object never talks to Postgres itself: a Durable Object sends nothing out until its own
 * storage writes are durable, so under a stream of callbacks each Postgres round trip it made
 * waited for a disk flush (measured: ~100 ms a statement). Instead it hands writes out, always with
 * every other write of the same call still here, in order — so whoever applies them never sees a
 * call's end before its row, whichever hand-off is applied first:
 *   - in batches through a queue (`handOffWith`, from the flush): one database connection per
 *     batch. (Webhooks once applied their own call's writes just after answering Twilio; each
 *     opened a connection for it, which under load cost more than the rest of the webhook's work:
 *     bench:webhook measured its p99 at 3.3× a bare route's with that, 2.7× without.)
 *   - a call's end that frees a slot a campaign dial waits for: to that dial, which applies it on
 *     the connection it already holds (`keep` returns the hand-off; ./dial-turns.ts).
 * What was handed out and not acknowledged within HANDOFF_GRACE_MS is handed out again (with
 * backoff after failures); a write that keeps failing is dropped after MAX_ATTEMPTS, loudly.
 *
 * What a dashboard shows live decides when a write goes: a call's end (and an inbound call's row)
 * at once — it frees the slot's next dial, ends a campaign's job, fires call.ended — while a call's
 * progress (its CallSid after the create, initiated, ringing, in-progress) waits up to
 * PROGRESS_DELAY_MS. A short call's progress then reaches Postgres in the same transaction as its
 * end (a call that rang and ended within two seconds never showed "ringing" anyway), and a long
 * call shows "ringing" or "in-progress" at most a few seconds late; nothing is dropped, only batched.
 */
import { log } from "../../worker/lib/log";
import { outboxRetryDelayMs } from "../outbox-backoff";

/** After this many failed hand-offs (about a day with the backoff) a write is dropped, loudly. */
const MAX_ATTEMPTS = 300;
const BATCH = 50;
/** How long a call's progress may wait to be written with what follows it (see the header). */
export const PROGRESS_DELAY_MS = 2_000;
/** Writes handed out and not acknowledged within this long are handed out again. */
export const HANDOFF_GRACE_MS = 30_000;
/**
 * While a flush runs, the writes it will hand out need the alarm no sooner than this: the alarm is
 * the flush's safety net (the object evicted mid-flush), not its trigger. Arming it for "now" on
 * every call's end set an alarm and ran one per webhook under load.
 */
const FLUSH_WATCH_MS = 5_000;
/**
 * A background flush waits this long before reading what is due, and as long again between
 * batches while writes keep coming: under a stream of calls, each batch then carries the ends
 * of many calls instead of one (one queue message, one Postgres transaction, one object read for
 * several). Short next to what waits for it: a dashboard's refetch, a call's webhook event.
 */
export const FLUSH_GATHER_MS = 50;

/** A status change of a call's log (a Twilio callback, or our own settlement). JSON-safe. */
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

/** Twilio accepted a call we placed: its CallSid for the log, and the campaign job it dials (if any). */
export interface CallDialedWrite {
  kind: "dialed";
  callLogId: number;
  callSid: string;
  /** A campaign's job, guarded by the claim's lock token (a later attempt is not touched). */
  job: { id: number; lockToken: string } | null;
}

/** An inbound call was answered (admitted or refused): its log row. */
export interface InboundCallWrite {
  kind: "inbound";
  businessId: number;
  callSid: string;
  from: string | null;
  to: string;
  /** Twilio's CallStatus on arrival, or `rejected`. */
  status: string;
  leaseId: string | null;
  /** Refusals: why. */
  reason: string | null;
  /** ISO time the call arrived. */
  at: string;
}

/** What the outbox holds: a status update (no `kind`, the original shape), a dialed call, an inbound call. */
export type CallLogWrite = (CallLogUpdate & { kind?: "status" }) | CallDialedWrite | InboundCallWrite;

/** Writes handed out to apply (in this order), and their rows here to `ack`. */
export interface HandOff {
  ids: number[];
  writes: CallLogWrite[];
}

interface OutboxRow {
  id: number;
  body: string;
  attempts: number;
  call_key: string | null;
  [key: string]: SqlStorageValue;
}

const TERMINAL = new Set(["completed", "busy", "failed", "no-answer", "canceled", "rejected"]);

/** Whether a write should reach Postgres at once (see the header). */
export function isUrgentWrite(w: CallLogWrite): boolean {
  if (w.kind === "inbound") return true;
  if (w.kind === "dialed") return false;
  return TERMINAL.has(w.status);
}

/** The call a write belongs to, so a call's writes travel together and its end takes its progress along. */
function callKey(w: CallLogWrite): string | null {
  if (w.callSid) return `sid:${w.callSid}`;
  return w.kind !== "inbound" && w.callLogId !== null ? `log:${w.callLogId}` : null;
}

const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(",");
/** A Durable Object's SQLite takes at most 100 bound parameters a statement. */
const MAX_PARAMS = 90;
function chunks<T>(list: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += MAX_PARAMS) out.push(list.slice(i, i + MAX_PARAMS));
  return out;
}

export class CallLogOutbox {
  /** Sends a batch to be applied and acknowledged (the host's queue); set by the BusinessDO. */
  private send: ((handOff: HandOff) => Promise<void>) | null = null;
  /** The flush in flight, and whether another is wanted after it (writes added meanwhile). */
  private flushing: Promise<void> | null = null;
  private flushAgain = false;

  constructor(
    private readonly sql: SqlStorage,
    /** Writes one update to Postgres itself: only until `handOffWith` is called (see the header). */
    private readonly apply: (update: CallLogUpdate) => Promise<void>,
    /**
     * Makes sure the object's alarm covers nextDue(). `dueBy`: the earliest time this call's
     * change needs; when the alarm already fires by then, nothing is queried.
     */
    private readonly arm: (dueBy?: number) => Promise<void>,
  ) {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS call_log_outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL
    )`);
    const columns = this.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('call_log_outbox')").toArray();
    // Added for issue 16 #2: which call a row belongs to.
    if (!columns.some((c) => c.name === "call_key"))
      this.sql.exec("ALTER TABLE call_log_outbox ADD COLUMN call_key TEXT");
    this.sql.exec("CREATE INDEX IF NOT EXISTS call_log_outbox_key ON call_log_outbox (call_key)");
    // Every write asks for the earliest due time (the alarm, the flush): without this, a scan of
    // the whole outbox per webhook, and under a burst the outbox holds thousands of rows
    // (bench:webhook: a third of the object's time went to these scans).
    this.sql.exec("CREATE INDEX IF NOT EXISTS call_log_outbox_next ON call_log_outbox (next_ms)");
  }

  /** The flush hands batches to `send` (which must see them applied, then `ack`ed) instead of writing itself. */
  handOffWith(send: (handOff: HandOff) => Promise<void>): void {
    this.send = send;
  }

  /**
   * Keeps the write durably: due at once if urgent (a call's progress waiting for it becomes due
   * with it), else after PROGRESS_DELAY_MS. Synchronous: it commits with whatever the caller's
   * event writes next to it.
   */
  add(write: CallLogWrite, now = Date.now()): void {
    const key = callKey(write);
    const urgent = isUrgentWrite(write);
    this.sql.exec(
      "INSERT INTO call_log_outbox (body, next_ms, call_key) VALUES (?, ?, ?)",
      JSON.stringify(write),
      urgent ? now : now + PROGRESS_DELAY_MS,
      key,
    );
    if (urgent && key !== null)
      this.sql.exec("UPDATE call_log_outbox SET next_ms = ? WHERE call_key = ? AND next_ms > ?", now, key, now);
  }

  /**
   * Keeps the write (see `add`). If it is urgent and `handOut`, it comes back with every write of
   * its call still here, in order, for the caller to pass to whoever applies it and `ack`s (or
   * `takeBack`); otherwise it is handed out by the flush. The alarm covers both.
   */
  async keep(write: CallLogWrite, handOut: boolean): Promise<HandOff | null> {
    const now = Date.now();
    this.add(write, now);
    const key = callKey(write);
    const urgent = isUrgentWrite(write);
    let handed: HandOff | null = null;
    if (handOut && urgent && key !== null) {
      const rows = this.sql
        .exec<OutboxRow>("SELECT * FROM call_log_outbox WHERE call_key = ? ORDER BY id", key)
        .toArray();
      this.sql.exec("UPDATE call_log_outbox SET next_ms = ? WHERE call_key = ?", now + HANDOFF_GRACE_MS, key);
      handed = { ids: rows.map((r) => r.id), writes: rows.map((r) => JSON.parse(r.body) as CallLogWrite) };
    }
    // The flush first: while it runs, the alarm only watches it (see nextDue).
    if (!handed) this.flushInBackground();
    // What this call changed is due no sooner than this (rows handed out: at the grace's end).
    const dueBy = handed ? now + HANDOFF_GRACE_MS : urgent ? now : now + PROGRESS_DELAY_MS;
    await this.arm(this.flushing ? Math.max(dueBy, now + FLUSH_WATCH_MS) : dueBy);
    return handed;
  }

  /** These were applied: they are done. */
  ack(ids: number[]): void {
    for (const part of chunks(ids))
      this.sql.exec(`DELETE FROM call_log_outbox WHERE id IN (${placeholders(part.length)})`, ...part);
  }

  /** A Worker could not apply these: they are handed out again by the flush, from now. */
  takeBack(ids: number[]): void {
    if (ids.length === 0) return;
    this.handOutAgainAt(ids, Date.now());
    this.flushInBackground();
  }

  private handOutAgainAt(ids: number[], atMs: number): void {
    for (const part of chunks(ids))
      this.sql.exec(`UPDATE call_log_outbox SET next_ms = ? WHERE id IN (${placeholders(part.length)})`, atMs, ...part);
  }

  /** Keeps the write, makes sure the alarm covers it, and starts handing out what is due. */
  async defer(update: CallLogWrite): Promise<void> {
    await this.keep(update, false);
  }

  size(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM call_log_outbox").one().n;
  }

  /** When the alarm is next needed here (see FLUSH_WATCH_MS). */
  nextDue(): number | null {
    const t = this.earliestDue();
    return t !== null && this.flushing ? Math.max(t, Date.now() + FLUSH_WATCH_MS) : t;
  }

  private earliestDue(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT MIN(next_ms) AS t FROM call_log_outbox").one().t;
  }

  /**
   * Hands out what is due now without anyone waiting for it (the row is the promise; the alarm
   * catches up after a failure or an eviction). One flush at a time; writes added during one go
   * in the next.
   */
  flushInBackground(): void {
    // A flush in flight looks again when it is done (and takes what was added meanwhile).
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    const next = this.earliestDue();
    if (next === null || next > Date.now()) return;
    void this.flush(Date.now(), FLUSH_GATHER_MS).catch((err) =>
      log.error("call log flush failed", { error: String(err) }),
    );
  }

  /**
   * Hands out the due writes in order, in batches; a failure backs off what is due. One at a time.
   * `gatherMs`: wait this long first, and between rounds (see FLUSH_GATHER_MS); the alarm does not.
   */
  async flush(now: number, gatherMs = 0): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    const gather = () => new Promise((resolve) => setTimeout(resolve, gatherMs));
    this.flushing = (async () => {
      if (gatherMs > 0) await gather();
      let due = gatherMs > 0 ? Date.now() : now;
      do {
        this.flushAgain = false;
        while (await this.flushBatch(due)) due = Date.now();
        if (this.flushAgain && gatherMs > 0) await gather();
        due = Date.now();
      } while (this.flushAgain);
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** One batch: the due writes and every other write of their calls; true if it was full (more may be due). */
  private async flushBatch(now: number): Promise<boolean> {
    // By due time, not by id: under load most rows are handed out and waiting for their ack (due
    // later), and a walk in id order would step over all of them for every batch.
    const due = this.sql
      .exec<OutboxRow>(
        "SELECT * FROM call_log_outbox INDEXED BY call_log_outbox_next WHERE next_ms <= ? ORDER BY id LIMIT ?",
        now,
        BATCH,
      )
      .toArray();
    if (due.length === 0) return false;
    const keys = [...new Set(due.flatMap((r) => (r.call_key === null ? [] : [r.call_key])))];
    const siblings = chunks(keys).flatMap((part) =>
      this.sql
        .exec<OutboxRow>(`SELECT * FROM call_log_outbox WHERE call_key IN (${placeholders(part.length)})`, ...part)
        .toArray(),
    );
    const byId = new Map([...due, ...siblings].map((r) => [r.id, r]));
    const rows = [...byId.values()].sort((a, b) => a.id - b.id);
    const ids = rows.map((r) => r.id);
    try {
      const writes = rows.map((r) => JSON.parse(r.body) as CallLogWrite);
      if (this.send) {
        // Not handed out again before the grace (the `ack` normally comes first).
        this.handOutAgainAt(ids, Date.now() + HANDOFF_GRACE_MS);
        await this.send({ ids, writes });
      } else {
        for (const [i, row] of rows.entries()) {
          const w = writes[i]!;
          if (w.kind === "dialed" || w.kind === "inbound") throw new Error(`no writer for a ${w.kind} write`);
          await this.apply(w);
          this.sql.exec("DELETE FROM call_log_outbox WHERE id = ?", row.id);
        }
      }
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      for (const row of rows) {
        const attempts = row.attempts + 1;
        if (attempts >= MAX_ATTEMPTS) {
          this.sql.exec("DELETE FROM call_log_outbox WHERE id = ?", row.id);
          log.error("call log write dropped after too many failures", { write: row.body, attempts, error });
          continue;
        }
        this.sql.exec(
          "UPDATE call_log_outbox SET attempts = ?, next_ms = ? WHERE id = ?",
          attempts,
          Date.now() + outboxRetryDelayMs(attempts),
          row.id,
        );
      }
      log.warn("call log writes wait: handing them out failed", { error });
      await this.arm();
      return false;
    }
    return due.length === BATCH;
  }
}
