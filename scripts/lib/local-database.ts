/**
 * The database a local tool (`npm run bootstrap`, `npm run db:migrate`) works on, found in this
 * order, so no tool ever starts a second Postgres on a data folder that is in use, or quietly
 * creates an empty cluster somewhere else:
 *   1. DATABASE_URL, when set;
 *   2. the database of a running `npm run dev` (its LOCAL_DATA_DIR/dev-state.json);
 *   3. an embedded Postgres already running on LOCAL_DATA_DIR/postgres (its postmaster.pid);
 *   4. the embedded development database, started here and stopped again after — only if it
 *      exists (`create` lets db:migrate make it on a fresh clone).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { readLiveDevState, runningPostgresPort } from "./dev-state";
import { type LocalPostgres, startEmbeddedPostgres } from "./embedded-postgres";
import { type LocalEnv, needsLocalProxy } from "./local-env";
import { type NeonWsProxy, startNeonWsProxy } from "./neon-ws-proxy";

export interface LocalDatabase {
  databaseUrl: string;
  wsProxy: string | undefined;
  /** Where it came from, for the tool's first line of output. */
  source: string;
  close(): Promise<void>;
}

/** The embedded server's fixed local credentials (scripts/lib/embedded-postgres.ts). */
const embeddedUrl = (port: number) => `postgres://postgres:postgres@127.0.0.1:${port}/prosaas`;

export class LocalDatabaseError extends Error {}

export async function openLocalDatabase(env: LocalEnv, opts: { create?: boolean } = {}): Promise<LocalDatabase> {
  const pgDir = path.resolve(env.LOCAL_DATA_DIR, "postgres");
  let embedded: LocalPostgres | null = null;
  let databaseUrl: string;
  let wsProxy: string | undefined;
  let source: string;

  const state = env.DATABASE_URL ? null : readLiveDevState(env.LOCAL_DATA_DIR);
  if (env.DATABASE_URL) {
    databaseUrl = env.DATABASE_URL;
    wsProxy = env.NEON_WS_PROXY;
    source = `DATABASE_URL (${new URL(databaseUrl).host})`;
  } else if (state) {
    databaseUrl = state.databaseUrl;
    wsProxy = state.wsProxy;
    source = `the running npm run dev (pid ${state.pid}, ${new URL(databaseUrl).host})`;
  } else {
    const port = runningPostgresPort(pgDir);
    if (port !== null) {
      databaseUrl = embeddedUrl(port);
      source = `the embedded PostgreSQL already running on ${pgDir} (port ${port})`;
    } else if (existsSync(path.join(pgDir, "PG_VERSION")) || opts.create) {
      try {
        embedded = await startEmbeddedPostgres({ dataDir: pgDir, port: env.LOCAL_PG_PORT, database: "prosaas" });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err ?? "no reason given");
        throw new LocalDatabaseError(
          `could not start the embedded PostgreSQL on ${pgDir} (port ${env.LOCAL_PG_PORT}): ${reason}`,
        );
      }
      databaseUrl = embedded.url;
      source = `the embedded PostgreSQL on ${pgDir}, started for this command`;
    } else {
      throw new LocalDatabaseError(
        `no development database at ${pgDir}: run \`npm run dev\` once (it creates and migrates it), ` +
          "point LOCAL_DATA_DIR at the folder your npm run dev uses, or set DATABASE_URL",
      );
    }
  }

  let proxy: NeonWsProxy | null = null;
  if (needsLocalProxy(databaseUrl, wsProxy)) {
    proxy = await startNeonWsProxy();
    wsProxy = proxy.address;
  }
  return {
    databaseUrl,
    wsProxy,
    source,
    close: async () => {
      await proxy?.close();
      await embedded?.stop().catch(() => {});
    },
  };
}
