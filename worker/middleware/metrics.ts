import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { AppEnv } from "../app-env";
import { httpDuration, httpRequests } from "../metrics/registry";

/** Counts requests by the matched route pattern (never the raw path: ids would explode the labels). */
export const requestMetrics = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  await next();
  const matched = routePath(c, -1);
  const route = matched === "/*" || matched === "*" ? "unmatched" : matched;
  httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
  httpDuration.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
});
