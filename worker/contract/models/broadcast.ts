import { z } from "@hono/zod-openapi";
import { broadcastStatuses } from "../../db/schema";
import { audienceModel } from "./audience";
import { id, timestamp } from "./common";

const count = z.number().int().min(0);

/** Recipients by state (worker/services/broadcasts.ts `Progress`). */
export const broadcastProgressModel = z
  .strictObject({
    total: count,
    skipped: count,
    queued: count,
    held: count.openapi({ description: "Paused: the broadcast, or the business's sends (a ban signal)" }),
    sending: count,
    sent: count,
    failed: count,
    cancelled: count,
    waiting: z
      .strictObject({
        count,
        reason: z.string(),
        detail: z.string(),
        nextAt: z.string().nullable(),
        lastAt: z.string().nullable(),
      })
      .nullable()
      .openapi({
        description:
          "Messages held in the business's send schedule (counted in `queued`): why the next one waits and when the next and the last should go",
      }),
  })
  .openapi("BroadcastProgress");

const broadcastFields = {
  id,
  businessId: id,
  name: z.string(),
  template: z.string(),
  audience: audienceModel,
  status: z.enum(broadcastStatuses),
  totalRecipients: count,
  skippedLeads: count,
  createdByUserId: id.nullable(),
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
};

export const broadcastModel = z.strictObject(broadcastFields).openapi("Broadcast");

/** One broadcast with its progress (GET /api/broadcasts/{id} and the actions). */
export const broadcastWithProgressModel = z
  .strictObject({ broadcast: broadcastModel, progress: broadcastProgressModel })
  .openapi("BroadcastWithProgress");

/** A list entry: the broadcast's fields with its progress inline. */
export const broadcastListItemModel = z
  .strictObject({ ...broadcastFields, progress: broadcastProgressModel })
  .openapi("BroadcastListItem");
