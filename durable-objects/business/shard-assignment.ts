/**
 * The business's WhatsApp shard assignment and its fencing token, in its BusinessDO.
 *
 * A move never leaves two live sockets on one set of credentials: `beginMove` records the target
 * and a new, higher fencing token, and sends are held; the caller then logs the session out on
 * the old shard (which wipes its credentials there, so that shard cannot restore it on reboot),
 * and only after that succeeded calls `completeMove`, which makes the new shard current; the new
 * shard is started with the new token, so a start or send carrying an older token is refused.
 * A move that fails midway stays recorded and can be retried (`beginMove` to the same shard
 * returns the same plan) or abandoned (`abortMove`).
 */
export interface Assignment {
  shard: number;
  fencingToken: number;
  move: { from: number; to: number; fencingToken: number; startedAt: string } | null;
}

export class ShardAssignment {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS shard_assignment (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      shard INTEGER NOT NULL,
      fencing_token INTEGER NOT NULL,
      move_to INTEGER,
      move_token INTEGER,
      move_started_ms INTEGER
    )`);
  }

  private row() {
    return this.sql
      .exec<{
        shard: number;
        fencing_token: number;
        move_to: number | null;
        move_token: number | null;
        move_started_ms: number | null;
      }>("SELECT shard, fencing_token, move_to, move_token, move_started_ms FROM shard_assignment WHERE id = 1")
      .toArray()[0];
  }

  private view(row: NonNullable<ReturnType<ShardAssignment["row"]>>): Assignment {
    return {
      shard: row.shard,
      fencingToken: row.fencing_token,
      move:
        row.move_to === null
          ? null
          : {
              from: row.shard,
              to: row.move_to,
              fencingToken: row.move_token!,
              startedAt: new Date(row.move_started_ms!).toISOString(),
            },
    };
  }

  /** The current assignment; on first use, `routed` (from Postgres or the hash) with token 1. */
  current(routed: number): Assignment {
    const row = this.row();
    if (row) return this.view(row);
    this.sql.exec("INSERT INTO shard_assignment (id, shard, fencing_token) VALUES (1, ?, 1)", routed);
    return this.view(this.row()!);
  }

  /** Cached assignment without initialising (null before first use). */
  peek(): Assignment | null {
    const row = this.row();
    return row ? this.view(row) : null;
  }

  beginMove(
    routed: number,
    to: number,
    nowMs: number,
  ): { ok: true; assignment: Assignment } | { ok: false; reason: string } {
    const assignment = this.current(routed);
    if (assignment.move && assignment.move.to !== to) {
      return { ok: false, reason: `a move to shard ${assignment.move.to} is in progress; finish or abort it first` };
    }
    if (assignment.move) return { ok: true, assignment };
    if (assignment.shard === to) return { ok: false, reason: `the business is already on shard ${to}` };
    this.sql.exec(
      "UPDATE shard_assignment SET move_to = ?, move_token = ?, move_started_ms = ? WHERE id = 1",
      to,
      assignment.fencingToken + 1,
      nowMs,
    );
    return { ok: true, assignment: this.view(this.row()!) };
  }

  completeMove(fencingToken: number): { ok: true; assignment: Assignment } | { ok: false; reason: string } {
    const row = this.row();
    if (!row || row.move_to === null) return { ok: false, reason: "no move in progress" };
    if (row.move_token !== fencingToken) return { ok: false, reason: "stale move token" };
    this.sql.exec(
      "UPDATE shard_assignment SET shard = move_to, fencing_token = move_token, move_to = NULL, move_token = NULL, move_started_ms = NULL WHERE id = 1",
    );
    return { ok: true, assignment: this.view(this.row()!) };
  }

  abortMove(): Assignment | null {
    this.sql.exec("UPDATE shard_assignment SET move_to = NULL, move_token = NULL, move_started_ms = NULL WHERE id = 1");
    return this.peek();
  }
}
