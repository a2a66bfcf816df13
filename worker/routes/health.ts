import { z } from "@hono/zod-openapi";
import { jsonContent } from "../contract/content";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { checkMigrations } from "../db/migration-status";
import { log } from "../lib/log";

export const healthRoutes = createRouter();

healthRoutes.openapi(
  apiRoute({
    method: "get",
    path: "/health",
    tag: "Operations",
    summary: "Liveness: the isolate answers",
    description: "No I/O, so a database outage never restarts healthy Workers.",
    auth: "public",
    responses: { 200: jsonContent(z.strictObject({ status: z.literal("ok") }), "Alive") },
  }),
  (c) => c.json({ status: "ok" as const }, 200),
);

const readiness = z.strictObject({
  status: z.enum(["ready", "not_ready"]),
  reason: z.string().optional(),
  database: z.strictObject({ reachable: z.boolean(), latencyMs: z.number().optional() }),
  migrations: z
    .strictObject({
      expected: z.strictObject({ count: z.number().int(), latest: z.string() }),
      applied: z.strictObject({
        count: z.number().int(),
        latestAt: z
          .number()
          .nullable()
          .openapi({ description: "when the latest applied migration was generated (ms)" }),
      }),
    })
    .optional(),
});

healthRoutes.openapi(
  apiRoute({
    method: "get",
    path: "/ready",
    tag: "Operations",
    summary: "Readiness: Postgres reachable and its migrations match this code's latest",
    auth: "public",
    responses: {
      200: jsonContent(readiness, "Ready to serve"),
      503: jsonContent(readiness, "Not ready, with the reason (schema behind, database unreachable)"),
    },
  }),
  async (c) => {
    const started = Date.now();
    try {
      const status = await checkMigrations(c.get("db")());
      const body = {
        status: status.ok ? ("ready" as const) : ("not_ready" as const),
        reason: status.reason,
        database: { reachable: true, latencyMs: Date.now() - started },
        migrations: { expected: status.expected, applied: status.applied },
      };
      return status.ok ? c.json(body, 200) : c.json(body, 503);
    } catch (err) {
      log.warn("readiness check failed", { requestId: c.get("requestId"), error: String(err) });
      const reason = err instanceof Error && err.name === "ConfigError" ? err.message : "database unreachable";
      return c.json({ status: "not_ready" as const, reason, database: { reachable: false } }, 503);
    }
  },
);
