/**
 * One object per business (named `business:<id>`). It is the serialisation point for everything
 * that must hold per business under races: call-slot leases, the WhatsApp shard assignment and its
 * fencing token, send throttles, and the settings cache. Each concern lives in its own SQLite
 * table created here; the RPC methods are added by the parts that own them.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../worker/env";

export class BusinessDO extends DurableObject<Env> {
  protected readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  /** Binds this object to its business id on first use and refuses a different one after. */
  identify(businessId: number): number {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'business_id'").toArray()[0];
    if (row && Number(row.value) !== businessId) {
      throw new Error(`BusinessDO for business ${row.value} was addressed as business ${businessId}`);
    }
    if (!row) this.sql.exec("INSERT INTO meta (key, value) VALUES ('business_id', ?)", String(businessId));
    return businessId;
  }
}
