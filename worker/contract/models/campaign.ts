import { z } from "@hono/zod-openapi";
import { campaignStatuses } from "../../db/schema";
import { audienceModel } from "./audience";
import { id, timestamp } from "./common";

const count = z.number().int().min(0);

/** A bulk call campaign with its live progress (worker/campaigns/runs.ts `campaignView`). */
export const campaignModel = z
  .strictObject({
    id,
    name: z.string(),
    status: z.enum(campaignStatuses),
    audience: audienceModel,
    schedule: z.strictObject({
      start: timestamp.nullable().openapi({ description: "Dial no earlier than this" }),
      end: timestamp.nullable().openapi({ description: "Dial no later than this" }),
      businessHours: z.boolean().openapi({ description: "Dial only within the business's working hours" }),
    }),
    maxAttempts: z.number().int(),
    retryDelaySeconds: z.number().int(),
    totalJobs: count,
    skippedLeads: count.openapi({ description: "Leads of the audience without a valid phone: never dialed" }),
    jobs: z
      .strictObject({
        queued: count,
        dialing: count,
        inCall: count,
        completed: count,
        noAnswer: count,
        busy: count,
        failed: count,
        cancelled: count,
        done: count,
        remaining: count,
      })
      .openapi({ description: "Jobs (one per lead) by status; `done` and `remaining` sum them up" }),
    activeCalls: count,
    lastError: z.string().nullable(),
    createdByUserId: id.nullable(),
    createdAt: timestamp,
    startedAt: timestamp.nullable(),
    finishedAt: timestamp.nullable(),
    estimatedFinishAt: timestamp
      .nullable()
      .openapi({ description: "At the pace so far; the finish time once finished; null before the first call ends" }),
  })
  .openapi("Campaign");
