/**
 * An audience of leads for a broadcast or a call campaign: the same filters as GET /api/leads (so
 * the dashboard can act on the list it shows), and/or explicit lead ids. One schema and one
 * WHERE builder, so both features select leads exactly alike.
 */
import { type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { leads } from "../db/schema";
import { MAX_ID } from "../lib/schemas";
import { leadFilters, listLeadsQuery } from "./leads";

const splitList = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** `status` may be a comma list (as in the query string) or an array; `maxLeadIds` bounds explicit ids. */
export function audienceSchema(maxLeadIds: number) {
  return listLeadsQuery
    .omit({ sort: true, order: true, limit: true, cursor: true })
    .extend({
      status: z
        .union([z.array(z.string().trim().min(1).max(40)).max(50), z.string().max(500).transform(splitList)])
        .optional(),
      leadIds: z.array(z.number().int().positive().max(MAX_ID)).min(1).max(maxLeadIds).optional(),
    })
    .strict();
}

export type Audience = z.infer<ReturnType<typeof audienceSchema>>;

/** The audience's conditions, always scoped to the business and to leads not deleted. */
export function audienceWhere(businessId: number, audience: Audience): SQL[] {
  const where = leadFilters(businessId, audience);
  // One array parameter (not an IN list of thousands of parameters).
  if (audience.leadIds) where.push(sql`${leads.id} = any(${sql.param([...new Set(audience.leadIds)])}::int[])`);
  return where;
}
