/**
 * Compares the migrations applied to the database with the ones this code was built with.
 * drizzle's migrator records each applied migration in drizzle.__drizzle_migrations with
 * `created_at` = the journal entry's `when`, so "latest applied when" = "latest journal when"
 * means the schema is current.
 */
import { sql } from "drizzle-orm";
import journal from "../../migrations/meta/_journal.json";
import type { Database } from "./client";

export const SCHEMA_BEHIND_MESSAGE = "DB schema behind — run db:migrate";

export interface MigrationStatus {
  ok: boolean;
  expected: { count: number; latest: string };
  applied: { count: number; latestAt: number | null };
  reason?: string;
}

const entries = journal.entries;
const latestEntry = entries[entries.length - 1]!;

export async function checkMigrations(db: Database): Promise<MigrationStatus> {
  const expected = { count: entries.length, latest: latestEntry.tag };
  const table = await db.execute<{ exists: boolean }>(
    sql`select to_regclass('drizzle.__drizzle_migrations') is not null as exists`,
  );
  if (!table.rows[0]?.exists) {
    return { ok: false, expected, applied: { count: 0, latestAt: null }, reason: SCHEMA_BEHIND_MESSAGE };
  }
  const applied = await db.execute<{ count: string; latest: string | null }>(
    sql`select count(*)::text as count, max(created_at)::text as latest from drizzle.__drizzle_migrations`,
  );
  const count = Number(applied.rows[0]?.count ?? 0);
  const latestAt = applied.rows[0]?.latest == null ? null : Number(applied.rows[0].latest);
  const status = { expected, applied: { count, latestAt } };
  if (latestAt === null || latestAt < latestEntry.when) return { ok: false, ...status, reason: SCHEMA_BEHIND_MESSAGE };
  if (latestAt > latestEntry.when) {
    return { ok: false, ...status, reason: "DB schema ahead of this code — deploy the matching Worker version" };
  }
  return { ok: true, ...status };
}
