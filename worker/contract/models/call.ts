import { z } from "@hono/zod-openapi";
import { callDirections, callSources } from "../../db/schema";
import { id, timestamp } from "./common";

/** A call log row: one call, inbound or outbound, as Twilio's callbacks left it. */
export const callLogModel = z
  .strictObject({
    id,
    businessId: id,
    leadId: id.nullable(),
    direction: z.enum(callDirections),
    source: z.enum(callSources),
    callSid: z.string().nullable(),
    leaseId: z.string().nullable(),
    fromNumber: z.string().nullable(),
    toNumber: z.string().nullable(),
    status: z.string().openapi({ description: "Twilio's call status, or `rejected` (refused at capacity)" }),
    sequenceNumber: z.number().int(),
    durationSeconds: z.number().int().nullable(),
    recordingSid: z.string().nullable(),
    recordingUrl: z.string().nullable(),
    recordingDurationSeconds: z.number().int().nullable(),
    reason: z.string().nullable().openapi({ description: "Why the call was refused or failed" }),
    createdByUserId: id.nullable(),
    outboundJobId: id.nullable().openapi({ description: "The campaign job that placed the call (bulk calls)" }),
    startedAt: timestamp.nullable(),
    answeredAt: timestamp.nullable(),
    endedAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .openapi("CallLog");
