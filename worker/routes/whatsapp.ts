/**
 * WhatsApp for the dashboard: connect (QR), status, logout, the send pause, and the inbox
 * (conversations, messages, mark read, reply). Session calls go to the business's shard through
 * the router; replies go through the outbound pipeline (persist, throttle, send once).
 */
import { and, desc, eq, lt, or, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import { can } from "../auth/permissions";
import { waConversations, waMessages, waOutbound, waSessions } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { log } from "../lib/log";
import { idParam } from "../lib/schemas";
import { validate } from "../lib/validate";
import { releaseHeld } from "../queues/handlers/whatsapp-send";
import { businessStub } from "../services/settings";
import { businessShard } from "../whatsapp/business-shard";
import { queueOutgoingMessage, waitingSends } from "../whatsapp/outbound";
import { ShardError } from "../whatsapp/shard-client";

export const whatsappRoutes = new Hono<AppEnv>();

const QR_WAIT_POLLS = 20;
const QR_WAIT_INTERVAL_MS = 250;
whatsappRoutes.use("/api/whatsapp/*", requireAuth);

/** Shard errors as dashboard errors: the shard's code and message, a 502/503/409 status. */
function fromShard(err: unknown): never {
  if (err instanceof ShardError) {
    log.warn("shard call failed", { code: err.code, status: err.status, error: err.message });
    const status =
      err.status === 0 ? 503 : err.status === 409 || err.status === 404 ? 409 : err.status >= 500 ? 502 : 400;
    // An unreachable shard's message names its internal URL: the log keeps it, the answer does not.
    const message =
      err.code === "shard_unreachable" ? "The WhatsApp service did not answer; try again shortly" : err.message;
    throw new ApiError(`whatsapp_${err.code}`, message, err.details, status);
  }
  throw err;
}

whatsappRoutes.post("/api/whatsapp/connect", requirePermission("whatsapp.manage"), async (c) => {
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
  return c.json({ shard: shard.shard, session });
});

whatsappRoutes.get("/api/whatsapp/status", requirePermission("whatsapp.read"), async (c) => {
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
  if (!can(c.get("auth").user.role, "whatsapp.manage") && "state" in live) {
    const { qr: _qr, qrDataUrl: _qrDataUrl, pairingCode: _pairingCode, ...visible } = live;
    return c.json({
      shard: shard.shard,
      move: shard.move,
      session: visible,
      lastReported: lastReported[0] ?? null,
      sends,
    });
  }
  return c.json({ shard: shard.shard, move: shard.move, session: live, lastReported: lastReported[0] ?? null, sends });
});

whatsappRoutes.post("/api/whatsapp/logout", requirePermission("whatsapp.manage"), async (c) => {
  const businessId = businessIdOf(c);
  const shard = await businessShard(c.get("db")(), c.env, c.get("config"), businessId);
  const session = await shard.client.logout(businessId, shard.fencingToken).catch(fromShard);
  return c.json({ session });
});

/** After a ban signal paused sending: an admin resumes, and held messages go back to the queue. */
whatsappRoutes.post("/api/whatsapp/sends/resume", requirePermission("whatsapp.manage"), async (c) => {
  const businessId = businessIdOf(c);
  const sends = await businessStub(c.env, businessId).resumeSends(businessId);
  const released = await releaseHeld(c.get("db")(), c.env, businessId);
  return c.json({ sends, requeued: released.length });
});

const pageQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(100).default(30), cursor: z.string().max(200).optional() })
  .strict();

function cursorOf(at: Date | null, id: number): string {
  return encodeCursor(at?.toISOString() ?? null, id);
}

whatsappRoutes.get(
  "/api/whatsapp/conversations",
  requirePermission("whatsapp.read"),
  validate("query", pageQuery),
  async (c) => {
    const businessId = businessIdOf(c);
    const { limit, cursor } = c.req.valid("query");
    const where = [eq(waConversations.businessId, businessId)];
    if (cursor) {
      const [at, id] = decodeCursor(cursor);
      const activity = sql`coalesce(${waConversations.lastMessageAt}, 'epoch'::timestamptz)`;
      where.push(
        sql`(${activity}, ${waConversations.id}) < (coalesce(${at}::timestamptz, 'epoch'::timestamptz), ${id})`,
      );
    }
    const rows = await c
      .get("db")()
      .select()
      .from(waConversations)
      .where(and(...where))
      .orderBy(sql`${waConversations.lastMessageAt} desc nulls last`, desc(waConversations.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const [unread] = await c
      .get("db")()
      .select({ total: sql<number>`coalesce(sum(${waConversations.unreadCount}), 0)::int` })
      .from(waConversations)
      .where(eq(waConversations.businessId, businessId));
    return c.json({
      conversations: page,
      unreadTotal: unread?.total ?? 0,
      nextCursor: rows.length > limit && last ? cursorOf(last.lastMessageAt, last.id) : null,
    });
  },
);

async function conversationOf(c: Parameters<typeof businessIdOf>[0], id: number) {
  const [conversation] = await c
    .get("db")()
    .select()
    .from(waConversations)
    .where(and(eq(waConversations.id, id), eq(waConversations.businessId, businessIdOf(c))));
  if (!conversation) throw notFound("Conversation");
  return conversation;
}

whatsappRoutes.get(
  "/api/whatsapp/conversations/:id/messages",
  requirePermission("whatsapp.read"),
  validate("param", idParam),
  validate("query", pageQuery),
  async (c) => {
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
    return c.json({
      messages: page,
      waiting,
      nextCursor: rows.length > limit && last ? cursorOf(last.sentAt, last.id) : null,
    });
  },
);

whatsappRoutes.post(
  "/api/whatsapp/conversations/:id/read",
  requirePermission("whatsapp.read"),
  validate("param", idParam),
  async (c) => {
    const conversation = await conversationOf(c, c.req.valid("param").id);
    await c.get("db")().update(waConversations).set({ unreadCount: 0 }).where(eq(waConversations.id, conversation.id));
    return c.body(null, 204);
  },
);

const replyBody = z
  .object({
    text: z.string().trim().min(1).max(4096),
    /** The dashboard's id for this reply: sending the same request twice sends one message. */
    clientMessageId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{8,64}$/, "must be 8-64 letters, digits, - or _")
      .optional(),
  })
  .strict();

whatsappRoutes.post(
  "/api/whatsapp/conversations/:id/reply",
  requirePermission("whatsapp.send"),
  validate("param", idParam),
  validate("json", replyBody),
  async (c) => {
    const conversation = await conversationOf(c, c.req.valid("param").id);
    const { text, clientMessageId } = c.req.valid("json");
    const auth = c.get("auth");
    const queued = await queueOutgoingMessage(c.get("db")(), c.env, {
      businessId: conversation.businessId,
      leadId: conversation.leadId,
      to: conversation.chatJid,
      text,
      idempotencyKey: `reply:${auth.user.id}:${clientMessageId ?? crypto.randomUUID()}`,
      origin: "reply",
      createdByUserId: auth.user.id,
    });
    return c.json({ outboundId: queued.outboundId, duplicate: !queued.created }, 202);
  },
);

whatsappRoutes.get(
  "/api/whatsapp/outbound/:id",
  requirePermission("whatsapp.read"),
  validate("param", idParam),
  async (c) => {
    const [row] = await c
      .get("db")()
      .select()
      .from(waOutbound)
      .where(and(eq(waOutbound.id, c.req.valid("param").id), eq(waOutbound.businessId, businessIdOf(c))));
    if (!row) throw notFound("Message");
    return c.json({ message: row });
  },
);
