/**
 * Settings of the local tooling (dev runner, migrate script, test setup): parsed once with zod,
 * defaults in code. These are Node-side process settings, separate from the Worker's config
 * (worker/config.ts), which the runner passes on to wrangler as bindings.
 */
import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { z } from "zod";
import { configSchema } from "../../worker/config";

const port = z.coerce.number().int().min(1).max(65_535);
const ms = z.coerce.number().int().min(0).max(3_600_000);
const rate = z.coerce.number().min(0).max(1);
const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"])
  .transform((v) => v === "true" || v === "1" || v === "yes" || v === "on");

const localEnvSchema = z.object({
  /** An external Postgres/Neon URL; when unset, an embedded Postgres is started. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** WebSocket proxy (host:port) in front of DATABASE_URL; unset for Neon itself. */
  NEON_WS_PROXY: z.string().optional(),
  LOCAL_PG_PORT: port.default(54329),
  LOCAL_WS_PROXY_PORT: port.default(54330),
  LOCAL_DATA_DIR: z.string().default(".data"),
  WORKER_PORT: port.default(8787),
  SHARD_BASE_PORT: port.default(3300),
  /** How many WhatsApp shard nodes `npm run dev` starts (ports SHARD_BASE_PORT, +1, …). */
  LOCAL_SHARDS: z.coerce.number().int().min(0).max(8).default(1),
  /** `baileys` (real WhatsApp; needs internet) or `fake` (scriptable sessions, for offline work). */
  LOCAL_SHARD_DRIVER: z.enum(["baileys", "fake"]).default("baileys"),

  /**
   * The Twilio simulator (scripts/twilio-simulator/): `auto` starts it when no Twilio credentials
   * are set (shell or .dev.vars), `on` always (it then replaces them), `off` never.
   */
  LOCAL_TWILIO_SIMULATOR: z.enum(["auto", "on", "off"]).default("auto"),
  LOCAL_TWILIO_SIMULATOR_PORT: port.default(8790),
  /** Calls run through their lifecycle by themselves; `false`: they ring until moved from the console page. */
  LOCAL_TWILIO_AUTO: bool.default(true),
  LOCAL_TWILIO_RING_MS: ms.default(3_000),
  LOCAL_TWILIO_TALK_MS: ms.default(10_000),
  LOCAL_TWILIO_NO_ANSWER_RATE: rate.default(0.1),
  LOCAL_TWILIO_BUSY_RATE: rate.default(0.05),
  LOCAL_TWILIO_FAILED_RATE: rate.default(0.02),
  LOCAL_TWILIO_MACHINE_RATE: rate.default(0.1),
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

const SHARD_URL_KEY = /^BAILEYS_SHARD_\d+_URL$/;

/**
 * Worker settings given in the shell (`METRICS_TOKEN=… npm run dev`): every non-empty variable
 * whose name worker/config.ts knows. The dev runner passes them on to `wrangler dev`.
 */
export function workerSettingsFromShell(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const known = new Set(Object.keys(configSchema.shape));
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        (known.has(entry[0]) || SHARD_URL_KEY.test(entry[0])) && typeof entry[1] === "string" && entry[1] !== "",
    ),
  );
}

/** The settings in `.dev.vars` (dotenv syntax, as wrangler reads it); none when the file is absent. */
export function readDevVars(file = ".dev.vars"): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return {};
  }
  return Object.fromEntries(Object.entries(parseEnv(text)).filter((e): e is [string, string] => e[1] !== undefined));
}
