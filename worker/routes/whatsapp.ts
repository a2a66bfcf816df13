/**
 * WhatsApp for the dashboard: connect (QR), status, logout, the send pause, and the inbox's
 * messages (list, mark read, reply). The conversations list, assignment and status are in
 * ./whatsapp-conversations.ts; notes in ./whatsapp-notes.ts; canned replies in ./canned-replies.ts. Session calls go to the business's shard through
 * the router; replies go through the outbound pipeline (persist, throttle, send once).
 */
import { z } from "@hono/zod-openapi";
import { and, desc, eq, lt, or } from "drizzle-orm";
import { allowed, businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent, noContent } from "../contract/content";
import { id } from "../contract/models/common";
import {
  lastReportedSessionModel,
  messageModel,
  messageView,
  outboundModel,
  outboundView,
  sendStateModel,
  sessionModel,
  sessionUnavailableModel,
  shardMoveModel,
  waitingSendModel,
} from "../contract/models/whatsapp";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { waConversations, waMessages, waOutbound, waSessions } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { log } from "../lib/log";
import { idParam } from "../lib/schemas";
import { releaseHeld } from "../queues/handlers/whatsapp-send";
import { businessStub } from "../services/settings";
import { businessShard } from "../whatsapp/business-shard";
import { queueOutgoingMessage, waitingSends } from "../whatsapp/outbound";
import { ShardError } from "../whatsapp/shard-client";

export const whatsappRoutes = createRouter();

const QR_WAIT_POLLS = 20;
const QR_WAIT_INTERVAL_MS = 250;

/** What a call to the business's shard can answer besides success (see fromShard). */
const SHARD_ERRORS = [
  "whatsapp_unavailable",
  "whatsapp_session_not_open",
  "whatsapp_conflict",
  "whatsapp_failed",
] as const;

/**
 * Shard errors as dashboard errors, in four codes a client can act on (the shard's own code is in
 * `details.shardCode`): the service is down or full → 503; the session is not open → 409; a
 * fencing or idempotency conflict → 409; anything else the shard refused or failed → 502.
 */
function fromShard(err: unknown): never {
  if (err instanceof ShardError) {
    log.warn("shard call failed", { code: err.code, status: err.status, error: err.message });
    const details = { shardCode: err.code };
    if (err.status === 0 || err.status === 503) {
      // An unreachable shard's message names its internal URL: the log keeps it, the answer does not.
      throw new ApiError("whatsapp_unavailable", "The WhatsApp service did not answer; try again shortly", details);
    }
    if (err.code === "session_not_open" || err.code === "session_not_found" || err.status === 404) {
      throw new ApiError("whatsapp_session_not_open", err.message, details);
    }
    if (err.status === 409) throw new ApiError("whatsapp_conflict", err.message, details);
    throw new ApiError("whatsapp_failed", err.message, details);
  }
  throw err;
}

const connect = apiRoute({
  method: "post",
  path: "/api/whatsapp/connect",
  tag: "WhatsApp",
  summary: "Start the business's WhatsApp session on its shard (answers with the QR once it is there)",
  auth: { permission: "whatsapp.manage" },
  responses: {
    200: jsonContent(z.strictObject({ shard: z.number().int(), session: sessionModel }), "The session, with its QR"),
  },
  errors: ["conflict", ...SHARD_ERRORS],
});

whatsappRoutes.openapi(connect, async (c) => {
  const businessId = businessIdOf(c);
  const shard = await businessShard(c.get("db")(), c.env, c.get("config"), businessId);
  if (shard.move) throw new ApiError("conflict", `a move to shard ${shard.move.to} is in progress`);
  let session = await shard.client.startSession(businessId, { fencingToken: shard.fencingToken }).catch(fromShard);
  // The QR arrives a moment after the socket connects: wait briefly so the dashboard gets it in
  // this answer (it can also poll GET /api/whatsapp/status).
  for (let i = 0; i < QR_WAIT_POLLS && session.state === "connecting"; i++) {
    await new Promise((resolve) => setTimeout(resolve, QR_WAIT_INTERVAL_MS));
    session = await shard.client.getSession(businessId).catch(fromShard);
  }
  return c.json({ shard: shard.shard, session }, 200);
});

