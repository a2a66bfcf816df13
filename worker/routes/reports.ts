/**
 * Reports: daily aggregates for the dashboard's charts (worker/services/reports.ts has the queries).
 */
import { z } from "@hono/zod-openapi";
import { businessIdOf } from "../auth/middleware";
import { jsonContent } from "../contract/content";
import { id, timestamp } from "../contract/models/common";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { ApiError, notFound } from "../errors";
import { businessProfile } from "../services/message-context";
import { buildReport, reportQuery, reportRange } from "../services/reports";

export const reportRoutes = createRouter();

const count = z.number().int().min(0);
const date = z.string().openapi({ example: "2027-01-12", description: "A day of the business's clock" });

const reportModel = z
  .strictObject({
    from: date,
    to: date,
    timezone: z.string(),
    days: z.array(
      z.strictObject({
        date,
        messagesIn: count,
        messagesOut: count,
        calls: z.strictObject({ answered: count, noAnswer: count, busy: count, failed: count, other: count }),
        firstResponse: z
          .strictObject({
            conversations: count.openapi({ description: "Customer turns that started this day" }),
            answered: count.openapi({ description: "Of those, how many got a reply" }),
            medianSeconds: z.number().int().nullable().openapi({ description: "Median time to our first reply" }),
          })
          .openapi({
            description:
              "A customer's turn starts with an inbound message after one of ours (or opening the chat); it ends at our next message",
          }),
      }),
    ),
    campaigns: z.array(
      z.strictObject({
        id,
        name: z.string(),
        status: z.string(),
        createdAt: timestamp,
        dialed: count.openapi({ description: "Jobs whose calls ended (answered, no answer, busy, failed)" }),
        answered: count,
        answerRate: z.number().min(0).max(1).nullable(),
      }),
    ),
  })
  .openapi("Report");

const getReport = apiRoute({
  method: "get",
  path: "/api/reports",
  tag: "Reports",
  summary: "Messages, calls, first-response time per day, and campaign answer rates, for a date range",
  description:
    "Days are days of the business's clock; `from` and `to` are inclusive (default: the last 30 days; at most 366).",
  auth: { permission: "reports.read" },
  request: { query: reportQuery },
  responses: { 200: jsonContent(reportModel, "The report") },
  errors: ["not_found"],
});

reportRoutes.openapi(getReport, async (c) => {
  const db = c.get("db")();
  const business = await businessProfile(db, businessIdOf(c));
  if (!business) throw notFound("Business");
  const range = reportRange(c.req.valid("query"), business.timezone);
  if (!range.ok) {
    throw new ApiError("validation_failed", `Invalid query: ${range.field}`, {
      fields: [{ field: range.field, message: range.message }],
    });
  }
  return c.json(await buildReport(db, business, range), 200);
});
