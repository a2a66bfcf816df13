import { z } from "@hono/zod-openapi";
import { id, timestamp } from "./common";

/** A business row (db/schema.ts `businesses`). */
export const businessModel = z
  .strictObject({
    id,
    name: z.string(),
    timezone: z.string().openapi({ example: "Asia/Jerusalem" }),
    locale: z.string().openapi({ example: "he-IL" }),
    phoneRegion: z.string().openapi({ example: "IL" }),
    /** Inbound calls are matched on it; only a system admin assigns it. */
    twilioNumber: z.string().nullable().openapi({ example: "+97231234567" }),
    whatsappShard: z.number().int(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .openapi("Business");

/** The business the signed-in user acts on, as `GET /api/me` shows it. */
export const businessSummaryModel = businessModel
  .pick({ id: true, name: true, timezone: true, locale: true, phoneRegion: true, whatsappShard: true })
  .openapi("BusinessSummary");
