/**
 * The lead book: list (search, filters, cursor pages), get, create, update, soft delete, and bulk
 * status change. Every query is scoped to the business of the session.
 */
import { z } from "@hono/zod-openapi";
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { AppEnv } from "../app-env";
import { businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent, noContent } from "../contract/content";
import { id } from "../contract/models/common";
import { leadBody, leadModel } from "../contract/models/lead";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { isUniqueViolation } from "../db/errors";
import { leads } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { idParam, MAX_ID } from "../lib/schemas";
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
import { emitWebhookEvent, kickDeliveries } from "../webhooks/outbox";

export const leadRoutes = createRouter();

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

const leadPage = z
  .strictObject({
    leads: z.array(leadModel),
    nextCursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last" }),
  })
  .openapi("LeadPage");

const listLeadsRoute = apiRoute({
  method: "get",
  path: "/api/leads",
  tag: "Leads",
  summary: "List leads: search, filters and cursor pages",
  description:
    "`q` matches names, email and phone digits; `status` takes a comma-separated list. Pages are stable under ties (ordered by the sort column, then id).",
  auth: { permission: "leads.read" },
  request: { query: listLeadsQuery },
  responses: { 200: jsonContent(leadPage, "One page of leads") },
});

leadRoutes.openapi(listLeadsRoute, async (c) => {
  return c.json(await listLeads(c.get("db")(), businessIdOf(c), c.req.valid("query")), 200);
});

const getLead = apiRoute({
  method: "get",
  path: "/api/leads/{id}",
  tag: "Leads",
  summary: "One lead",
  auth: { permission: "leads.read" },
  request: { params: idParam },
  responses: { 200: jsonContent(leadBody, "The lead") },
  errors: ["not_found"],
});

leadRoutes.openapi(getLead, async (c) => {
  const [lead] = await c
    .get("db")()
    .select()
    .from(leads)
    .where(and(eq(leads.id, c.req.valid("param").id), eq(leads.businessId, businessIdOf(c)), isNull(leads.deletedAt)));
  if (!lead) throw notFound("Lead");
  return c.json({ lead }, 200);
});

const createLead = apiRoute({
  method: "post",
  path: "/api/leads",
  tag: "Leads",
  summary: "Add a lead",
  description:
    "The phone is read in the business's region and stored as E.164; a phone already in the book is refused with the lead that has it.",
  auth: { permission: "leads.write" },
  request: { body: jsonBody(createLeadSchema) },
  responses: { 201: jsonContent(leadBody, "The new lead") },
  errors: ["duplicate_phone"],
});

leadRoutes.openapi(createLead, async (c) => {
  const businessId = businessIdOf(c);
  const db = c.get("db")();
  const business = await businessContext(db, businessId);
  const input = c.req.valid("json");
  const { values, errors } = await resolveLeadValues(db, business, input);
  if (errors.length > 0) throw fieldErrors(errors);
  if (!values.status) values.status = (await statusKeys(db, businessId)).defaultKey;
  try {
    // The lead and its lead.created event commit together (the webhook outbox).
    const { lead, subscribers } = await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(leads)
        .values({ ...values, businessId })
        .returning();
      const subscribers = await emitWebhookEvent(tx, { businessId, type: "lead.created", data: { lead: row! } });
      return { lead: row!, subscribers };
    });
    await kickDeliveries(c.env, subscribers);
    return c.json({ lead }, 201);
  } catch (err) {
    if (isUniqueViolation(err, "leads_business_phone_key") && values.phoneE164)
      throw await duplicatePhone(db, businessId, values.phoneE164);
    throw err;
  }
});

const updateLead = apiRoute({
  method: "patch",
  path: "/api/leads/{id}",
  tag: "Leads",
  summary: "Change some of a lead's fields",
  auth: { permission: "leads.write" },
  request: { params: idParam, body: jsonBody(updateLeadSchema) },
  responses: { 200: jsonContent(leadBody, "The updated lead") },
  errors: ["not_found", "duplicate_phone"],
});

