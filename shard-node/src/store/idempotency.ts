/**
 * Idempotency keys for sends, per business, on the shard's volume. A key is claimed (pending) in a
 * transaction before the send and completed with the result after it, so a retried request either
 * gets the first result back or is told the first one is still running; never a second send.
 */
import type { Db } from "./db.js";

export type ClaimResult =
  | { kind: "claimed" }
  | { kind: "replay"; messageId: string; chatJid: string; sentAt: string }
  | { kind: "conflict" }
  | { kind: "in_flight"; messageId: string | null }
  | { kind: "outcome_unknown"; messageId: string | null };

interface Row {
  request_hash: string;
  state: "pending" | "done";
  boot_id: string;
  message_id: string | null;
  chat_jid: string | null;
  sent_at: string | null;
}

export class IdempotencyStore {
  private readonly select;
  private readonly insert;
  private readonly complete_;
  private readonly remove;
  private readonly prune_;

  /** `bootId` identifies this process: a pending key from another boot was cut off mid-send. */
  constructor(
    private readonly db: Db,
    private readonly bootId: string,
  ) {
    this.select = db.prepare<[number, string], Row>(
      "SELECT request_hash, state, boot_id, message_id, chat_jid, sent_at FROM idempotency WHERE business_id = ? AND key = ?",
    );
    this.insert = db.prepare<[number, string, string, string, string, number]>(
      `INSERT INTO idempotency (business_id, key, request_hash, state, boot_id, message_id, created_at)
       VALUES (?, ?, ?, 'pending', ?, ?, ?)`,
    );
    this.complete_ = db.prepare<[string, string, string, number, string]>(
      "UPDATE idempotency SET state = 'done', message_id = ?, chat_jid = ?, sent_at = ? WHERE business_id = ? AND key = ?",
    );
    this.remove = db.prepare<[number, string]>("DELETE FROM idempotency WHERE business_id = ? AND key = ?");
    this.prune_ = db.prepare<[number]>("DELETE FROM idempotency WHERE created_at < ?");
  }

  claim(businessId: number, key: string, requestHash: string, messageId: string): ClaimResult {
    return this.db
      .transaction((): ClaimResult => {
        const row = this.select.get(businessId, key);
        if (!row) {
          this.insert.run(businessId, key, requestHash, this.bootId, messageId, Date.now());
          return { kind: "claimed" };
        }
        if (row.request_hash !== requestHash) return { kind: "conflict" };
        if (row.state === "done") {
          return { kind: "replay", messageId: row.message_id!, chatJid: row.chat_jid!, sentAt: row.sent_at! };
        }
        if (row.boot_id === this.bootId) return { kind: "in_flight", messageId: row.message_id };
        return { kind: "outcome_unknown", messageId: row.message_id };
      })
      .immediate();
  }

  complete(businessId: number, key: string, result: { messageId: string; chatJid: string; sentAt: string }): void {
    this.complete_.run(result.messageId, result.chatJid, result.sentAt, businessId, key);
  }

  /** The send failed before reaching WhatsApp: forget the key so a retry may send. */
  release(businessId: number, key: string): void {
    this.remove.run(businessId, key);
  }

  prune(olderThanMs: number): number {
    return this.prune_.run(Date.now() - olderThanMs).changes;
  }
}
