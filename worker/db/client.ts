/**
 * Postgres access through drizzle + `@neondatabase/serverless` (WebSocket Pool). The same code
 * reaches Neon in production and, locally, a plain Postgres through the Neon-compatible WebSocket
 * proxy (NEON_WS_PROXY). A Worker cannot keep sockets across requests, so a Pool lives for one
 * request (or one queue batch / alarm) and is closed with `waitUntil(pool.end())`.
 */
import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import { type Config, ConfigError } from "../config";
import { log } from "../lib/log";
import * as schema from "./schema";

export type Database = NeonDatabase<typeof schema>;
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];
/** A database or an open transaction: for code that runs either way (e.g. inside an outbox write). */
export type Executor = Database | Transaction;

export interface DbHandle {
  db: Database;
  /** Ends the pool; safe to call more than once, never throws. */
  close(): Promise<void>;
}

let configuredProxy: string | undefined | null = null;

function configureDriver(config: Config): void {
  // neonConfig is module-global; the value is the same for every request in an isolate.
  if (configuredProxy === (config.NEON_WS_PROXY ?? undefined)) return;
  configuredProxy = config.NEON_WS_PROXY ?? undefined;
  if (config.NEON_WS_PROXY) {
    const proxy = config.NEON_WS_PROXY;
    neonConfig.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}`;
    // The local proxy is plain ws:// to a plain Postgres: no TLS to pipeline.
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  } else {
    // Neon's default: the proxy lives on the database host itself.
    neonConfig.wsProxy = (host) => `${host}/v2`;
    neonConfig.useSecureWebSocket = true;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = "password";
  }
}

export function openDb(config: Config): DbHandle {
  if (!config.DATABASE_URL) {
    throw new ConfigError([{ variable: "DATABASE_URL", message: "is not set; the database cannot be reached" }]);
  }
  configureDriver(config);
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 5 });
  let closing: Promise<void> | null = null;
  // An idle client error (e.g. the proxy went away) must not crash the isolate. Ending the pool
  // drops its sockets, which the driver also reports as errors: those are expected, not logged.
  pool.on("error", (err: Error) => {
    if (!closing) log.warn("idle database connection failed", { error: err.message });
  });
  const close = () => {
    closing ??= pool.end().catch(() => {});
    return closing;
  };
  return { db: drizzle(pool, { schema }), close };
}

/**
 * Opens a connection in the database's pool now if it has none, so a query made later (e.g. by a
 * dial waiting for a call slot) is one round trip, not a connection first. Never throws.
 */
export async function warmConnection(db: Database): Promise<void> {
  const pool = (db as Database & { $client: Pool }).$client;
  if (pool.totalCount > 0) return;
  try {
    (await pool.connect()).release();
  } catch {
    // The query that needs it will say what is wrong.
  }
}

/** Runs `fn` with a fresh pool and closes it after (for queue batches, alarms, cron). */
export async function withDb<T>(config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  const { db, close } = openDb(config);
  try {
    return await fn(db);
  } finally {
    await close();
  }
}
