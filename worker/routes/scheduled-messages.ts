/**
 * Scheduled messages: a template to one lead at a set time (worker/services/scheduled-messages.ts
 * has the rules). The minute cron sends them; here they are created, listed and cancelled.
 */
import { z } from "@hono/zod-openapi";
import { businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent } from "../contract/content";
import { scheduledMessageModel } from "../contract/models/scheduling";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { notFound } from "../errors";
import { idParam } from "../lib/schemas";
import { businessProfile } from "../services/message-context";
import {
  cancelScheduledMessage,
  createScheduledMessage,
  createScheduledMessageSchema,
  getScheduledMessage,
  listScheduledMessages,
  listScheduledQuery,
} from "../services/scheduled-messages";

export const scheduledMessageRoutes = createRouter();

const one = z.strictObject({ scheduledMessage: scheduledMessageModel });

const list = apiRoute({
  method: "get",
  path: "/api/scheduled-messages",
  tag: "Scheduled messages",
  summary: "Scheduled messages by send time, filtered by status, lead and dates",
  auth: { permission: "scheduled_messages.read" },
  request: { query: listScheduledQuery },
  responses: {
    200: jsonContent(
      z.strictObject({ scheduledMessages: z.array(scheduledMessageModel), nextCursor: z.string().nullable() }),
      "A page of scheduled messages",
    ),
  },
});

scheduledMessageRoutes.openapi(list, async (c) =>
  c.json(await listScheduledMessages(c.get("db")(), businessIdOf(c), c.req.valid("query")), 200),
);

const create = apiRoute({
  method: "post",
  path: "/api/scheduled-messages",
  tag: "Scheduled messages",
  summary: "Schedule a template to a lead at a time (an instant, or a date and time of the business's clock)",
  auth: { permission: "scheduled_messages.write" },
  request: { body: jsonBody(createScheduledMessageSchema) },
  responses: { 201: jsonContent(one, "Scheduled") },
  errors: ["not_found"],
});

scheduledMessageRoutes.openapi(create, async (c) => {
  const db = c.get("db")();
  const business = await businessProfile(db, businessIdOf(c));
  if (!business) throw notFound("Business");
  const scheduledMessage = await createScheduledMessage(db, business, c.get("auth").user.id, c.req.valid("json"));
  return c.json({ scheduledMessage }, 201);
});

const get = apiRoute({
  method: "get",
  path: "/api/scheduled-messages/{id}",
  tag: "Scheduled messages",
  summary: "One scheduled message",
  auth: { permission: "scheduled_messages.read" },
  request: { params: idParam },
  responses: { 200: jsonContent(one, "The scheduled message") },
  errors: ["not_found"],
});

scheduledMessageRoutes.openapi(get, async (c) =>
  c.json({ scheduledMessage: await getScheduledMessage(c.get("db")(), businessIdOf(c), c.req.valid("param").id) }, 200),
);

/** Cancels (never deletes: the record stays for the history). */
const cancel = apiRoute({
  method: "delete",
  path: "/api/scheduled-messages/{id}",
  tag: "Scheduled messages",
  summary: "Cancel a scheduled message that was not sent yet (the record stays)",
  auth: { permission: "scheduled_messages.write" },
  request: { params: idParam },
  responses: { 200: jsonContent(one, "Cancelled") },
  errors: ["not_found", "conflict"],
});

scheduledMessageRoutes.openapi(cancel, async (c) =>
  c.json(
    { scheduledMessage: await cancelScheduledMessage(c.get("db")(), businessIdOf(c), c.req.valid("param").id) },
    200,
  ),
);
