/**
 * A business's lead statuses: ordered, coloured, its own. A status in use cannot be deleted (the
 * refusal says how many leads use it), nor can the default one new leads get.
 */
import { and, asc, count, eq, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import { isUniqueViolation } from "../db/errors";
import { leadStatuses, leads } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { hexColor, idParam } from "../lib/schemas";
import { validate } from "../lib/validate";

export const leadStatusRoutes = new Hono<AppEnv>();
leadStatusRoutes.use("/api/lead-statuses", requireAuth);
leadStatusRoutes.use("/api/lead-statuses/*", requireAuth);

leadStatusRoutes.get("/api/lead-statuses", requirePermission("lead_statuses.read"), async (c) => {
  const rows = await c
    .get("db")()
    .select()
    .from(leadStatuses)
    .where(eq(leadStatuses.businessId, businessIdOf(c)))
    .orderBy(asc(leadStatuses.sortOrder), asc(leadStatuses.id));
  return c.json({ statuses: rows });
});

const statusFields = {
  key: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, "must be lowercase letters, digits and _ (max 40)"),
  label: z.string().trim().min(1).max(80),
  color: hexColor,
  sortOrder: z.number().int().min(0).max(100_000),
};

leadStatusRoutes.post(
  "/api/lead-statuses",
  requirePermission("lead_statuses.manage"),
  validate(
    "json",
    z.object({ ...statusFields, color: hexColor.optional(), sortOrder: statusFields.sortOrder.optional() }).strict(),
  ),
  async (c) => {
    try {
      const [row] = await c
        .get("db")()
        .insert(leadStatuses)
        .values({ ...c.req.valid("json"), businessId: businessIdOf(c) })
        .returning();
      return c.json({ status: row }, 201);
    } catch (err) {
      if (isUniqueViolation(err, "lead_statuses_business_key"))
        throw new ApiError("conflict", "key already exists", { field: "key" });
      throw err;
    }
  },
);

const updateBody = z
  .object({ label: statusFields.label, color: statusFields.color, sortOrder: statusFields.sortOrder })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "give at least one of label, color, sortOrder" });

leadStatusRoutes.patch(
  "/api/lead-statuses/:id",
  requirePermission("lead_statuses.manage"),
  validate("param", idParam),
  validate("json", updateBody),
  async (c) => {
    const [row] = await c
      .get("db")()
      .update(leadStatuses)
      .set(c.req.valid("json"))
      .where(and(eq(leadStatuses.id, c.req.valid("param").id), eq(leadStatuses.businessId, businessIdOf(c))))
      .returning();
    if (!row) throw notFound("Lead status");
    return c.json({ status: row });
  },
);

leadStatusRoutes.delete(
  "/api/lead-statuses/:id",
  requirePermission("lead_statuses.manage"),
  validate("param", idParam),
  async (c) => {
    const businessId = businessIdOf(c);
    const db = c.get("db")();
    const [status] = await db
      .select()
      .from(leadStatuses)
      .where(and(eq(leadStatuses.id, c.req.valid("param").id), eq(leadStatuses.businessId, businessId)));
    if (!status) throw notFound("Lead status");
    if (status.isDefault)
      throw new ApiError("status_in_use", `"${status.label}" is the default status for new leads`, undefined, 409);
    const [usage] = await db
      .select({ n: count() })
      .from(leads)
      .where(and(eq(leads.businessId, businessId), eq(leads.status, status.key), isNull(leads.deletedAt)));
    if ((usage?.n ?? 0) > 0) {
      throw new ApiError(
        "status_in_use",
        `${usage!.n} lead(s) have status "${status.label}"; move them first`,
        { leads: usage!.n },
        409,
      );
    }
    await db.delete(leadStatuses).where(eq(leadStatuses.id, status.id));
    return c.body(null, 204);
  },
);
