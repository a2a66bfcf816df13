/**
 * The one home of the shard's configuration: every setting is parsed here, once, from the process
 * environment by a zod schema with defaults in code. Nothing else in shard-node reads process.env.
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

export const configSchema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    /** This shard's number: the N in `baileys-N` and in the edge's URL registry. */
    BAILEYS_SHARD_ID: int(1, 1_000).default(1),
    BAILEYS_PORT: int(0, 65_535).default(3300),
    BAILEYS_HOST: z.string().default("0.0.0.0"),
    /** Bearer secret for edge → shard calls and HMAC key for shard → edge events (same as the Worker's). */
    SHARD_SECRET: z.string().min(16, "must be at least 16 characters"),
    /** The edge's event intake, e.g. https://edge.example.com/internal/shards/events. */
    EDGE_EVENTS_URL: z.url({ protocol: /^https?$/ }),
    /** Directory on the shard's volume holding the SQLite file (auth state, outbox, idempotency keys). */
    SHARD_DATA_DIR: z.string().default("./storage/whatsapp"),
    /** FULL survives power loss (fsync per commit); NORMAL survives a process crash only. */
    SQLITE_SYNCHRONOUS: z.enum(["FULL", "NORMAL"]).default("FULL"),
    SHARD_MAX_SESSIONS: int(1, 100_000).default(200),
    /** `baileys` talks to WhatsApp; `fake` is an in-memory stand-in for tests and benchmarks. */
    SHARD_SESSION_DRIVER: z.enum(["baileys", "fake"]).default("baileys"),

    /** WhatsApp's WebSocket endpoint. Overridden only to point at a local fake server in tests. */
    WA_WEBSOCKET_URL: z.url({ protocol: /^wss?$/ }).default("wss://web.whatsapp.com/ws/chat"),
    WA_CONNECT_TIMEOUT_MS: int(100, 120_000).default(20_000),
    WA_KEEPALIVE_INTERVAL_MS: int(1_000, 300_000).default(30_000),
    WA_QUERY_TIMEOUT_MS: int(100, 300_000).default(60_000),
    /** Fetch full history on first pairing (slower, more memory). Recent history arrives regardless. */
    WA_SYNC_FULL_HISTORY: bool.default(false),
    WA_MARK_ONLINE_ON_CONNECT: bool.default(false),

    /** Reconnect backoff for transient disconnects (408, 428, 5xx): base · 2^attempt, capped, with jitter. */
    RECONNECT_BASE_MS: int(1, 600_000).default(1_000),
    RECONNECT_MAX_MS: int(1, 3_600_000).default(60_000),

    /**
     * The session watchdog: an `open` session with no traffic from WhatsApp for SILENCE_MS is
     * probed (a ping); no answer within PROBE_TIMEOUT_MS → the socket is dead → reconnect. Checked
     * every INTERVAL_MS. Baileys' own keep-alive misses a socket whose pings are answered by a
     * half-dead proxy or whose event loop wedged; this catches what it does not.
     */
    SHARD_WATCHDOG_ENABLED: bool.default(true),
    SHARD_WATCHDOG_SILENCE_MS: int(50, 3_600_000).default(120_000),
    SHARD_WATCHDOG_PROBE_TIMEOUT_MS: int(10, 300_000).default(10_000),
    SHARD_WATCHDOG_INTERVAL_MS: int(10, 600_000).default(15_000),

    /** Largest media the shard downloads from or sends to WhatsApp (held in memory, never on disk). */
    SHARD_MEDIA_MAX_BYTES: int(1024, 2 * 1024 * 1024 * 1024).default(100 * 1024 * 1024),

    OUTBOX_BATCH_SIZE: int(1, 500).default(100),
    /** How many businesses' events are forwarded at once (each business stays in order). */
    OUTBOX_CONCURRENCY: int(1, 64).default(4),
    OUTBOX_RETRY_BASE_MS: int(1, 600_000).default(1_000),
    OUTBOX_RETRY_MAX_MS: int(1, 3_600_000).default(60_000),
    OUTBOX_REQUEST_TIMEOUT_MS: int(100, 300_000).default(15_000),
    /** Refusals (4xx) of one event, sent alone, before it is parked in the dead lane (outbox_dead). */
    OUTBOX_MAX_REFUSALS: int(1, 1_000).default(5),
    /** Sweep interval for work that was not announced (e.g. rows left by a previous process). */
    OUTBOX_POLL_MS: int(10, 600_000).default(5_000),

    /** How long a graceful shutdown may take before the process exits anyway. */
    SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),
    /** Idempotency keys older than this are forgotten. */
    IDEMPOTENCY_TTL_HOURS: int(1, 24 * 365).default(24 * 7),

    METRICS_ENABLED: bool.default(true),
    /** /metrics needs `Authorization: Bearer <METRICS_TOKEN>`; unset means /metrics is off. */
    METRICS_TOKEN: optionalString,
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .refine((c) => c.RECONNECT_BASE_MS <= c.RECONNECT_MAX_MS, {
    path: ["RECONNECT_MAX_MS"],
    message: "must be at least RECONNECT_BASE_MS",
  })
  .refine((c) => c.OUTBOX_RETRY_BASE_MS <= c.OUTBOX_RETRY_MAX_MS, {
    path: ["OUTBOX_RETRY_MAX_MS"],
    message: "must be at least OUTBOX_RETRY_BASE_MS",
  });

export type ShardConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`Invalid shard configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join("; ")}`);
    this.name = "ConfigError";
  }
}

/** Parses settings from an env-like record. Values are never echoed in errors (secrets live here). */
export function parseConfig(env: Record<string, string | undefined>): ShardConfig {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({ variable: issue.path.join(".") || "(env)", message: issue.message })),
    );
  }
  return result.data;
}

/** The only read of process.env in shard-node. */
export function loadConfig(): ShardConfig {
  return parseConfig(process.env);
}
