/**
 * Wires one shard together from its config: database, stores, sessions, outbox forwarder, HTTP
 * app. `main.ts` runs it as a process; tests and the benchmark run it in-process.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { ShardConfig } from "./config.js";
import { createApp } from "./http/app.js";
import { createLogger, type Logger } from "./logger.js";
import { ShardMetrics } from "./metrics.js";
import { OutboxForwarder } from "./outbox-forwarder.js";
import { baileysSessionFactory } from "./sessions/baileys-session.js";
import { fakeSessionFactory } from "./sessions/fake-session.js";
import { SessionManager } from "./sessions/manager.js";
import type { SessionFactory } from "./sessions/types.js";
import { SqliteAuthStore } from "./store/auth-store.js";
import { type Db, openDb } from "./store/db.js";
import { IdempotencyStore } from "./store/idempotency.js";
import { Outbox } from "./store/outbox.js";
import { SessionRecords } from "./store/session-records.js";

export interface Shard {
  config: ShardConfig;
  app: Hono;
  db: Db;
  manager: SessionManager;
  outbox: Outbox;
  forwarder: OutboxForwarder;
  metrics: ShardMetrics;
  logger: Logger;
  /** Listens, starts the forwarder and restores the stored sessions. */
  start(): Promise<{ port: number; restored: number }>;
  /** Graceful: stop accepting, close sockets (auth kept), let in-flight deliveries finish, close the db. */
  shutdown(): Promise<void>;
}

export interface ShardOverrides {
  sessionFactory?: SessionFactory;
  logger?: Logger;
  fetch?: typeof fetch;
}

export function createShard(config: ShardConfig, overrides: ShardOverrides = {}): Shard {
  const logger = overrides.logger ?? createLogger(config.LOG_LEVEL, { shardId: config.BAILEYS_SHARD_ID });
  const db = openDb({ dataDir: config.SHARD_DATA_DIR, synchronous: config.SQLITE_SYNCHRONOUS });
  const authStore = new SqliteAuthStore(db);
  const outbox = new Outbox(db);
  const records = new SessionRecords(db);
  const idempotency = new IdempotencyStore(db, randomUUID());
  let shuttingDown = false;
  let manager: SessionManager | undefined;

  const metrics = new ShardMetrics(config.BAILEYS_SHARD_ID, {
    sessionsByState: () => manager?.countsByState() ?? {},
    sessionsByWatchdogState: () => manager?.watchdogCounts() ?? {},
    outboxPending: () => outbox.stat().pending,
    outboxDead: () => outbox.deadCount(),
  });

  const factory =
    overrides.sessionFactory ??
    (config.SHARD_SESSION_DRIVER === "fake"
      ? fakeSessionFactory
      : baileysSessionFactory({
          waWebSocketUrl: config.WA_WEBSOCKET_URL,
          connectTimeoutMs: config.WA_CONNECT_TIMEOUT_MS,
          keepAliveIntervalMs: config.WA_KEEPALIVE_INTERVAL_MS,
          defaultQueryTimeoutMs: config.WA_QUERY_TIMEOUT_MS,
          syncFullHistory: config.WA_SYNC_FULL_HISTORY,
          markOnlineOnConnect: config.WA_MARK_ONLINE_ON_CONNECT,
          logLevel: config.LOG_LEVEL === "silent" ? "silent" : "warn",
        }));

  manager = new SessionManager(
    {
      shardId: config.BAILEYS_SHARD_ID,
      maxSessions: config.SHARD_MAX_SESSIONS,
      reconnect: { baseMs: config.RECONNECT_BASE_MS, maxMs: config.RECONNECT_MAX_MS },
      ...(config.SHARD_WATCHDOG_ENABLED
        ? {
            watchdog: {
              silenceMs: config.SHARD_WATCHDOG_SILENCE_MS,
              probeTimeoutMs: config.SHARD_WATCHDOG_PROBE_TIMEOUT_MS,
              intervalMs: config.SHARD_WATCHDOG_INTERVAL_MS,
            },
          }
        : {}),
      mediaMaxBytes: config.SHARD_MEDIA_MAX_BYTES,
    },
    { factory, authStore, records, outbox, idempotency, metrics, logger },
  );

  const forwarder = new OutboxForwarder(
    outbox,
    {
      shardId: config.BAILEYS_SHARD_ID,
      edgeEventsUrl: config.EDGE_EVENTS_URL,
      secret: config.SHARD_SECRET,
      batchSize: config.OUTBOX_BATCH_SIZE,
      concurrency: config.OUTBOX_CONCURRENCY,
      retryBaseMs: config.OUTBOX_RETRY_BASE_MS,
      retryMaxMs: config.OUTBOX_RETRY_MAX_MS,
      requestTimeoutMs: config.OUTBOX_REQUEST_TIMEOUT_MS,
      pollMs: config.OUTBOX_POLL_MS,
      maxRefusals: config.OUTBOX_MAX_REFUSALS,
    },
    logger,
    metrics,
    overrides.fetch,
  );

  const app = createApp({
    shardId: config.BAILEYS_SHARD_ID,
    maxSessions: config.SHARD_MAX_SESSIONS,
    mediaMaxBytes: config.SHARD_MEDIA_MAX_BYTES,
    secret: config.SHARD_SECRET,
    metricsEnabled: config.METRICS_ENABLED,
    metricsToken: config.METRICS_TOKEN,
    driver: config.SHARD_SESSION_DRIVER,
    manager,
    outbox,
    metrics,
    logger,
    isShuttingDown: () => shuttingDown,
  });

  let server: ServerType | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  const sessions = manager;

  return {
    config,
    app,
    db,
    manager: sessions,
    outbox,
    forwarder,
    metrics,
    logger,
    async start() {
      const port = await new Promise<number>((resolve, reject) => {
        const s = serve({ fetch: app.fetch, port: config.BAILEYS_PORT, hostname: config.BAILEYS_HOST }, (info) =>
          resolve((info as AddressInfo).port),
        );
        s.once("error", reject);
        server = s;
      });
      // Events left by the previous process go out first, before the restored sockets add more.
      forwarder.start();
      const restored = await sessions.restoreAll();
      sessions.startWatchdog();
      const ttlMs = config.IDEMPOTENCY_TTL_HOURS * 3_600_000;
      idempotency.prune(ttlMs);
      pruneTimer = setInterval(() => idempotency.prune(ttlMs), 3_600_000);
      pruneTimer.unref();
      logger.info({ port, restored, driver: config.SHARD_SESSION_DRIVER }, "shard listening");
      return { port, restored };
    },
    async shutdown() {
      if (shuttingDown) return;
      shuttingDown = true;
      if (pruneTimer) clearInterval(pruneTimer);
      const closed = server ? new Promise<void>((resolve) => server?.close(() => resolve())) : Promise.resolve();
      await sessions.shutdown();
      await forwarder.stop(Math.min(config.OUTBOX_REQUEST_TIMEOUT_MS, config.SHUTDOWN_TIMEOUT_MS / 2));
      // Give in-flight HTTP requests a moment, then cut keep-alive connections.
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1000).unref())]);
      (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
      db.pragma("wal_checkpoint(TRUNCATE)");
      db.close();
      logger.info("shard stopped");
    },
  };
}
