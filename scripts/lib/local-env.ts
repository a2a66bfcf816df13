/**
 * Settings of the local tooling (dev runner, migrate script, test setup): parsed once with zod,
 * defaults in code. These are Node-side process settings, separate from the Worker's config
 * (worker/config.ts), which the runner passes on to wrangler as bindings.
 */
import { z } from "zod";

const localEnvSchema = z.object({
  /** An external Postgres/Neon URL; when unset, an embedded Postgres is started. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** WebSocket proxy (host:port) in front of DATABASE_URL; unset for Neon itself. */
  NEON_WS_PROXY: z.string().optional(),
  LOCAL_PG_PORT: z.coerce.number().int().min(1).max(65_535).default(54329),
  LOCAL_WS_PROXY_PORT: z.coerce.number().int().min(1).max(65_535).default(54330),
  LOCAL_DATA_DIR: z.string().default(".data"),
  WORKER_PORT: z.coerce.number().int().min(1).max(65_535).default(8787),
  SHARD_BASE_PORT: z.coerce.number().int().min(1).max(65_535).default(3300),
  /** How many WhatsApp shard nodes `npm run dev` starts (ports SHARD_BASE_PORT, +1, …). */
  LOCAL_SHARDS: z.coerce.number().int().min(0).max(8).default(1),
  /** `baileys` (real WhatsApp; needs internet) or `fake` (scriptable sessions, for offline work). */
  LOCAL_SHARD_DRIVER: z.enum(["baileys", "fake"]).default("baileys"),
});

export type LocalEnv = z.infer<typeof localEnvSchema>;

export function readLocalEnv(env: NodeJS.ProcessEnv = process.env): LocalEnv {
  const values = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = localEnvSchema.safeParse(values);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid local settings:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** A plain Postgres needs the WebSocket proxy; Neon (and anything with NEON_WS_PROXY set) does not. */
export function needsLocalProxy(databaseUrl: string, explicitProxy: string | undefined): boolean {
  if (explicitProxy) return false;
  return !new URL(databaseUrl).hostname.endsWith(".neon.tech");
}

/** The environment for a child process of the local tooling: this process's, plus `extra`. */
export function childProcessEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}
