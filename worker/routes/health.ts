import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { checkMigrations } from "../db/migration-status";
import { log } from "../lib/log";

export const healthRoutes = new Hono<AppEnv>();

/** Liveness: the isolate answers. No I/O, so a database outage never restarts healthy Workers. */
healthRoutes.get("/health", (c) => c.json({ status: "ok" }));

/** Readiness: Postgres reachable and its applied migrations match this code's latest. */
healthRoutes.get("/ready", async (c) => {
  const started = Date.now();
  try {
    const status = await checkMigrations(c.get("db")());
    const body = {
      status: status.ok ? "ready" : "not_ready",
      reason: status.reason,
      database: { reachable: true, latencyMs: Date.now() - started },
      migrations: { expected: status.expected, applied: status.applied },
    };
    return c.json(body, status.ok ? 200 : 503);
  } catch (err) {
    log.warn("readiness check failed", { requestId: c.get("requestId"), error: String(err) });
    const reason = err instanceof Error && err.name === "ConfigError" ? err.message : "database unreachable";
    return c.json({ status: "not_ready", reason, database: { reachable: false } }, 503);
  }
});
