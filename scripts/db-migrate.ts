/**
 * `npm run db:migrate`: applies migrations/ to DATABASE_URL (through NEON_WS_PROXY when set, or a
 * proxy started here for a plain Postgres). With no DATABASE_URL it migrates the embedded
 * development database, starting it if needed.
 */
import path from "node:path";
import { startEmbeddedPostgres } from "./lib/embedded-postgres";
import { needsLocalProxy, readLocalEnv } from "./lib/local-env";
import { runMigrations } from "./lib/migrate";
import { startNeonWsProxy } from "./lib/neon-ws-proxy";

const env = readLocalEnv();
const embedded = env.DATABASE_URL
  ? null
  : await startEmbeddedPostgres({
      dataDir: path.join(env.LOCAL_DATA_DIR, "postgres"),
      port: env.LOCAL_PG_PORT,
      database: "prosaas",
    });
const databaseUrl = env.DATABASE_URL ?? embedded!.url;
const proxy = needsLocalProxy(databaseUrl, env.NEON_WS_PROXY) ? await startNeonWsProxy() : null;
try {
  await runMigrations({ databaseUrl, wsProxy: env.NEON_WS_PROXY ?? proxy?.address });
  console.log(`migrations applied to ${new URL(databaseUrl).host}${new URL(databaseUrl).pathname}`);
} finally {
  await proxy?.close();
  await embedded?.stop();
}
