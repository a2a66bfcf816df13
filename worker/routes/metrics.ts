import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { timingSafeEqual } from "../lib/constant-time";
import { registry } from "../metrics/registry";
import { renderMetrics } from "../metrics/render";

export const metricsRoutes = new Hono<AppEnv>();

/**
 * Prometheus text, only when METRICS_ENABLED and METRICS_TOKEN are both set (else 404, as if
 * absent), behind `Authorization: Bearer <token>` compared in constant time.
 */
metricsRoutes.get("/metrics", async (c) => {
  const { METRICS_ENABLED, METRICS_TOKEN } = c.get("config");
  if (!METRICS_ENABLED || !METRICS_TOKEN) throw new ApiError("not_found", "Not found");
  const header = c.req.header("authorization") ?? "";
  const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
  if (!(await timingSafeEqual(presented, METRICS_TOKEN))) {
    throw new ApiError("unauthorized", "A valid bearer token is required for /metrics", undefined, 401, {
      "WWW-Authenticate": 'Bearer realm="metrics"',
    });
  }
  return c.body(await renderMetrics(c.env), 200, { "Content-Type": registry.contentType });
});
