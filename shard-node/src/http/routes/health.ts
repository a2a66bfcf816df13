import { Hono } from "hono";
import type { ShardHealth } from "../../../../contracts/shard-api.js";
import type { SessionManager } from "../../sessions/manager.js";
import type { Outbox } from "../../store/outbox.js";

/** Unauthenticated: what a load balancer or an operator needs, nothing about any business. */
export function healthRoutes(deps: {
  shardId: number;
  maxSessions: number;
  manager: SessionManager;
  outbox: Outbox;
  isShuttingDown: () => boolean;
}): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const byState = deps.manager.countsByState();
    const outbox = deps.outbox.stat();
    const memory = process.memoryUsage();
    const body: ShardHealth = {
      status: deps.isShuttingDown() ? "shutting_down" : "ok",
      shardId: deps.shardId,
      sessions: { total: deps.manager.size, max: deps.maxSessions, byState },
      outbox: {
        pending: outbox.pending,
        oldestAgeSeconds: outbox.oldestCreatedAt === null ? null : (Date.now() - outbox.oldestCreatedAt) / 1000,
        dead: deps.outbox.deadCount(),
      },
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      uptimeSeconds: process.uptime(),
    };
    return c.json(body, body.status === "ok" ? 200 : 503);
  });
  return app;
}
