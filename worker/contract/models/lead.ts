import { z } from "@hono/zod-openapi";
import { id, timestamp } from "./common";

/** A lead row (db/schema.ts `leads`). */
export const leadModel = z
  .strictObject({
    id,
    businessId: id,
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
    phoneE164: z.string().nullable().openapi({ example: "+972501234567" }),
    email: z.string().nullable(),
    source: z.string().nullable(),
    /** A key of the business's lead statuses. */
    status: z.string(),
    notes: z.string().nullable(),
    ownerUserId: id.nullable(),
    tags: z.array(z.string()),
    createdAt: timestamp,
    updatedAt: timestamp,
    /** Always null in the book: deleted leads are not listed. */
    deletedAt: timestamp.nullable(),
  })
  .openapi("Lead");

export const leadBody = z.strictObject({ lead: leadModel });