const statusResponse = z.strictObject({
  shard: z.number().int(),
  move: shardMoveModel,
  session: z.union([
    sessionModel,
    sessionModel.omit({ qr: true, qrDataUrl: true, pairingCode: true }),
    sessionUnavailableModel,
  ]),
  lastReported: lastReportedSessionModel,
  sends: sendStateModel,
});

const status = apiRoute({
  method: "get",
  path: "/api/whatsapp/status",
  tag: "WhatsApp",
  summary: "The session's state (QR and pairing code only for whatsapp.manage), shard, move and send pause",
  auth: { permission: "whatsapp.read" },
  responses: { 200: jsonContent(statusResponse, "The business's WhatsApp state") },
});

whatsappRoutes.openapi(status, async (c) => {
  const businessId = businessIdOf(c);
  const db = c.get("db")();
  const shard = await businessShard(db, c.env, c.get("config"), businessId);
  const [live, lastReported, sends] = await Promise.all([
    shard.client
      .getSession(businessId)
      .catch((err: unknown) => (err instanceof ShardError ? { error: err.code } : Promise.reject(err))),
    db.select().from(waSessions).where(eq(waSessions.businessId, businessId)),
    businessStub(c.env, businessId).sendState(businessId),
  ]);
  // The QR and pairing code link a phone to the business's WhatsApp: only those who may connect
  // it see them (an agent could otherwise link their own phone while an admin is pairing).
  if (!allowed(c.get("auth"), "whatsapp.manage") && "state" in live) {
    const { qr: _qr, qrDataUrl: _qrDataUrl, pairingCode: _pairingCode, ...visible } = live;
    return c.json(
      {
        shard: shard.shard,
        move: shard.move,
        session: visible,
        lastReported: lastReported[0] ?? null,
        sends,
      },
      200,
    );
  }
  return c.json(
    { shard: shard.shard, move: shard.move, session: live, lastReported: lastReported[0] ?? null, sends },
    200,
  );
});

const logout = apiRoute({
  method: "post",
  path: "/api/whatsapp/logout",
  tag: "WhatsApp",
  summary: "Log the business's WhatsApp out (unlinks the device and wipes its credentials)",
  auth: { permission: "whatsapp.manage" },
  responses: { 200: jsonContent(z.strictObject({ session: sessionModel }), "The session, logged out") },
  errors: SHARD_ERRORS,
});

whatsappRoutes.openapi(logout, async (c) => {
  const businessId = businessIdOf(c);
  const shard = await businessShard(c.get("db")(), c.env, c.get("config"), businessId);
  const session = await shard.client.logout(businessId, shard.fencingToken).catch(fromShard);
  return c.json({ session }, 200);
});

/** After a ban signal paused sending: an admin resumes, and held messages go back to the queue. */
const resumeSends = apiRoute({
  method: "post",
  path: "/api/whatsapp/sends/resume",
  tag: "WhatsApp",
  summary: "Resume sending after a ban signal paused it; held messages go out",
  auth: { permission: "whatsapp.manage" },
  responses: {
    200: jsonContent(
      z.strictObject({ sends: sendStateModel, requeued: z.number().int() }),
      "The send state, and how many held messages were queued again",
    ),
  },
});

whatsappRoutes.openapi(resumeSends, async (c) => {
  const businessId = businessIdOf(c);
  const sends = await businessStub(c.env, businessId).resumeSends(businessId);
  const released = await releaseHeld(c.get("db")(), c.env, businessId);
  return c.json({ sends, requeued: released.length }, 200);
});

const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(30),
  cursor: z.string().max(200).optional(),
});

function cursorOf(at: Date | null, id: number): string {
  return encodeCursor(at?.toISOString() ?? null, id);
}

export async function conversationOf(c: Parameters<typeof businessIdOf>[0], id: number) {
  const [conversation] = await c
    .get("db")()
    .select()
    .from(waConversations)
    .where(and(eq(waConversations.id, id), eq(waConversations.businessId, businessIdOf(c))));
  if (!conversation) throw notFound("Conversation");
  return conversation;
}

const listMessages = apiRoute({
  method: "get",
  path: "/api/whatsapp/conversations/{id}/messages",
  tag: "WhatsApp",
  summary: "A conversation's messages, newest first, and (on the first page) what still waits to be sent",
  auth: { permission: "whatsapp.read" },
  request: { params: idParam, query: pageQuery },
  responses: {
    200: jsonContent(
      z.strictObject({
        messages: z.array(messageModel),
        waiting: z.array(waitingSendModel),
        nextCursor: z.string().nullable(),
      }),
      "A page of messages",
    ),
  },
  errors: ["not_found"],
});

