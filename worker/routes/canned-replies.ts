/**
 * A business's canned replies: agents read and render them, admins write them. A shortcut is
 * unique per business (409 naming `shortcut`).
 */
import { z } from "@hono/zod-openapi";
import { and, asc, eq } from "drizzle-orm";
import { businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent, noContent } from "../contract/content";
import { cannedReplyModel } from "../contract/models/inbox";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { isUniqueViolation } from "../db/errors";
import { waCannedReplies } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { cannedBodySchema, renderCannedReply, shortcutSchema } from "../inbox/canned-replies";
import { idParam, idSchema } from "../lib/schemas";
import { conversationOf } from "./whatsapp";

export const cannedReplyRoutes = createRouter();

const r = waCannedReplies;
const columns = { id: r.id, shortcut: r.shortcut, body: r.body, updatedAt: r.updatedAt };
const replyBody = z.strictObject({ cannedReply: cannedReplyModel });

function duplicate(err: unknown): never {
  if (isUniqueViolation(err, "wa_canned_replies_business_shortcut_key"))
    throw new ApiError("conflict", "A canned reply with this shortcut already exists", { field: "shortcut" });
  throw err;
}

cannedReplyRoutes.openapi(
  apiRoute({
    method: "get",
    path: "/api/whatsapp/canned-replies",
    tag: "WhatsApp",
    summary: "The business's canned replies, by shortcut",
    auth: { permission: "whatsapp.read" },
    responses: {
      200: jsonContent(z.strictObject({ cannedReplies: z.array(cannedReplyModel) }), "The canned replies"),
    },
  }),
  async (c) => {
    const rows = await c
      .get("db")()
      .select(columns)
      .from(r)
      .where(eq(r.businessId, businessIdOf(c)))
      .orderBy(asc(r.shortcut));
    return c.json({ cannedReplies: rows }, 200);
  },
);

cannedReplyRoutes.openapi(
  apiRoute({
    method: "post",
    path: "/api/whatsapp/canned-replies",
    tag: "WhatsApp",
    summary: "Create a canned reply (the body may use template variables such as {first_name})",
    auth: { permission: "whatsapp.manage" },
    request: { body: jsonBody(z.strictObject({ shortcut: shortcutSchema, body: cannedBodySchema })) },
    responses: { 201: jsonContent(replyBody, "The new canned reply") },
    errors: ["conflict"],
  }),
  async (c) => {
    const [row] = await c
      .get("db")()
      .insert(r)
      .values({ ...c.req.valid("json"), businessId: businessIdOf(c), createdByUserId: c.get("auth").user.id || null })
      .returning(columns)
      .catch(duplicate);
    return c.json({ cannedReply: row! }, 201);
  },
);

const patchBody = z
  .strictObject({ shortcut: shortcutSchema, body: cannedBodySchema })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: "give at least one of shortcut, body" });

cannedReplyRoutes.openapi(
  apiRoute({
    method: "patch",
    path: "/api/whatsapp/canned-replies/{id}",
    tag: "WhatsApp",
    summary: "Change a canned reply's shortcut or body",
    auth: { permission: "whatsapp.manage" },
    request: { params: idParam, body: jsonBody(patchBody) },
    responses: { 200: jsonContent(replyBody, "The updated canned reply") },
    errors: ["not_found", "conflict"],
  }),
  async (c) => {
    const [row] = await c
      .get("db")()
      .update(r)
      .set({ ...c.req.valid("json"), updatedAt: new Date() })
      .where(and(eq(r.id, c.req.valid("param").id), eq(r.businessId, businessIdOf(c))))
      .returning(columns)
      .catch(duplicate);
    if (!row) throw notFound("Canned reply");
    return c.json({ cannedReply: row }, 200);
  },
);

cannedReplyRoutes.openapi(
  apiRoute({
    method: "delete",
    path: "/api/whatsapp/canned-replies/{id}",
    tag: "WhatsApp",
    summary: "Delete a canned reply",
    auth: { permission: "whatsapp.manage" },
    request: { params: idParam },
    responses: { 204: { description: "Deleted" } },
    errors: ["not_found"],
  }),
  async (c) => {
    const [row] = await c
      .get("db")()
      .delete(r)
      .where(and(eq(r.id, c.req.valid("param").id), eq(r.businessId, businessIdOf(c))))
      .returning({ id: r.id });
    if (!row) throw notFound("Canned reply");
    return noContent(c);
  },
);

cannedReplyRoutes.openapi(
  apiRoute({
    method: "post",
    path: "/api/whatsapp/conversations/{id}/canned-replies/{cannedId}/render",
    tag: "WhatsApp",
    summary: "A canned reply filled in for this conversation's lead and business (for the composer; nothing is sent)",
    description:
      "`unresolved` lists variables with no value here (an appointment field when the lead has none): they are left out of `text`, so the agent can see what to fill in.",
    auth: { permission: "whatsapp.send" },
    request: { params: z.object({ id: idSchema, cannedId: idSchema }) },
    responses: {
      200: jsonContent(z.strictObject({ text: z.string(), unresolved: z.array(z.string()) }), "The rendered text"),
    },
    errors: ["not_found"],
  }),
  async (c) => {
    const { id, cannedId } = c.req.valid("param");
    const conversation = await conversationOf(c, id);
    const db = c.get("db")();
    const [canned] = await db
      .select(columns)
      .from(r)
      .where(and(eq(r.id, cannedId), eq(r.businessId, conversation.businessId)));
    if (!canned) throw notFound("Canned reply");
    const rendered = await renderCannedReply(db, conversation.businessId, conversation.leadId, canned.body);
    return c.json({ text: rendered.text, unresolved: rendered.unresolved }, 200);
  },
);
