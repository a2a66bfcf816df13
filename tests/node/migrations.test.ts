/** Migrations apply from empty with the production driver, and applying them again changes nothing. */
import { describe, expect, it } from "vitest";
import { createDatabase, runMigrations, withNodePool } from "../../scripts/lib/migrate";
import { testDatabasePlan } from "../setup/test-database";

describe("migrations", () => {
  it("apply to an empty database and are idempotent", async () => {
    const plan = await testDatabasePlan();
    const url = await createDatabase({
      databaseUrl: plan.databaseUrl,
      wsProxy: plan.wsProxy,
      name: "prosaas_test_from_empty",
      recreate: true,
    });
    await runMigrations({ databaseUrl: url, wsProxy: plan.wsProxy });
    await runMigrations({ databaseUrl: url, wsProxy: plan.wsProxy });
    const tables = await withNodePool(url, plan.wsProxy, async (pool) => {
      const res = await pool.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = 'public' order by table_name",
      );
      return res.rows.map((r) => r.table_name);
    });
    expect(tables).toEqual(
      expect.arrayContaining([
        "appointments",
        "business_settings",
        "businesses",
        "call_logs",
        "feature_flags",
        "lead_statuses",
        "leads",
        "outbound_call_jobs",
        "outbound_call_runs",
        "scheduled_messages",
        "sessions",
        "users",
        "wa_conversations",
        "wa_messages",
      ]),
    );
    const shardColumn = await withNodePool(url, plan.wsProxy, (pool) =>
      pool.query(
        "select data_type, is_nullable, column_default from information_schema.columns where table_name = 'businesses' and column_name = 'whatsapp_shard'",
      ),
    );
    expect(shardColumn.rows[0]).toEqual({ data_type: "integer", is_nullable: "NO", column_default: "1" });
    const applied = await withNodePool(url, plan.wsProxy, (pool) =>
      pool.query("select count(*)::int as n from drizzle.__drizzle_migrations"),
    );
    const { default: journal } = await import("../../migrations/meta/_journal.json", { with: { type: "json" } });
    expect(applied.rows[0].n).toBe(journal.entries.length);
  });
});