whatsappRoutes.openapi(listMessages, async (c) => {
  const conversation = await conversationOf(c, c.req.valid("param").id);
  const { limit, cursor } = c.req.valid("query");
  const where = [eq(waMessages.conversationId, conversation.id), eq(waMessages.businessId, conversation.businessId)];
  if (cursor) {
    const [at, id] = decodeCursor(cursor);
    where.push(
      or(
        lt(waMessages.sentAt, new Date(at ?? 0)),
        and(eq(waMessages.sentAt, new Date(at ?? 0)), lt(waMessages.id, id)),
      )!,
    );
  }
  const rows = await c
    .get("db")()
    .select()
    .from(waMessages)
    .where(and(...where))
    .orderBy(desc(waMessages.sentAt), desc(waMessages.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  // The first page also lists what waits to be sent to this customer, oldest first, with why it
  // waits and when it should go (from the business's send schedule).
  const waiting = cursor ? [] : await waitingSends(c.get("db")(), c.env, conversation);
  return c.json(
    {
      messages: page.map(messageView),
      waiting,
      nextCursor: rows.length > limit && last ? cursorOf(last.sentAt, last.id) : null,
    },
    200,
  );
});

const markRead = apiRoute({
  method: "post",
  path: "/api/whatsapp/conversations/{id}/read",
  tag: "WhatsApp",
  summary: "Mark a conversation read",
  auth: { permission: "whatsapp.read" },
  request: { params: idParam },
  responses: { 204: { description: "Marked read" } },
  errors: ["not_found"],
});

whatsappRoutes.openapi(markRead, async (c) => {
  const conversation = await conversationOf(c, c.req.valid("param").id);
  await c.get("db")().update(waConversations).set({ unreadCount: 0 }).where(eq(waConversations.id, conversation.id));
  return noContent(c);
});

const replyBody = z.strictObject({
  text: z.string().trim().min(1).max(4096),
  /** The dashboard's id for this reply: sending the same request twice sends one message. */
  clientMessageId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,64}$/, "must be 8-64 letters, digits, - or _")
    .optional(),
});

const reply = apiRoute({
  method: "post",
  path: "/api/whatsapp/conversations/{id}/reply",
  tag: "WhatsApp",
  summary: "Reply in a conversation (persisted, then sent once through the throttle)",
  description: "`clientMessageId` makes a retried reply send once: the same id answers the first outbound id.",
  auth: { permission: "whatsapp.send" },
  request: { params: idParam, body: jsonBody(replyBody) },
  responses: {
    202: jsonContent(
      z.strictObject({ outboundId: id, duplicate: z.boolean() }),
      "Accepted: the message is persisted and queued",
    ),
  },
  errors: ["not_found"],
});

whatsappRoutes.openapi(reply, async (c) => {
  const conversation = await conversationOf(c, c.req.valid("param").id);
  const { text, clientMessageId } = c.req.valid("json");
  const auth = c.get("auth");
  const queued = await queueOutgoingMessage(c.get("db")(), c.env, {
    businessId: conversation.businessId,
    leadId: conversation.leadId,
    // The address the customer last wrote from (a LID-addressed contact may refuse its phone JID).
    to: conversation.replyJid ?? conversation.chatJid,
    text,
    idempotencyKey: `reply:${auth.user.id}:${clientMessageId ?? crypto.randomUUID()}`,
    origin: "reply",
    createdByUserId: auth.user.id,
  });
  return c.json({ outboundId: queued.outboundId, duplicate: !queued.created }, 202);
});

const getOutbound = apiRoute({
  method: "get",
  path: "/api/whatsapp/outbound/{id}",
  tag: "WhatsApp",
  summary: "One outgoing message and its send state",
  auth: { permission: "whatsapp.read" },
  request: { params: idParam },
  responses: { 200: jsonContent(z.strictObject({ message: outboundModel }), "The message") },
  errors: ["not_found"],
});

whatsappRoutes.openapi(getOutbound, async (c) => {
  const [row] = await c
    .get("db")()
    .select()
    .from(waOutbound)
    .where(and(eq(waOutbound.id, c.req.valid("param").id), eq(waOutbound.businessId, businessIdOf(c))));
  if (!row) throw notFound("Message");
  return c.json({ message: outboundView(row) }, 200);
});
