import { z } from "@hono/zod-openapi";
import { id, timestamp } from "./common";

/**
 * The audience a broadcast or campaign was created from, as stored (worker/services/audience.ts):
 * the lead list's filters and/or explicit lead ids.
 */
export const audienceModel = z
  .strictObject({
    q: z.string().optional(),
    status: z.array(z.string()).optional(),
    source: z.string().optional(),
    ownerUserId: id.optional(),
    tag: z.string().optional(),
    createdFrom: timestamp.optional(),
    createdTo: timestamp.optional(),
    leadIds: z.array(id).optional(),
  })
  .openapi("Audience");
