import { z } from "@hono/zod-openapi";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { ApiError } from "../errors";
import { timingSafeEqual } from "../lib/constant-time";
import { registry } from "../metrics/registry";
import { renderMetrics } from "../metrics/render";

export const metricsRoutes = createRouter();

/**
 * Prometheus text, only when METRICS_ENABLED and METRICS_TOKEN are both set (else 404, as if
 * absent), behind `Authorization: Bearer <token>` compared in constant time.
 */
const scrapeMetrics = apiRoute({
  method: "get",
  path: "/metrics",
  tag: "Operations",
  summary: "Prometheus metrics",
  description:
    "Only when METRICS_ENABLED and METRICS_TOKEN are both set (else 404, as if absent); `Authorization: Bearer <METRICS_TOKEN>`.",
  auth: "metrics_token",
  responses: {
    200: {
      // registry.contentType: text/plain; version=0.0.4; charset=utf-8
      description: "Prometheus text exposition format 0.0.4",
      content: { "text/plain": { schema: z.string() } },
    },
  },
});

metricsRoutes.openapi(scrapeMetrics, async (c) => {
  const { METRICS_ENABLED, METRICS_TOKEN } = c.get("config");
  if (!METRICS_ENABLED || !METRICS_TOKEN) throw new ApiError("not_found", "Not found");
  const header = c.req.header("authorization") ?? "";
  const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
  if (!(await timingSafeEqual(presented, METRICS_TOKEN))) {
    throw new ApiError("unauthorized", "A valid bearer token is required for /metrics", undefined, 401, {
      "WWW-Authenticate": 'Bearer realm="metrics"',
    });
  }
  return c.text(await renderMetrics(c.env), 200, { "Content-Type": registry.contentType });
});
