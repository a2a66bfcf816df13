/**
 * TEST SEAM. Exists only when SHARD_SESSION_DRIVER=fake (never with the Baileys driver): lets a
 * test or benchmark play the phone and WhatsApp's servers for a fake session — pair it, deliver
 * inbound messages and receipts, or drop the connection with a disconnect code. Still behind the
 * shard secret.
 */
import type { WAMessage } from "@whiskeysockets/baileys";
import { Hono } from "hono";
import { z } from "zod";
import { mediaKinds } from "../../../../contracts/shard-api.js";
import { ShardError } from "../../errors.js";
import { FakeSession } from "../../sessions/fake-session.js";
import type { SessionManager } from "../../sessions/manager.js";
import type { Outbox } from "../../store/outbox.js";
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
        /**
         * An image with this `fileLength`, as WhatsApp sends it: a number, or a decimal string for
         * values past 2^53 (Baileys hands those over as a Long). `text` is then the caption.
         */
        imageFileLength: z.union([z.number(), z.string().regex(/^\d{1,30}$/)]).optional(),
        timestamp: z.number().optional(),
        /** The chat's other address (Baileys' `remoteJidAlt`): the phone JID of a LID chat, or the reverse. */
        chatJidAlt: z.string().min(3).optional(),
        participantJidAlt: z.string().min(3).optional(),
        /**
         * A media message: the file goes on the fake WhatsApp CDN, and the message carries what a
         * phone's does (URL, media key, hashes). `text` is the caption. `expired`: WhatsApp no
         * longer has it; `failTimes`: that many downloads fail first.
         */
        media: z
          .object({
            kind: z.enum(mediaKinds),
            mimetype: z.string().min(3),
            dataBase64: z.string().max(14_000_000),
            fileName: z.string().optional(),
            voiceNote: z.boolean().optional(),
            seconds: z.number().int().nonnegative().optional(),
            expired: z.boolean().optional(),
            failTimes: z.number().int().min(0).max(100).optional(),
          })
          .optional(),
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

/**
 * Baileys gives 64-bit protobuf fields as Long objects; all the shard reads of one is toString(),
 * so a stand-in with that method is enough (and spares a direct dependency on `long`).
 */
const longOf = (value: number | string): number =>
  typeof value === "number" ? value : ({ toString: () => value } as unknown as number);

/** Already-serialised events stored as they are: what an older or buggy shard build could leave. */
const rawEventsBody = z.object({
  events: z
    .array(z.object({ eventId: z.string().min(1), payload: z.string().min(1) }))
    .min(1)
    .max(100),
});

const lidMappingBody = z.object({
  mappings: z
    .array(z.object({ lid: z.string().min(3), pn: z.string().min(3) }))
    .min(1)
    .max(1000),
});

const pairBody = z.object({ phoneNumber: z.string().regex(/^\d{7,15}$/) });
const disconnectBody = z.object({ statusCode: z.number().int() });
const refuseBody = z.object({ statusCode: z.number().int(), count: z.number().int().min(0).max(1000) });

export function fakeDriverRoutes(manager: SessionManager, outbox: Outbox): Hono {
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
        ...(m.chatJidAlt ? { remoteJidAlt: m.chatJidAlt } : {}),
        ...(m.participantJidAlt ? { participantAlt: m.participantJidAlt } : {}),
      },
      ...(m.media
        ? {
            message: session.mediaMessage({
              ...m.media,
              bytes: Buffer.from(m.media.dataBase64, "base64"),
              ...(m.text !== undefined ? { caption: m.text } : {}),
            }),
          }
        : m.imageFileLength !== undefined
          ? {
              message: {
                imageMessage: { mimetype: "image/jpeg", caption: m.text, fileLength: longOf(m.imageFileLength) },
              },
            }
          : m.text !== undefined
            ? { message: { conversation: m.text } }
            : {}),
      ...(m.pushName ? { pushName: m.pushName } : {}),
      messageTimestamp: m.timestamp ?? Math.floor(Date.now() / 1000),
    }));
    await session.simulateInbound(messages, body.upsertType);
    return c.json({ accepted: messages.length });
  });

  /** WhatsApp's `lid-mapping.update`: this LID is this phone number. */
  app.post("/sessions/:businessId/lid-mapping", async (c) => {
    const session = fakeOf(businessIdOf(c));
    const body = await readJson(c, lidMappingBody);
    session.simulateLidMapping(body.mappings);
    return c.json({ accepted: body.mappings.length });
  });

  /** The socket goes quiet (no traffic, pings unanswered) while the session still says open. */
  app.post("/sessions/:businessId/silence", (c) => {
    const session = fakeOf(businessIdOf(c));
    session.simulateSilence();
    return c.json(session.snapshot());
  });

  /** The bytes the customer's phone received for a media message the business sent. */
  app.get("/sessions/:businessId/sent/:messageId/media", (c) => {
    const bytes = fakeOf(businessIdOf(c)).sentMedia.get(c.req.param("messageId"));
    if (!bytes) throw new ShardError("not_found", "no media was sent with this message id");
    return c.body(new Uint8Array(bytes), 200, { "content-type": "application/octet-stream" });
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

  app.post("/sessions/:businessId/raw-events", async (c) => {
    const businessId = businessIdOf(c);
    const body = await readJson(c, rawEventsBody);
    let appended = 0;
    for (const e of body.events) appended += outbox.appendRaw(businessId, e.eventId, e.payload);
    return c.json({ appended });
  });

  /** The dead lane of one business (parked events), oldest first. */
  app.get("/sessions/:businessId/dead", (c) => c.json({ dead: outbox.dead(businessIdOf(c)) }));

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
