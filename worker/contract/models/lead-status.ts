import { z } from "@hono/zod-openapi";
import { id, timestamp } from "./common";

export const leadStatusModel = z
  .strictObject({
    id,
    businessId: id,
    key: z.string(),
    label: z.string(),
    color: z.string(),
    sortOrder: z.number().int(),
    isDefault: z.boolean(),
    createdAt: timestamp,
  })
  .openapi("LeadStatus");
