/**
 * The one home of configuration. Every setting the Worker reads is parsed here, once per env
 * object, by a zod schema with defaults in code. Nothing else in worker/ or durable-objects/ reads
 * a setting from `env` directly (tests/node/config-discipline.test.ts enforces it); bindings
 * (Durable Objects, Queues) are not settings and are used where they are needed.
 */
import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"])
  .transform((v) => v === "true" || v === "1" || v === "yes" || v === "on");
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const ENVIRONMENTS = ["development", "test", "production"] as const;

export const configSchema = z.object({
  ENVIRONMENT: z.enum(ENVIRONMENTS).default("development"),

  // Database. Production: a Neon connection string. Locally: a plain Postgres reached through the
  // Neon-compatible WebSocket proxy at NEON_WS_PROXY (host:port), which the dev runner starts.
  DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  NEON_WS_PROXY: optionalString,

  /** The public https host Twilio calls back (no scheme), e.g. api.example.com. No default. */
  PUBLIC_HOST: optionalString.pipe(
    z
      .string()
      .regex(/^[a-z0-9.-]+(:\d+)?$/i, "must be a host name (and optional port) without scheme or path")
      .optional(),
  ),
  /** The dashboard's origin, the only one CORS allows. */
  DASHBOARD_ORIGIN: z.url().default("http://localhost:5173"),

  METRICS_ENABLED: bool.default(true),
  METRICS_TOKEN: optionalString,

  // Calls.
  MAX_CONCURRENT_CALLS: int(1, 100_000).default(50),
  BUSINESS_CALL_CAP_DEFAULT: int(1, 1_000).default(3),
  CALL_RING_TIMEOUT_SECONDS: int(5, 600).default(60),
  CALL_TIME_LIMIT_SECONDS: int(60, 4 * 3600).default(3600),
  CALL_LEASE_MARGIN_SECONDS: int(0, 3600).default(120),
  /** How soon an expired lease whose call Twilio still reports live (or could not be checked) is checked again. */
  CALL_LEASE_RECHECK_SECONDS: int(5, 3600).default(60),
  /** Consecutive failed Twilio status checks after which an expired lease is freed anyway (and logged). */
  CALL_LEASE_MAX_FAILED_CHECKS: int(1, 100).default(3),
  /** Twilio call creations per second for the account (Twilio's CPS limit, 1 unless raised with Twilio). */
  TWILIO_CALLS_PER_SECOND: int(1, 1_000).default(1),
  TWILIO_ACCOUNT_SID: optionalString,
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_API_BASE_URL: z.url().default("https://api.twilio.com"),

  // WhatsApp shards.
  BAILEYS_NUM_SHARDS: int(1, 1_000).default(1),
  BAILEYS_PORT: int(1, 65_535).default(3300),
  /**
   * The master of the per-shard keys: shard N's key (bearer for edge → shard calls, HMAC key for
   * its events) is `SHARD_{N}_SECRET` when set, else derived from this one (see
   * contracts/shard-signing.ts deriveShardSecret and worker/whatsapp/shard-router.ts shardSecret).
   */
  SHARD_SECRET: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  SHARD_EVENT_MAX_SKEW_SECONDS: int(10, 3600).default(300),

  // Outbound webhooks (worker/webhooks/).
  /** How long a customer's endpoint gets to answer one delivery. */
  WEBHOOK_TIMEOUT_MS: int(1_000, 30_000).default(10_000),
  /**
   * The first retry's delay; each next one is 3× longer (capped at 8 h), ±20% jitter. With the
   * default 10 s and 11 attempts the retries span about 25 h (worker/webhooks/backoff.ts).
   */
  WEBHOOK_BACKOFF_BASE_SECONDS: int(0, 3600).default(10),
  /** Attempts per event before it is marked failed (and the subscription's next event goes). */
  WEBHOOK_MAX_ATTEMPTS: int(1, 30).default(11),
  /** A subscription whose every attempt failed for this long is disabled (and the owner told). */
  WEBHOOK_DISABLE_AFTER_DAYS: int(1, 60).default(5),
  /**
   * DNS-over-HTTPS resolver (JSON API) used in production to refuse webhook URLs whose host
   * resolves to a private, loopback or link-local address.
   */
  WEBHOOK_DNS_RESOLVER_URL: z.url({ protocol: /^https$/ }).default("https://cloudflare-dns.com/dns-query"),

  // Accounts.
  SESSION_TTL_HOURS: int(1, 24 * 90).default(24 * 14),
  /**
   * PBKDF2-SHA256 rounds for new password hashes. Workers' WebCrypto refuses more than 100,000
   * (workerd: "iteration counts above 100000 are not supported"), so that is both the default and
   * the ceiling; the count is stored with each hash, so it can be raised when the runtime allows.
   */
  PASSWORD_PBKDF2_ITERATIONS: int(10_000, 100_000).default(100_000),
});

