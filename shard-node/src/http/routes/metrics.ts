import { Hono } from "hono";
import { ShardError } from "../../errors.js";
import type { ShardMetrics } from "../../metrics.js";
import { requireBearer } from "../auth.js";

/** Prometheus text behind METRICS_TOKEN; absent (404) when metrics are off or no token is set. */
export function metricsRoutes(metrics: ShardMetrics, opts: { enabled: boolean; token: string | undefined }): Hono {
  const app = new Hono();
  if (!opts.enabled || !opts.token) {
    app.get("/", () => {
      throw new ShardError("not_found", "metrics are disabled (set METRICS_ENABLED=true and METRICS_TOKEN)");
    });
    return app;
  }
  app.use("*", requireBearer(opts.token, "METRICS_TOKEN"));
  app.get("/", async (c) => {
    const text = await metrics.registry.metrics();
    return c.text(text, 200, { "content-type": metrics.registry.contentType });
  });
  return app;
}
