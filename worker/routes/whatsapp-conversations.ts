/**
 * The team inbox's conversations: the list (views, status filter, search), one conversation, its
 * assignee and its status. The rules live in worker/inbox/ (who may assign, what a status change
 * records, the search query); these handlers only read the request and answer.
 */
import { z } from "@hono/zod-openapi";
import { businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent } from "../contract/content";
import { conversationModel } from "../contract/models/whatsapp";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { conversationStatuses } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { assignConversation } from "../inbox/assignment";
import { findConversation } from "../inbox/conversation-view";
import { listConversations } from "../inbox/list";
import { setConversationStatus } from "../inbox/status";
import { idParam, idSchema, isoDateTime } from "../lib/schemas";

export const whatsappConversationRoutes = createRouter();

const conversationBody = z.strictObject({ conversation: conversationModel });

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(30),
  cursor: z.string().max(200).optional(),
  view: z.enum(["all", "mine", "unassigned"]).default("all").openapi({
    description: "all (default); mine: assigned to the caller; unassigned",
  }),
  assigneeId: idSchema.optional().openapi({ description: "Only conversations assigned to this user (with view=all)" }),
  status: z.enum(conversationStatuses).optional().openapi({ description: "Only this status; none = every status" }),
  q: z.string().trim().min(2, "must be at least 2 characters").max(100).optional().openapi({
    description:
      "Search message text, the contact's display name, and the lead's name and phone (any script; a phone matches by its digits, with or without the leading 0). Each result then carries `match`.",
  }),
});

const list = apiRoute({
  method: "get",
  path: "/api/whatsapp/conversations",
  tag: "WhatsApp",
  summary: "The inbox: conversations by last activity, with unread counts; views, status filter and search",
  auth: { permission: "whatsapp.read" },
  request: { query: listQuery },
  responses: {
    200: jsonContent(
      z.strictObject({
        conversations: z.array(conversationModel),
        unreadTotal: z.number().int(),
        nextCursor: z.string().nullable(),
      }),
      "A page of conversations",
    ),
  },
});

whatsappConversationRoutes.openapi(list, async (c) => {
  const query = c.req.valid("query");
  if (query.assigneeId !== undefined && query.view !== "all") {
    throw new ApiError("validation_failed", "Invalid query: assigneeId", {
      fields: [{ field: "assigneeId", message: "is only for view=all (mine and unassigned name their own assignee)" }],
    });
  }
  const page = await listConversations(c.get("db")(), {
    businessId: businessIdOf(c),
    userId: c.get("auth").user.id,
    ...query,
  });
  return c.json(page, 200);
});

const detail = apiRoute({
  method: "get",
  path: "/api/whatsapp/conversations/{id}",
  tag: "WhatsApp",
  summary: "One conversation: status, assignee, response times",
  auth: { permission: "whatsapp.read" },
  request: { params: idParam },
  responses: { 200: jsonContent(conversationBody, "The conversation") },
  errors: ["not_found"],
});

whatsappConversationRoutes.openapi(detail, async (c) => {
  const conversation = await findConversation(c.get("db")(), businessIdOf(c), c.req.valid("param").id);
  if (!conversation) throw notFound("Conversation");
  return c.json({ conversation }, 200);
});

const assign = apiRoute({
  method: "put",
  path: "/api/whatsapp/conversations/{id}/assignee",
  tag: "WhatsApp",
  summary: "Assign a conversation to a user of the business, or unassign it (null)",
  description:
    "Anyone who may send may take an unassigned conversation (their own id) or give up their own (null). Assigning someone else, or taking one assigned to someone else, needs `whatsapp.assign`. `userId` must be an active user of the business.",
  auth: { permission: "whatsapp.send" },
  request: { params: idParam, body: jsonBody(z.strictObject({ userId: idSchema.nullable() })) },
  responses: { 200: jsonContent(conversationBody, "The conversation, assigned") },
  errors: ["not_found"],
});

whatsappConversationRoutes.openapi(assign, async (c) => {
  const conversation = await assignConversation(c.get("db")(), c.env, c.get("auth"), {
    businessId: businessIdOf(c),
    conversationId: c.req.valid("param").id,
    userId: c.req.valid("json").userId,
  });
  return c.json({ conversation }, 200);
});

const statusBody = z.strictObject({
  status: z.enum(conversationStatuses),
  snoozedUntil: isoDateTime
    .optional()
    .openapi({ description: "Required with snoozed (a future time); refused otherwise" }),
});

const setStatus = apiRoute({
  method: "put",
  path: "/api/whatsapp/conversations/{id}/status",
  tag: "WhatsApp",
  summary: "Set a conversation's status: open, pending, resolved, or snoozed until a time",
  description:
    "Resolving records the resolution time and sends `conversation.resolved`. A snoozed conversation is open again once `snoozedUntil` passes; a new customer message reopens pending, resolved and snoozed ones.",
  auth: { permission: "whatsapp.send" },
  request: { params: idParam, body: jsonBody(statusBody) },
  responses: { 200: jsonContent(conversationBody, "The conversation, with its new status") },
  errors: ["not_found"],
});

whatsappConversationRoutes.openapi(setStatus, async (c) => {
  const body = c.req.valid("json");
  const conversation = await setConversationStatus(c.get("db")(), c.env, {
    businessId: businessIdOf(c),
    conversationId: c.req.valid("param").id,
    status: body.status,
    snoozedUntil: body.snoozedUntil,
  });
  return c.json({ conversation }, 200);
});
