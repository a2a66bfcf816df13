/**
 * TEST SEAM. Exists only when SHARD_SESSION_DRIVER=fake (never with the Baileys driver): lets a
 * test or benchmark play the phone and WhatsApp's servers for a fake session — pair it, deliver
 * inbound messages and receipts, or drop the connection with a disconnect code. Still behind the
 * shard secret.
 */
import type { WAMessage } from "@whiskeysockets/baileys";
import { Hono } from "hono";
import { z } from "zod";
import { ShardError } from "../../errors.js";
import { FakeSession } from "../../sessions/fake-session.js";
import type { SessionManager } from "../../sessions/manager.js";
import { businessIdOf, readJson } from "../validate.js";

const inboundBody = z.object({
  upsertType: z.enum(["notify", "append"]).default("notify"),
  messages: z
    .array(
      z.object({
        chatJid: z.string().min(3),
        messageId: z.string().min(1),
        fromMe: z.boolean().default(false),
        participantJid: z.string().optional(),
        pushName: z.string().optional(),
        text: z.string().optional(),
        timestamp: z.number().int().nonnegative().optional(),
      }),
    )
    .min(1)
    .max(1000),
});

const statusBody = z.object({
  updates: z
    .array(
      z.object({
        chatJid: z.string().min(3),
        messageId: z.string().min(1),
        fromMe: z.boolean().default(true),
        /** Baileys' numeric status: 0 error, 1 pending, 2 server ack, 3 delivered, 4 read, 5 played. */
        status: z.number().int().min(0).max(5),
      }),
    )
    .min(1)
    .max(1000),
});

const pairBody = z.object({ phoneNumber: z.string().regex(/^\d{7,15}$/) });
const disconnectBody = z.object({ statusCode: z.number().int() });
const refuseBody = z.object({ statusCode: z.number().int(), count: z.number().int().min(0).max(1000) });

export function fakeDriverRoutes(manager: SessionManager): Hono {
  const app = new Hono();
  const fakeOf = (businessId: number): FakeSession => {
    const session = manager.get(businessId);
    if (!(session instanceof FakeSession)) {
      throw new ShardError("session_not_found", `no fake session for business ${businessId}`);
    }
    return session;
  };

  app.post("/sessions/:businessId/pair", async (c) => {
    const session = fakeOf(businessIdOf(c));
    const body = await readJson(c, pairBody);
    session.simulatePairing(body.phoneNumber);
    return c.json(session.snapshot());
  });

  app.post("/sessions/:businessId/inbound", async (c) => {
    const session = fakeOf(businessIdOf(c));
    const body = await readJson(c, inboundBody);
    const messages: WAMessage[] = body.messages.map((m) => ({
      key: {
        remoteJid: m.chatJid,
        id: m.messageId,
        fromMe: m.fromMe,
        ...(m.participantJid ? { participant: m.participantJid } : {}),
      },
      ...(m.text !== undefined ? { message: { conversation: m.text } } : {}),
      ...(m.pushName ? { pushName: m.pushName } : {}),
      messageTimestamp: m.timestamp ?? Math.floor(Date.now() / 1000),
    }));
    session.simulateInbound(messages, body.upsertType);
    return c.json({ accepted: messages.length });
  });

  app.post("/sessions/:businessId/status", async (c) => {
    const session = fakeOf(businessIdOf(c));
    const body = await readJson(c, statusBody);
    session.simulateStatus(
      body.updates.map((u) => ({
        key: { remoteJid: u.chatJid, id: u.messageId, fromMe: u.fromMe },
        update: { status: u.status },
      })),
    );
    return c.json({ accepted: body.updates.length });
  });

  app.post("/sessions/:businessId/disconnect", async (c) => {
    const session = fakeOf(businessIdOf(c));
    const body = await readJson(c, disconnectBody);
    session.simulateDisconnect(body.statusCode);
    return c.json(session.snapshot());
  });

  /** What the fake has "sent" to WhatsApp for this business, in order. */
  app.get("/sessions/:businessId/sent", (c) => c.json({ sent: fakeOf(businessIdOf(c)).sent }));

  app.post("/sessions/:businessId/refuse-sends", async (c) => {
    const session = fakeOf(businessIdOf(c));
    const body = await readJson(c, refuseBody);
    session.refuseNextSends(body.statusCode, body.count);
    return c.json({ ok: true });
  });

  return app;
}
