/**
 * The test database plan, shared by vitest.config.ts (which hands the URLs to the Worker as
 * bindings) and the global setup (which starts the servers on exactly those ports). The plan
 * crosses from the config to the setup through one environment variable, because vitest loads
 * the two in separate module graphs.
 *
 * Default: an embedded PostgreSQL in a fresh temp dir on a free port, plus the Neon WebSocket
 * proxy. With DATABASE_URL set, the same suite runs against that server instead.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../scripts/lib/embedded-postgres";
import { needsLocalProxy, readLocalEnv } from "../../scripts/lib/local-env";

export interface TestDatabasePlan {
  /** Where the Worker connects (through the proxy). */
  databaseUrl: string;
  /** host:port of the proxy the Worker uses, or undefined for Neon. */
  wsProxy: string | undefined;
  /** Start an embedded Postgres here (undefined when DATABASE_URL was given). */
  embedded?: { port: number; dataDir: string; database: string };
  /** Start the local proxy on this port. */
  proxyPort?: number;
  /** A database that was never migrated (for /ready "fresh DB"). */
  freshDatabaseUrl: string;
  /** A database migrated up to, but not including, the latest migration (for /ready "behind"). */
  behindDatabaseUrl: string;
}

function siblingDatabase(databaseUrl: string, suffix: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `${url.pathname}_${suffix}`;
  return url.toString();
}

const PLAN_VARIABLE = "PROSAAS_TEST_DB_PLAN";

export async function testDatabasePlan(): Promise<TestDatabasePlan> {
  const existing = process.env[PLAN_VARIABLE];
  if (existing) return JSON.parse(existing) as TestDatabasePlan;
  const local = readLocalEnv();
  let plan: Omit<TestDatabasePlan, "freshDatabaseUrl" | "behindDatabaseUrl"> & Partial<TestDatabasePlan>;
  if (local.DATABASE_URL) {
    const proxyPort = needsLocalProxy(local.DATABASE_URL, local.NEON_WS_PROXY) ? await freePort() : undefined;
    plan = {
      databaseUrl: local.DATABASE_URL,
      wsProxy: local.NEON_WS_PROXY ?? (proxyPort ? `127.0.0.1:${proxyPort}` : undefined),
      proxyPort,
    };
  } else {
    const port = await freePort();
    const proxyPort = await freePort();
    const dataDir = path.join(await mkdtemp(path.join(tmpdir(), "prosaas-test-pg-")), "data");
    plan = {
      databaseUrl: `postgres://postgres:postgres@127.0.0.1:${port}/prosaas_test`,
      wsProxy: `127.0.0.1:${proxyPort}`,
      embedded: { port, dataDir, database: "prosaas_test" },
      proxyPort,
    };
  }
  plan.freshDatabaseUrl = siblingDatabase(plan.databaseUrl, "fresh");
  plan.behindDatabaseUrl = siblingDatabase(plan.databaseUrl, "behind");
  process.env[PLAN_VARIABLE] = JSON.stringify(plan);
  return plan as TestDatabasePlan;
}
