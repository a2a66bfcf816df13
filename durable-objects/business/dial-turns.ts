/**
 * Whose turn it is to dial, for a business's campaign (issue 16 #4). The dial consumer asks here
 * before it touches Postgres (worker/queues/handlers/outbound-call-dial.ts):
 *
 * - A message older than the job's last dial is a duplicate (the run's own message, a kick, a
 *   slot wait: a job may have several in flight, and the one that dialed it settles it). The
 *   object remembers when each job was last dialed (at its confirm), so a duplicate is acked
 *   here without a claim attempt in Postgres. A message sent after that dial (a retry of a
 *   no-answer, the sweep) is not a duplicate. This is a hint only: the claim in Postgres stays
 *   the one guard against dialing a lead twice.
 * - A free slot: go now.
 * - Every slot taken: up to `cap` messages wait here as standbys, for at most `maxWaitMs`. When a
 *   call ends (its slot is freed here), the first standby is woken at once and dials, so a freed
 *   slot is refilled in the time of one reserve and one Twilio create — not a queue round trip
 *   and a Postgres connection later. The rest wait in the queue (a delayed message) as before.
 *
 * Standbys live in memory: if the object is reset, their calls fail and their messages are
 * retried by the queue. The dial times are a table (one row per job, pruned after a day).
 */

import type { CallLease, CallRefusal } from "./call-leases";
import type { HandOff } from "./call-log-outbox";

/** Whether a message may dial: the BusinessDO turns a `go` into a reserved slot (DialTurn). */
export type TurnDecision =
  | { go: true; waitedMs: number; handOff?: HandOff }
  /**
   * `dialed`: the job was dialed after this message was sent; `waiting`: another message of it is a
   * standby; `busy`: no slot (`canWait`: asked without waiting, and a standby's place is free).
   */
  | { go: false; why: "dialed" | "waiting" | "busy"; waitedMs: number; canWait?: boolean };

/** What a dial consumer is told: its slot's lease, or why not (with the cap's refusal when the reserve was refused). */
export type DialTurn = (
  | { go: true; lease: CallLease; waitedMs: number }
  | { go: false; why: "dialed" | "waiting" | "busy"; waitedMs: number; canWait?: boolean; refusal?: CallRefusal }
) & {
  /**
   * A woken standby also carries the call log writes of the call whose end woke it (its end and
   * what waited for it): the dial applies them on its own database connection, after its create,
   * and acknowledges them (`ackCallLogWrites`) — instead of the status callback opening one.
   */
  handOff?: HandOff;
};

export interface DialTurnRequest {
  jobId: number;
  /** When the queue message was sent (epoch ms). */
  sentAtMs: number;
  /** The business's outbound cap. */
  cap: number;
  /** How long a standby may wait for a slot; 0: never wait. */
  maxWaitMs: number;
}

const LEDGER_TTL_MS = 24 * 3600_000;

interface Standby {
  cap: number;
  wake: (freed: boolean, handOff?: HandOff) => void;
}

export class DialTurns {
  /** jobId → standby, in arrival order (Map keeps insertion order). */
  private readonly standbys = new Map<number, Standby>();
  /** Turns given whose reserve has not finished: they count as taken (a reserve awaits the platform). */
  private reserving = 0;

  constructor(
    private readonly sql: SqlStorage,
    /** Outbound calls holding the business's slots now. */
    private readonly outboundActive: () => number,
  ) {
    this.sql.exec("CREATE TABLE IF NOT EXISTS dial_ledger (job_id INTEGER PRIMARY KEY, dialed_ms INTEGER NOT NULL)");
  }

  async turn(req: DialTurnRequest): Promise<TurnDecision> {
    const dialed = this.sql
      .exec<{ dialed_ms: number }>("SELECT dialed_ms FROM dial_ledger WHERE job_id = ?", req.jobId)
      .toArray()[0];
    if (dialed && dialed.dialed_ms > req.sentAtMs) return { go: false, why: "dialed", waitedMs: 0 };
    if (this.standbys.has(req.jobId)) return { go: false, why: "waiting", waitedMs: 0 };
    if (this.taken() < req.cap) return { go: true, waitedMs: 0 };
    if (req.maxWaitMs <= 0) return { go: false, why: "busy", waitedMs: 0, canWait: this.standbys.size < req.cap };
    if (this.standbys.size >= req.cap) return { go: false, why: "busy", waitedMs: 0 };

    const started = Date.now();
    const { freed, handOff } = await new Promise<{ freed: boolean; handOff?: HandOff }>((resolve) => {
      const timer = setTimeout(() => {
        this.standbys.delete(req.jobId);
        resolve({ freed: false });
      }, req.maxWaitMs);
      this.standbys.set(req.jobId, {
        cap: req.cap,
        wake: (ok, handOff) => {
          clearTimeout(timer);
          this.standbys.delete(req.jobId);
          resolve({ freed: ok, handOff });
        },
      });
    });
    const waitedMs = Date.now() - started;
    return freed ? { go: true, waitedMs, handOff } : { go: false, why: "busy", waitedMs };
  }

  /** A turn's reserve began / ended (see `reserving`). */
  reserveStarted(): void {
    this.reserving++;
  }
  reserveEnded(): void {
    this.reserving = Math.max(0, this.reserving - 1);
  }

  private taken(): number {
    return this.outboundActive() + this.reserving;
  }

  /**
   * Slots may have been freed: wake standbys, first come first, while their cap leaves room. The
   * first one woken takes `handOff` (the ended call's log writes) along; true if one did.
   */
  wake(handOff?: HandOff | null): boolean {
    if (this.standbys.size === 0) return false;
    let active = this.taken();
    let given = false;
    for (const standby of [...this.standbys.values()]) {
      if (active >= standby.cap) break;
      // The woken standby will take this slot: count it, so one free slot wakes one standby.
      active++;
      standby.wake(true, given ? undefined : (handOff ?? undefined));
      given = true;
    }
    return given && Boolean(handOff);
  }

  /** Whether `wake` now would wake a standby (one waits, and its cap leaves room for it). */
  wouldWake(): boolean {
    const first = this.standbys.values().next();
    return !first.done && this.taken() < first.value.cap;
  }

  /** Twilio accepted a call of this job: messages of it sent before now are duplicates. */
  recordDialed(jobId: number, now = Date.now()): void {
    this.sql.exec(
      "INSERT INTO dial_ledger (job_id, dialed_ms) VALUES (?, ?) ON CONFLICT (job_id) DO UPDATE SET dialed_ms = excluded.dialed_ms",
      jobId,
      now,
    );
  }

  prune(now = Date.now()): void {
    this.sql.exec("DELETE FROM dial_ledger WHERE dialed_ms < ?", now - LEDGER_TTL_MS);
  }

  /** Standbys waiting now (tests, snapshot). */
  waiting(): number {
    return this.standbys.size;
  }
}
