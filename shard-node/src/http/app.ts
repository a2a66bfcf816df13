import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorBody, handleError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ShardMetrics } from "../metrics.js";
import type { SessionManager } from "../sessions/manager.js";
import type { Outbox } from "../store/outbox.js";
import { requireBearer } from "./auth.js";
import { fakeDriverRoutes } from "./routes/fake-driver.js";
import { healthRoutes } from "./routes/health.js";
import { messageRoutes } from "./routes/messages.js";
import { metricsRoutes } from "./routes/metrics.js";
import { sessionRoutes } from "./routes/sessions.js";

const MEDIA_SEND_PATH = /^\/sessions\/[^/]+\/media-messages$/;

export interface AppDeps {
  shardId: number;
  maxSessions: number;
  /** Largest media body (POST /sessions/:id/media-messages). */
  mediaMaxBytes: number;
  secret: string;
  metricsEnabled: boolean;
  metricsToken: string | undefined;
  driver: "baileys" | "fake";
  manager: SessionManager;
  outbox: Outbox;
  metrics: ShardMetrics;
  logger: Logger;
  isShuttingDown: () => boolean;
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.onError((err, c) => handleError(err, c, deps.logger));
  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
  const jsonLimit = bodyLimit({ maxSize: 1024 * 1024 });
  const mediaLimit = bodyLimit({ maxSize: deps.mediaMaxBytes });
  // A media send's body is the file itself; everything else is small JSON.
  app.use("*", (c, next) =>
    MEDIA_SEND_PATH.test(c.req.path) || c.req.path.startsWith("/_fake/") ? mediaLimit(c, next) : jsonLimit(c, next),
  );

  app.route("/health", healthRoutes(deps));
  app.route("/metrics", metricsRoutes(deps.metrics, { enabled: deps.metricsEnabled, token: deps.metricsToken }));

  app.use("/sessions/*", requireBearer(deps.secret));
  app.use("/sessions", requireBearer(deps.secret));
  app.route("/sessions", sessionRoutes(deps.shardId, deps.manager));
  app.route("/sessions", messageRoutes(deps.manager));

  if (deps.driver === "fake") {
    app.use("/_fake/*", requireBearer(deps.secret));
    app.route("/_fake", fakeDriverRoutes(deps.manager, deps.outbox));
  }
  return app;
}
