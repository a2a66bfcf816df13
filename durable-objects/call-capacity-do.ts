/**
 * The platform-wide call cap (MAX_CONCURRENT_CALLS across all businesses, inbound and outbound).
 * A single instance (named `global`) so admission is serialised in one place; the lease logic
 * lives in the calls part. Storage: SQLite, one row per held slot.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../worker/env";

export class CallCapacityDO extends DurableObject<Env> {
  protected readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS slots (lease_id TEXT PRIMARY KEY, business_id INTEGER NOT NULL, kind TEXT NOT NULL, expires_ms INTEGER NOT NULL)",
    );
  }

  /** Slots held right now, in total and by business. */
  snapshot(): { active: number; byBusiness: Record<string, number> } {
    const rows = this.sql
      .exec<{ business_id: number; n: number }>("SELECT business_id, COUNT(*) AS n FROM slots GROUP BY business_id")
      .toArray();
    const byBusiness: Record<string, number> = {};
    let active = 0;
    for (const r of rows) {
      byBusiness[String(r.business_id)] = r.n;
      active += r.n;
    }
    return { active, byBusiness };
  }
}
