/**
 * Applies migrations/ with drizzle's migrator over the production driver
 * (`@neondatabase/serverless`), so what runs locally and in CI is what runs against Neon.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import { migrate } from "drizzle-orm/neon-serverless/migrator";
import ws from "ws";

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");

/** Points the Neon driver (in Node) at a local WebSocket proxy, or at Neon itself when proxy is unset. */
export function configureNeonForNode(wsProxy: string | undefined): void {
  neonConfig.webSocketConstructor = ws;
  if (wsProxy) {
    neonConfig.wsProxy = (host, port) => `${wsProxy}/v2?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
}

export async function runMigrations(opts: { databaseUrl: string; wsProxy?: string }): Promise<void> {
  configureNeonForNode(opts.wsProxy);
  const pool = new Pool({ connectionString: opts.databaseUrl, max: 1 });
  try {
    await migrate(drizzle(pool), { migrationsFolder: MIGRATIONS_DIR });
  } finally {
    await pool.end();
  }
}

/** Creates (or recreates, when `recreate`) a database on the server of `databaseUrl`; returns its URL. */
export async function createDatabase(opts: {
  databaseUrl: string;
  wsProxy?: string;
  name: string;
  recreate?: boolean;
}): Promise<string> {
  configureNeonForNode(opts.wsProxy);
  const pool = new Pool({ connectionString: opts.databaseUrl, max: 1 });
  const quoted = `"${opts.name.replaceAll('"', '""')}"`;
  try {
    if (opts.recreate) await pool.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
    const exists = await pool.query("SELECT 1 FROM pg_database WHERE datname = $1", [opts.name]);
    if (exists.rowCount === 0) await pool.query(`CREATE DATABASE ${quoted}`);
  } finally {
    await pool.end();
  }
  const url = new URL(opts.databaseUrl);
  url.pathname = `/${opts.name}`;
  return url.toString();
}

/** Runs `fn` with a Node-side Neon pool on `databaseUrl` (tests and tooling). */
export async function withNodePool<T>(
  databaseUrl: string,
  wsProxy: string | undefined,
  fn: (pool: Pool) => Promise<T>,
): Promise<T> {
  configureNeonForNode(wsProxy);
  const pool = new Pool({ connectionString: databaseUrl, max: 4 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}
