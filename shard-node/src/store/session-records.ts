/**
 * What the shard remembers about each business across restarts: whether it should be running
 * (restored at boot), the highest fencing token seen, and the last known state.
 */
import type { ConnectionState } from "../../../contracts/shard-events.js";
import type { Db } from "./db.js";

export interface SessionRecord {
  businessId: number;
  desired: "running" | "stopped";
  fencingToken: number | null;
  state: ConnectionState;
  reason: string | null;
  statusCode: number | null;
  phoneNumber: string | null;
  updatedAt: string;
}

interface Row {
  business_id: number;
  desired: "running" | "stopped";
  fencing_token: number | null;
  state: ConnectionState;
  reason: string | null;
  status_code: number | null;
  phone_number: string | null;
  updated_at: string;
}

const toRecord = (r: Row): SessionRecord => ({
  businessId: r.business_id,
  desired: r.desired,
  fencingToken: r.fencing_token,
  state: r.state,
  reason: r.reason,
  statusCode: r.status_code,
  phoneNumber: r.phone_number,
  updatedAt: r.updated_at,
});

export class SessionRecords {
  private readonly selectOne;
  private readonly selectAll;
  private readonly selectRunning;
  private readonly ensure;
  private readonly setDesired_;
  private readonly setToken;
  private readonly setState_;

  constructor(private readonly db: Db) {
    this.selectOne = db.prepare<[number], Row>("SELECT * FROM sessions WHERE business_id = ?");
    this.selectAll = db.prepare<[], Row>("SELECT * FROM sessions ORDER BY business_id");
    this.selectRunning = db.prepare<[], Row>(
      "SELECT * FROM sessions WHERE desired = 'running' ORDER BY updated_at, business_id",
    );
    this.ensure = db.prepare<[number, string]>(
      "INSERT OR IGNORE INTO sessions (business_id, desired, state, updated_at) VALUES (?, 'stopped', 'closed', ?)",
    );
    this.setDesired_ = db.prepare<[string, number]>("UPDATE sessions SET desired = ? WHERE business_id = ?");
    this.setToken = db.prepare<[number, number]>("UPDATE sessions SET fencing_token = ? WHERE business_id = ?");
    this.setState_ = db.prepare<[string, string | null, number | null, string | null, string, number]>(
      `UPDATE sessions SET state = ?, reason = ?, status_code = ?, phone_number = COALESCE(?, phone_number), updated_at = ?
       WHERE business_id = ?`,
    );
  }

  get(businessId: number): SessionRecord | undefined {
    const row = this.selectOne.get(businessId);
    return row ? toRecord(row) : undefined;
  }

  all(): SessionRecord[] {
    return this.selectAll.all().map(toRecord);
  }

  running(): SessionRecord[] {
    return this.selectRunning.all().map(toRecord);
  }

  /**
   * Fencing: a token lower than the highest seen is refused; a higher one is remembered when
   * `store` is set (only a start assigns). Returns false when the token is stale.
   */
  checkFence(businessId: number, token: number | undefined, store: boolean): boolean {
    if (token === undefined) return true;
    return this.db
      .transaction(() => {
        this.ensure.run(businessId, new Date().toISOString());
        const current = this.selectOne.get(businessId)!.fencing_token;
        if (current !== null && token < current) return false;
        if (store && (current === null || token > current)) this.setToken.run(token, businessId);
        return true;
      })
      .immediate();
  }

  setDesired(businessId: number, desired: "running" | "stopped"): void {
    this.ensure.run(businessId, new Date().toISOString());
    this.setDesired_.run(desired, businessId);
  }

  setState(
    businessId: number,
    s: { state: ConnectionState; reason?: string; statusCode?: number; phoneNumber?: string; updatedAt: string },
  ): void {
    this.ensure.run(businessId, s.updatedAt);
    this.setState_.run(s.state, s.reason ?? null, s.statusCode ?? null, s.phoneNumber ?? null, s.updatedAt, businessId);
  }
}
