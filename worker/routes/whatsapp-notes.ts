/**
 * Private notes in a conversation: for the team only, never sent to the customer and never in the
 * messages list (worker/inbox/notes.ts keeps them in their own table).
 */
import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { allowed, businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent, noContent } from "../contract/content";
import { noteModel } from "../contract/models/inbox";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { waConversationNotes } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { findNote, listNotes } from "../inbox/notes";
import { idSchema } from "../lib/schemas";
import { publishLive } from "../live/publish";
import { conversationOf } from "./whatsapp";

export const whatsappNoteRoutes = createRouter();

const conversationParam = z.object({ id: idSchema });

whatsappNoteRoutes.openapi(
  apiRoute({
    method: "get",
    path: "/api/whatsapp/conversations/{id}/notes",
    tag: "WhatsApp",
    summary: "A conversation's private notes, oldest first",
    auth: { permission: "whatsapp.read" },
    request: { params: conversationParam },
    responses: { 200: jsonContent(z.strictObject({ notes: z.array(noteModel) }), "The notes") },
    errors: ["not_found"],
  }),
  async (c) => {
    const conversation = await conversationOf(c, c.req.valid("param").id);
    const notes = await listNotes(c.get("db")(), conversation.businessId, conversation.id);
    return c.json({ notes }, 200);
  },
);

whatsappNoteRoutes.openapi(
  apiRoute({
    method: "post",
    path: "/api/whatsapp/conversations/{id}/notes",
    tag: "WhatsApp",
    summary: "Add a private note to a conversation (never sent to the customer)",
    auth: { permission: "whatsapp.send" },
    request: {
      params: conversationParam,
      body: jsonBody(z.strictObject({ body: z.string().trim().min(1, "must not be empty").max(4000) })),
    },
    responses: { 201: jsonContent(z.strictObject({ note: noteModel }), "The note") },
    errors: ["not_found"],
  }),
  async (c) => {
    const conversation = await conversationOf(c, c.req.valid("param").id);
    const author = c.get("auth").user;
    const [row] = await c
      .get("db")()
      .insert(waConversationNotes)
      .values({
        businessId: conversation.businessId,
        conversationId: conversation.id,
        // An API key acts as the user who created it; a key with no such user leaves no author.
        authorUserId: author.id > 0 ? author.id : null,
        body: c.req.valid("json").body,
      })
      .returning();
    await publishLive(c.env, conversation.businessId, {
      type: "conversation",
      conversationId: conversation.id,
      change: "note",
    });
    return c.json(
      {
        note: {
          id: row!.id,
          body: row!.body,
          author: row!.authorUserId !== null ? { id: author.id, name: author.name } : null,
          createdAt: row!.createdAt,
        },
      },
      201,
    );
  },
);

whatsappNoteRoutes.openapi(
  apiRoute({
    method: "delete",
    path: "/api/whatsapp/conversations/{id}/notes/{noteId}",
    tag: "WhatsApp",
    summary: "Delete a private note (its author, or an admin)",
    auth: { permission: "whatsapp.send" },
    request: { params: z.object({ id: idSchema, noteId: idSchema }) },
    responses: { 204: { description: "Deleted" } },
    errors: ["not_found"],
  }),
  async (c) => {
    const { id, noteId } = c.req.valid("param");
    const businessId = businessIdOf(c);
    const db = c.get("db")();
    const note = await findNote(db, businessId, id, noteId);
    if (!note) throw notFound("Note");
    const auth = c.get("auth");
    if (note.author?.id !== auth.user.id && !allowed(auth, "whatsapp.manage"))
      throw new ApiError("forbidden", "Only the note's author or an admin may delete it");
    await db
      .delete(waConversationNotes)
      .where(and(eq(waConversationNotes.id, noteId), eq(waConversationNotes.businessId, businessId)));
    await publishLive(c.env, businessId, { type: "conversation", conversationId: id, change: "note" });
    return noContent(c);
  },
);
