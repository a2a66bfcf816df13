/**
 * Scheduled messages: a template to one lead at a set time (worker/services/scheduled-messages.ts
 * has the rules). The minute cron sends them; here they are created, listed and cancelled.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import { notFound } from "../errors";
import { idParam } from "../lib/schemas";
import { validate } from "../lib/validate";
import { businessProfile } from "../services/message-context";
import {
  cancelScheduledMessage,
  createScheduledMessage,
  createScheduledMessageSchema,
  getScheduledMessage,
  listScheduledMessages,
  listScheduledQuery,
} from "../services/scheduled-messages";

export const scheduledMessageRoutes = new Hono<AppEnv>();
scheduledMessageRoutes.use("/api/scheduled-messages", requireAuth);
scheduledMessageRoutes.use("/api/scheduled-messages/*", requireAuth);

scheduledMessageRoutes.get(
  "/api/scheduled-messages",
  requirePermission("scheduled_messages.read"),
  validate("query", listScheduledQuery),
  async (c) => c.json(await listScheduledMessages(c.get("db")(), businessIdOf(c), c.req.valid("query"))),
);

scheduledMessageRoutes.post(
  "/api/scheduled-messages",
  requirePermission("scheduled_messages.write"),
  validate("json", createScheduledMessageSchema),
  async (c) => {
    const db = c.get("db")();
    const business = await businessProfile(db, businessIdOf(c));
    if (!business) throw notFound("Business");
    const scheduledMessage = await createScheduledMessage(db, business, c.get("auth").user.id, c.req.valid("json"));
    return c.json({ scheduledMessage }, 201);
  },
);

scheduledMessageRoutes.get(
  "/api/scheduled-messages/:id",
  requirePermission("scheduled_messages.read"),
  validate("param", idParam),
  async (c) =>
    c.json({ scheduledMessage: await getScheduledMessage(c.get("db")(), businessIdOf(c), c.req.valid("param").id) }),
);

/** Cancels (never deletes: the record stays for the history). */
scheduledMessageRoutes.delete(
  "/api/scheduled-messages/:id",
  requirePermission("scheduled_messages.write"),
  validate("param", idParam),
  async (c) =>
    c.json({
      scheduledMessage: await cancelScheduledMessage(c.get("db")(), businessIdOf(c), c.req.valid("param").id),
    }),
);
