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