leadRoutes.openapi(updateLead, async (c) => {
  const businessId = businessIdOf(c);
  const db = c.get("db")();
  const { values, errors } = await resolveLeadValues(db, await businessContext(db, businessId), c.req.valid("json"));
  if (errors.length > 0) throw fieldErrors(errors);
  try {
    const { lead, subscribers } = await db.transaction(async (tx) => {
      const [row] = await tx
        .update(leads)
        .set({ ...values, updatedAt: new Date() })
        .where(and(eq(leads.id, c.req.valid("param").id), eq(leads.businessId, businessId), isNull(leads.deletedAt)))
        .returning();
      if (!row) throw notFound("Lead");
      const subscribers = await emitWebhookEvent(tx, {
        businessId,
        type: "lead.updated",
        data: { lead: row, changed: Object.keys(values) },
      });
      return { lead: row, subscribers };
    });
    await kickDeliveries(c.env, subscribers);
    return c.json({ lead }, 200);
  } catch (err) {
    if (isUniqueViolation(err, "leads_business_phone_key") && values.phoneE164)
      throw await duplicatePhone(db, businessId, values.phoneE164);
    throw err;
  }
});

/** Soft delete: the lead disappears from the book (and frees its phone) but history keeps it. */
const deleteLead = apiRoute({
  method: "delete",
  path: "/api/leads/{id}",
  tag: "Leads",
  summary: "Delete a lead (soft: it leaves the book and frees its phone; history keeps it)",
  auth: { permission: "leads.delete" },
  request: { params: idParam },
  responses: { 204: { description: "Deleted" } },
  errors: ["not_found"],
});

leadRoutes.openapi(deleteLead, async (c) => {
  const [lead] = await c
    .get("db")()
    .update(leads)
    .set({ deletedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(leads.id, c.req.valid("param").id), eq(leads.businessId, businessIdOf(c)), isNull(leads.deletedAt)))
    .returning({ id: leads.id });
  if (!lead) throw notFound("Lead");
  return noContent(c);
});

const bulkStatusBody = z.strictObject({
  leadIds: z.array(z.number().int().positive().max(MAX_ID)).min(1).max(1000),
  status: z.string().min(1).max(40),
});

const bulkStatus = apiRoute({
  method: "post",
  path: "/api/leads/bulk-status",
  tag: "Leads",
  summary: "Give many leads one status",
  auth: { permission: "leads.bulk" },
  request: { body: jsonBody(bulkStatusBody) },
  responses: {
    200: jsonContent(
      z.strictObject({
        updated: z.number().int().min(0),
        notFound: z.array(id).openapi({ description: "Ids that are not leads of this business (or deleted)" }),
      }),
      "How many changed, and the ids that matched no lead",
    ),
  },
});

leadRoutes.openapi(bulkStatus, async (c) => {
  const businessId = businessIdOf(c);
  const { leadIds, status } = c.req.valid("json");
  const db = c.get("db")();
  if (!(await statusKeys(db, businessId)).keys.has(status)) {
    throw fieldErrors([{ field: "status", message: `"${status}" is not one of this business's statuses` }]);
  }
  const ids = [...new Set(leadIds)];
  const { updated, subscribers } = await db.transaction(async (tx) => {
    const rows = await tx
      .update(leads)
      .set({ status, updatedAt: new Date() })
      .where(and(eq(leads.businessId, businessId), inArray(leads.id, ids), isNull(leads.deletedAt)))
      .returning();
    const subscribers = new Set<number>();
    for (const lead of rows) {
      for (const id of await emitWebhookEvent(tx, {
        businessId,
        type: "lead.updated",
        data: { lead, changed: ["status"] },
      }))
        subscribers.add(id);
    }
    return { updated: rows, subscribers };
  });
  await kickDeliveries(c.env, subscribers);
  const found = new Set(updated.map((r) => r.id));
  return c.json({ updated: updated.length, notFound: ids.filter((id) => !found.has(id)) }, 200);
});
