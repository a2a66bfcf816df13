/** The security audit log, for the business's owners. */
import { z } from "@hono/zod-openapi";
import { businessIdOf } from "../auth/middleware";
import { jsonContent } from "../contract/content";
import { auditEntryModel } from "../contract/models/integrations";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { listAudit } from "../services/audit";

export const auditLogRoutes = createRouter();

const listQuery = z
  .object({
    before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional().openapi({
      description: "Entries older than this id (the previous page's nextCursor)",
    }),
    action: z.string().max(60).optional().openapi({ example: "api_key.created" }),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

const listAuditLog = apiRoute({
  method: "get",
  path: "/api/audit-log",
  tag: "Integrations",
  summary: "Security-relevant actions, newest first",
  description:
    "Sign-ins, user creation, role changes and deactivations, API key creation, revocation and use (first use from an address, then at most hourly), webhook changes, redeliveries and automatic disabling, WhatsApp shard moves.",
  auth: { permission: "audit.read" },
  request: { query: listQuery },
  responses: {
    200: jsonContent(
      z.strictObject({
        entries: z.array(auditEntryModel),
        nextCursor: z.number().int().max(Number.MAX_SAFE_INTEGER).nullable(),
      }),
      "One page of entries",
    ),
  },
});

auditLogRoutes.openapi(listAuditLog, async (c) => {
  const page = await listAudit(c.get("db")(), businessIdOf(c), c.req.valid("query"));
  return c.json(page, 200);
});
