/**
 * A business's lead statuses: ordered, coloured, its own. A status in use cannot be deleted (the
 * refusal says how many leads use it), nor can the default one new leads get.
 */
import { z } from "@hono/zod-openapi";
import { and, asc, count, eq, isNull } from "drizzle-orm";
import { businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent, noContent } from "../contract/content";
import { leadStatusModel } from "../contract/models/lead-status";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { isUniqueViolation } from "../db/errors";
import { leadStatuses, leads } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { hexColor, idParam } from "../lib/schemas";

export const leadStatusRoutes = createRouter();

const statusBody = z.strictObject({ status: leadStatusModel });

leadStatusRoutes.openapi(
  apiRoute({
    method: "get",
    path: "/api/lead-statuses",
    tag: "Leads",
    summary: "List the business's lead statuses in display order",
    auth: { permission: "lead_statuses.read" },
    responses: { 200: jsonContent(z.strictObject({ statuses: z.array(leadStatusModel) }), "The statuses") },
  }),
  async (c) => {
    const rows = await c
      .get("db")()
      .select()
      .from(leadStatuses)
      .where(eq(leadStatuses.businessId, businessIdOf(c)))
      .orderBy(asc(leadStatuses.sortOrder), asc(leadStatuses.id));
    return c.json({ statuses: rows }, 200);
  },
);

const statusFields = {
  key: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, "must be lowercase letters, digits and _ (max 40)"),
  label: z.string().trim().min(1).max(80),
  color: hexColor,
  sortOrder: z.number().int().min(0).max(100_000),
};

leadStatusRoutes.openapi(
  apiRoute({
    method: "post",
    path: "/api/lead-statuses",
    tag: "Leads",
    summary: "Create a lead status",
    auth: { permission: "lead_statuses.manage" },
    request: {
      body: jsonBody(
        z.strictObject({ ...statusFields, color: hexColor.optional(), sortOrder: statusFields.sortOrder.optional() }),
      ),
    },
    responses: { 201: jsonContent(statusBody, "The new status") },
    errors: ["conflict"],
  }),
  async (c) => {
    try {
      const [row] = await c
        .get("db")()
        .insert(leadStatuses)
        .values({ ...c.req.valid("json"), businessId: businessIdOf(c) })
        .returning();
      return c.json({ status: row! }, 201);
    } catch (err) {
      if (isUniqueViolation(err, "lead_statuses_business_key"))
        throw new ApiError("conflict", "key already exists", { field: "key" });
      throw err;
    }
  },
);

const updateBody = z
  .strictObject({ label: statusFields.label, color: statusFields.color, sortOrder: statusFields.sortOrder })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: "give at least one of label, color, sortOrder" });

leadStatusRoutes.openapi(
  apiRoute({
    method: "patch",
    path: "/api/lead-statuses/{id}",
    tag: "Leads",
    summary: "Change a lead status's label, colour or order",
    auth: { permission: "lead_statuses.manage" },
    request: { params: idParam, body: jsonBody(updateBody) },
    responses: { 200: jsonContent(statusBody, "The updated status") },
    errors: ["not_found"],
  }),
  async (c) => {
    const [row] = await c
      .get("db")()
      .update(leadStatuses)
      .set(c.req.valid("json"))
      .where(and(eq(leadStatuses.id, c.req.valid("param").id), eq(leadStatuses.businessId, businessIdOf(c))))
      .returning();
    if (!row) throw notFound("Lead status");
    return c.json({ status: row }, 200);
  },
);

leadStatusRoutes.openapi(
  apiRoute({
    method: "delete",
    path: "/api/lead-statuses/{id}",
    tag: "Leads",
    summary: "Delete a lead status no lead uses (never the default one)",
    auth: { permission: "lead_statuses.manage" },
    request: { params: idParam },
    responses: { 204: { description: "Deleted" } },
    errors: ["not_found", "status_in_use"],
  }),
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
    return noContent(c);
  },
);