export type Config = z.infer<typeof configSchema> & {
  /** BAILEYS_SHARD_{N}_URL overrides, by shard number. */
  shardUrlOverrides: ReadonlyMap<number, string>;
  /** SHARD_{N}_SECRET: a shard's own key, by shard number (else derived from SHARD_SECRET). */
  shardSecretOverrides: ReadonlyMap<number, string>;
};

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`Invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join("; ")}`);
    this.name = "ConfigError";
  }
}

const SHARD_URL_KEY = /^BAILEYS_SHARD_(\d+)_URL$/;
const SHARD_SECRET_KEY = /^SHARD_(\d+)_SECRET$/;

/** Settings named per shard (`..._{N}_...`), by shard number. */
function parsePerShard(
  env: Record<string, unknown>,
  pattern: RegExp,
  schema: z.ZodType<string>,
  message: string,
): { overrides: Map<number, string>; issues: { variable: string; message: string }[] } {
  const overrides = new Map<number, string>();
  const issues: { variable: string; message: string }[] = [];
  for (const [key, value] of Object.entries(env)) {
    const match = pattern.exec(key);
    if (!match || typeof value !== "string" || value.trim() === "") continue;
    const parsed = schema.safeParse(value.trim());
    if (!parsed.success) issues.push({ variable: key, message });
    else overrides.set(Number(match[1]), parsed.data);
  }
  return { overrides, issues };
}

/** Parses settings from a Worker env (or any string map). Throws ConfigError naming each bad variable. */
export function parseConfig(env: Record<string, unknown>): Config {
  const settings: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    // Empty strings mean "unset" so that `--var X:` and blank .dev.vars lines fall back to defaults.
    if (typeof value === "string" && value.trim() !== "") settings[key] = value;
    else if (typeof value === "number" || typeof value === "boolean") settings[key] = String(value);
  }
  const result = configSchema.safeParse(settings);
  const shardUrls = parsePerShard(
    env,
    SHARD_URL_KEY,
    z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, "")),
    "must be an http(s) URL",
  );
  const shardSecrets = parsePerShard(env, SHARD_SECRET_KEY, z.string().min(16), "must be at least 16 characters");
  const issues = [...shardUrls.issues, ...shardSecrets.issues];
  if (!result.success) {
    for (const issue of result.error.issues) {
      issues.push({ variable: String(issue.path[0] ?? "config"), message: issue.message });
    }
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues);
  const config = {
    ...result.data,
    shardUrlOverrides: shardUrls.overrides,
    shardSecretOverrides: shardSecrets.overrides,
  };
  if (config.ENVIRONMENT === "production" && config.NEON_WS_PROXY) {
    throw new ConfigError([
      { variable: "NEON_WS_PROXY", message: "is a local-development setting; unset it in production" },
    ]);
  }
  return config;
}

const cache = new WeakMap<object, Config>();

/** The config for this env object, parsed on first use. The env object is stable per isolate. */
export function getConfig(env: object): Config {
  let config = cache.get(env);
  if (!config) {
    config = parseConfig(env as Record<string, unknown>);
    cache.set(env, config);
  }
  return config;
}

/** PUBLIC_HOST or a clear error: Twilio callback URLs cannot be built without it. */
export function requirePublicHost(config: Config): string {
  if (!config.PUBLIC_HOST) {
    throw new ConfigError([{ variable: "PUBLIC_HOST", message: "is not set; Twilio callbacks need the public host" }]);
  }
  return config.PUBLIC_HOST;
}
