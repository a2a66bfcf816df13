/**
 * The lead book's rules, shared by the API routes and CSV import: input schemas, phone
 * normalisation in the business's region, status and owner checks, and the list query.
 */
import { and, asc, desc, eq, gte, inArray, isNull, lte, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../db/client";
import { businesses, leadStatuses, leads, users } from "../db/schema";
import { ApiError } from "../errors";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { isoDateTime, MAX_ID, optionalText } from "../lib/schemas";
import { normalizePhone } from "./phones";

export const leadFields = {
  firstName: optionalText(100),
  lastName: optionalText(100),
  /** As typed; normalised to E.164 in the business's region. */
  phone: z.string().trim().max(40).nullable().optional(),
  email: z
    .email({ message: "must be an email address" })
    .max(254)
    .nullable()
    .optional()
    .or(z.literal("").transform(() => null)),
  source: optionalText(100),
  status: z.string().max(40).optional(),
  notes: optionalText(10_000),
  ownerUserId: z.number().int().positive().max(MAX_ID).nullable().optional(),
  tags: z.array(z.string().trim().min(1).max(50)).max(50).optional(),
};

export const createLeadSchema = z
  .object(leadFields)
  .strict()
  .refine((l) => Boolean(l.firstName || l.lastName || l.phone || l.email), {
    message: "a lead needs at least a name, a phone or an email",
  });

export const updateLeadSchema = z
  .object(leadFields)
  .strict()
  .refine((l) => Object.keys(l).length > 0, { message: "give at least one field" });

export type LeadInput = z.infer<typeof createLeadSchema>;

export interface BusinessContext {
  id: number;
  phoneRegion: string;
}

export async function businessContext(db: Database, businessId: number): Promise<BusinessContext> {
  const [row] = await db
    .select({ id: businesses.id, phoneRegion: businesses.phoneRegion })
    .from(businesses)
    .where(eq(businesses.id, businessId));
  if (!row) throw new ApiError("not_found", "Business not found");
  return row;
}

/** Lead statuses of a business: keys and the default one. */
export async function statusKeys(db: Database, businessId: number): Promise<{ keys: Set<string>; defaultKey: string }> {
  const rows = await db
    .select({ key: leadStatuses.key, isDefault: leadStatuses.isDefault, sortOrder: leadStatuses.sortOrder })
    .from(leadStatuses)
    .where(eq(leadStatuses.businessId, businessId))
    .orderBy(asc(leadStatuses.sortOrder));
  const defaultKey = rows.find((r) => r.isDefault)?.key ?? rows[0]?.key ?? "new";
  return { keys: new Set(rows.map((r) => r.key)), defaultKey };
}

export type FieldError = { field: string; message: string };

/**
 * Turns validated input into column values for this business, collecting every field error
 * (phone, status, owner) rather than stopping at the first.
 */
export async function resolveLeadValues(
  db: Database,
  business: BusinessContext,
  input: Partial<LeadInput>,
  known?: { statuses?: Awaited<ReturnType<typeof statusKeys>>; ownerIds?: Set<number> },
): Promise<{ values: Partial<typeof leads.$inferInsert>; errors: FieldError[] }> {
  const errors: FieldError[] = [];
  const values: Partial<typeof leads.$inferInsert> = {};
  if (input.firstName !== undefined) values.firstName = input.firstName;
  if (input.lastName !== undefined) values.lastName = input.lastName;
  if (input.email !== undefined) values.email = input.email?.toLowerCase() ?? null;
  if (input.source !== undefined) values.source = input.source;
  if (input.notes !== undefined) values.notes = input.notes;
  if (input.tags !== undefined) values.tags = [...new Set(input.tags)];
  if (input.phone !== undefined) {
    if (input.phone === null || input.phone === "") values.phoneE164 = null;
    else {
      const phone = normalizePhone(input.phone, business.phoneRegion);
      if (phone.ok) values.phoneE164 = phone.e164;
      else errors.push({ field: "phone", message: phone.message });
    }
  }
  if (input.status !== undefined) {
    const statuses = known?.statuses ?? (await statusKeys(db, business.id));
    if (statuses.keys.has(input.status)) values.status = input.status;
    else errors.push({ field: "status", message: `"${input.status}" is not one of this business's statuses` });
  }
  if (input.ownerUserId !== undefined) {
    if (input.ownerUserId === null) values.ownerUserId = null;
    else {
      const owned =
        known?.ownerIds?.has(input.ownerUserId) ??
        (
          await db
            .select({ id: users.id })
            .from(users)
            .where(and(eq(users.id, input.ownerUserId), eq(users.businessId, business.id)))
        ).length > 0;
      if (owned) values.ownerUserId = input.ownerUserId;
      else errors.push({ field: "ownerUserId", message: "is not a user of this business" });
    }
  }
  return { values, errors };
}

export function fieldErrors(errors: FieldError[]): ApiError {
  return new ApiError("validation_failed", `Invalid body: ${errors.map((e) => e.field).join(", ")}`, {
    fields: errors,
  });
}

// ---- listing ---------------------------------------------------------------------------------

export const listLeadsQuery = z
  .object({
    q: z.string().trim().min(1).max(100).optional(),
    status: z
      .string()
      .max(500)
      .transform((v) => v.split(",").filter(Boolean))
      .optional(),
    source: z.string().max(100).optional(),
    ownerUserId: z.coerce.number().int().positive().max(MAX_ID).optional(),
    tag: z.string().max(50).optional(),
    createdFrom: isoDateTime.optional(),
    createdTo: isoDateTime.optional(),
    sort: z.enum(["created_at", "updated_at"]).default("created_at"),
    order: z.enum(["asc", "desc"]).default("desc"),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();
export type ListLeadsQuery = z.infer<typeof listLeadsQuery>;

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

/** Conditions shared by the list and the CSV export. Always scoped to the business, never deleted. */
export function leadFilters(businessId: number, q: Omit<ListLeadsQuery, "sort" | "order" | "limit" | "cursor">): SQL[] {
  const where: SQL[] = [eq(leads.businessId, businessId), isNull(leads.deletedAt)];
  if (q.q) {
    const like = `%${escapeLike(q.q)}%`;
    const digits = q.q.replace(/\D/g, "");
    const fullName = sql`coalesce(${leads.firstName}, '') || ' ' || coalesce(${leads.lastName}, '')`;
    const textMatch = sql`${fullName} ilike ${like} or ${leads.email} ilike ${like}`;
    // Phones match on digits, so "050-123" finds +97250123…: drop a leading 0 (national prefix).
    const phoneDigits = digits.replace(/^0/, "");
    where.push(
      phoneDigits.length >= 3
        ? sql`(${textMatch} or ${leads.phoneE164} like ${`%${phoneDigits}%`})`
        : sql`(${textMatch})`,
    );
  }
  if (q.status && q.status.length > 0) where.push(inArray(leads.status, q.status));
  if (q.source) where.push(eq(leads.source, q.source));
  if (q.ownerUserId) where.push(eq(leads.ownerUserId, q.ownerUserId));
  if (q.tag) where.push(sql`${q.tag} = any(${leads.tags})`);
  if (q.createdFrom) where.push(gte(leads.createdAt, new Date(q.createdFrom)));
  if (q.createdTo) where.push(lte(leads.createdAt, new Date(q.createdTo)));
  return where;
}

/** One page of leads with a stable cursor: ordered by (sort column, id), so ties never repeat or skip. */
export async function listLeads(db: Database, businessId: number, q: ListLeadsQuery) {
  const column = q.sort === "updated_at" ? leads.updatedAt : leads.createdAt;
  const where = leadFilters(businessId, q);
  if (q.cursor) {
    const [value, id] = decodeCursor(q.cursor);
    if (value === null)
      throw new ApiError("validation_failed", "Invalid query: cursor", {
        fields: [{ field: "cursor", message: "is not a cursor of this list" }],
      });
    where.push(
      q.order === "desc"
        ? sql`(${column}, ${leads.id}) < (${value}::timestamptz, ${id})`
        : sql`(${column}, ${leads.id}) > (${value}::timestamptz, ${id})`,
    );
  }
  const rows = await db
    .select({ lead: leads, sortValue: sql<string>`${column}::text` })
    .from(leads)
    .where(and(...where))
    .orderBy(...(q.order === "desc" ? [desc(column), desc(leads.id)] : [asc(column), asc(leads.id)]))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    leads: page.map((r) => r.lead),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.sortValue, last.lead.id) : null,
  };
}
