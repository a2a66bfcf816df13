/**
 * The answers given to inbound calls, by CallSid (issue 16 #2). Twilio retries the incoming-call
 * webhook when we are slow, and a retry must get the same answer: a call admitted is answered
 * again without taking a second slot (even after it ended), a call refused is refused again.
 * Kept here, with the call's lease, so the webhook needs no Postgres round trip to know; a day
 * is far longer than Twilio retries.
 */
import type { ReserveResult } from "./call-leases";

const ANSWER_TTL_MS = 24 * 3600_000;

export interface InboundAnswer {
  admitted: boolean;
  leaseId: string | null;
  /** A refusal's reason (the cap that refused). */
  reason: string | null;
}

export class InboundCalls {
  /** Answers being decided (a retry arriving meanwhile waits for the same one). */
  private readonly deciding = new Map<string, Promise<{ answer: InboundAnswer; fresh: boolean }>>();

  constructor(private readonly sql: SqlStorage) {
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS inbound_answers (call_sid TEXT PRIMARY KEY, admitted INTEGER NOT NULL, lease_id TEXT, reason TEXT, at_ms INTEGER NOT NULL)",
    );
  }

  /**
   * The answer for this call: the one already given, or `admit()`'s, recorded. `fresh` is true
   * for the request that decided it (it writes the call's log).
   */
  answer(callSid: string, admit: () => Promise<ReserveResult>): Promise<{ answer: InboundAnswer; fresh: boolean }> {
    const known = this.sql
      .exec<{ admitted: number; lease_id: string | null; reason: string | null }>(
        "SELECT admitted, lease_id, reason FROM inbound_answers WHERE call_sid = ?",
        callSid,
      )
      .toArray()[0];
    if (known)
      return Promise.resolve({
        answer: { admitted: known.admitted === 1, leaseId: known.lease_id, reason: known.reason },
        fresh: false,
      });
    const inFlight = this.deciding.get(callSid);
    if (inFlight) return inFlight.then((r) => ({ answer: r.answer, fresh: false }));
    const decided = (async () => {
      const result = await admit();
      const answer: InboundAnswer = result.ok
        ? { admitted: true, leaseId: result.lease.leaseId, reason: null }
        : { admitted: false, leaseId: null, reason: result.refusal.message };
      this.sql.exec(
        "INSERT OR IGNORE INTO inbound_answers (call_sid, admitted, lease_id, reason, at_ms) VALUES (?, ?, ?, ?, ?)",
        callSid,
        answer.admitted ? 1 : 0,
        answer.leaseId,
        answer.reason,
        Date.now(),
      );
      return { answer, fresh: true };
    })().finally(() => this.deciding.delete(callSid));
    this.deciding.set(callSid, decided);
    return decided;
  }

  prune(now = Date.now()): void {
    this.sql.exec("DELETE FROM inbound_answers WHERE at_ms < ?", now - ANSWER_TTL_MS);
  }
}
