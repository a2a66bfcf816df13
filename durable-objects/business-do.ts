/**
 * One object per business (named `business:<id>`). It is the serialisation point for everything
 * that must hold per business under races: call-slot leases, the WhatsApp shard assignment and its
 * fencing token, send throttles, and the settings cache. Each concern lives in its own SQLite
 * table created here; the RPC methods are added by the parts that own them.
 */
import { DurableObject } from "cloudflare:workers";
import { getConfig } from "../worker/config";
import { withDb } from "../worker/db/client";
import type { Env } from "../worker/env";
import { type BusinessSettingsView, loadSettings } from "../worker/services/settings";
import { SettingsCache } from "./business/settings-cache";

/** How long cached settings live without an invalidation. */
const SETTINGS_TTL_MS = 60_000;

export class BusinessDO extends DurableObject<Env> {
  protected readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  private settingsCache: SettingsCache<BusinessSettingsView> | null = null;

  /** The business's settings, cached here (TTL, invalidated on update). `nowMs` is for tests. */
  async settings(businessId: number, nowMs?: number): Promise<BusinessSettingsView> {
    this.identify(businessId);
    this.settingsCache ??= new SettingsCache(
      () => withDb(getConfig(this.env), (db) => loadSettings(db, businessId)),
      SETTINGS_TTL_MS,
    );
    return this.settingsCache.get(nowMs);
  }

  /** Drops the cached settings; the next read loads them from Postgres. */
  invalidateSettings(businessId: number): void {
    this.identify(businessId);
    this.settingsCache?.invalidate();
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
