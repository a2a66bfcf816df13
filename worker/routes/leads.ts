/**
 * The lead book: list (search, filters, cursor pages), get, create, update, soft delete, and bulk
 * status change. Every query is scoped to the business of the session.
 */
import { and, eq, inArray, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import { isUniqueViolation } from "../db/errors";
import { leads } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { idParam, MAX_ID } from "../lib/schemas";
import { validate } from "../lib/validate";
import {
  businessContext,
  createLeadSchema,
  fieldErrors,
  listLeads,
  listLeadsQuery,
  resolveLeadValues,
  statusKeys,
  updateLeadSchema,
} from "../services/leads";

export const leadRoutes = new Hono<AppEnv>();
leadRoutes.use("/api/leads", requireAuth);
leadRoutes.use("/api/leads/*", requireAuth);

async function duplicatePhone(
  db: ReturnType<AppEnv["Variables"]["db"]>,
  businessId: number,
  phone: string,
): Promise<ApiError> {
  const [existing] = await db
    .select({ id: leads.id })
    .from(leads)
    .where(and(eq(leads.businessId, businessId), eq(leads.phoneE164, phone), isNull(leads.deletedAt)));
  return new ApiError(
    "duplicate_phone",
    `phone ${phone} already belongs to lead ${existing?.id ?? "?"}`,
    {
      field: "phone",
      existingLeadId: existing?.id ?? null,
    },
    409,
  );
}

leadRoutes.get("/api/leads", requirePermission("leads.read"), validate("query", listLeadsQuery), async (c) => {
  return c.json(await listLeads(c.get("db")(), businessIdOf(c), c.req.valid("query")));
});

leadRoutes.get("/api/leads/:id", requirePermission("leads.read"), validate("param", idParam), async (c) => {
  const [lead] = await c
    .get("db")()
    .select()
    .from(leads)
    .where(and(eq(leads.id, c.req.valid("param").id), eq(leads.businessId, businessIdOf(c)), isNull(leads.deletedAt)));
  if (!lead) throw notFound("Lead");
  return c.json({ lead });
});

leadRoutes.post("/api/leads", requirePermission("leads.write"), validate("json", createLeadSchema), async (c) => {
  const businessId = businessIdOf(c);
  const db = c.get("db")();
  const business = await businessContext(db, businessId);
  const input = c.req.valid("json");
  const { values, errors } = await resolveLeadValues(db, business, input);
  if (errors.length > 0) throw fieldErrors(errors);
  if (!values.status) values.status = (await statusKeys(db, businessId)).defaultKey;
  try {
    const [lead] = await db
      .insert(leads)
      .values({ ...values, businessId })
      .returning();
    return c.json({ lead }, 201);
  } catch (err) {
    if (isUniqueViolation(err, "leads_business_phone_key") && values.phoneE164)
      throw await duplicatePhone(db, businessId, values.phoneE164);
    throw err;
  }
});

leadRoutes.patch(
  "/api/leads/:id",
  requirePermission("leads.write"),
  validate("param", idParam),
  validate("json", updateLeadSchema),
  async (c) => {
    const businessId = businessIdOf(c);
    const db = c.get("db")();
    const { values, errors } = await resolveLeadValues(db, await businessContext(db, businessId), c.req.valid("json"));
    if (errors.length > 0) throw fieldErrors(errors);
    try {
      const [lead] = await db
        .update(leads)
        .set({ ...values, updatedAt: new Date() })
        .where(and(eq(leads.id, c.req.valid("param").id), eq(leads.businessId, businessId), isNull(leads.deletedAt)))
        .returning();
      if (!lead) throw notFound("Lead");
      return c.json({ lead });
    } catch (err) {
      if (isUniqueViolation(err, "leads_business_phone_key") && values.phoneE164)
        throw await duplicatePhone(db, businessId, values.phoneE164);
      throw err;
    }
  },
);

/** Soft delete: the lead disappears from the book (and frees its phone) but history keeps it. */
leadRoutes.delete("/api/leads/:id", requirePermission("leads.delete"), validate("param", idParam), async (c) => {
  const [lead] = await c
    .get("db")()
    .update(leads)
    .set({ deletedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(leads.id, c.req.valid("param").id), eq(leads.businessId, businessIdOf(c)), isNull(leads.deletedAt)))
    .returning({ id: leads.id });
  if (!lead) throw notFound("Lead");
  return c.body(null, 204);
});

const bulkStatusBody = z
  .object({
    leadIds: z.array(z.number().int().positive().max(MAX_ID)).min(1).max(1000),
    status: z.string().min(1).max(40),
  })
  .strict();

leadRoutes.post(
  "/api/leads/bulk-status",
  requirePermission("leads.bulk"),
  validate("json", bulkStatusBody),
  async (c) => {
    const businessId = businessIdOf(c);
    const { leadIds, status } = c.req.valid("json");
    const db = c.get("db")();
    if (!(await statusKeys(db, businessId)).keys.has(status)) {
      throw fieldErrors([{ field: "status", message: `"${status}" is not one of this business's statuses` }]);
    }
    const ids = [...new Set(leadIds)];
    const updated = await db
      .update(leads)
      .set({ status, updatedAt: new Date() })
      .where(and(eq(leads.businessId, businessId), inArray(leads.id, ids), isNull(leads.deletedAt)))
      .returning({ id: leads.id });
    const found = new Set(updated.map((r) => r.id));
    return c.json({ updated: updated.length, notFound: ids.filter((id) => !found.has(id)) });
  },
);
