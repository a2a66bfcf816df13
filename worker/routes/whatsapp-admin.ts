/**
 * Moving a business's WhatsApp session to another shard (system admin, on the business it acts
 * on). Order matters — never two live sockets on one set of credentials:
 *   1. the BusinessDO records the move and a new fencing token (sends and connects now wait);
 *   2. the old shard logs the session out and confirms (its credentials are wiped there, so it
 *      cannot restore the session on a reboot);
 *   3. Postgres and the BusinessDO switch to the new shard;
 *   4. the new shard starts the session with the new token (a QR to scan: credentials do not travel).
 * If step 2 fails, the move stays recorded: call it again to retry, or abort it.
 *
 * Also the operators' view of shard events the edge quarantined.
 */
import { z } from "@hono/zod-openapi";
import { and, desc, eq, lt } from "drizzle-orm";
import { businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent } from "../contract/content";
import { timestamp } from "../contract/models/common";
import { sessionModel, shardMoveModel } from "../contract/models/whatsapp";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { businesses, shardEventQuarantine } from "../db/schema";
import { ApiError } from "../errors";
import { log } from "../lib/log";
import { MAX_ID } from "../lib/schemas";
import { audit } from "../services/audit";
import { businessStub } from "../services/settings";
import { businessAssignment, businessShard } from "../whatsapp/business-shard";
import { type QuarantineReason, quarantineReasons } from "../whatsapp/event-quarantine";
import { ShardClient, ShardError } from "../whatsapp/shard-client";
import { shardForBusiness } from "../whatsapp/shard-router";

export const whatsappAdminRoutes = createRouter();

const moveBody = z.strictObject({ shard: z.number().int().positive() });

const assignmentModel = z
  .strictObject({ shard: z.number().int(), fencingToken: z.number().int(), move: shardMoveModel })
  .openapi("ShardAssignment");

const move = apiRoute({
  method: "post",
  path: "/api/admin/whatsapp/move",
  tag: "Platform",
  summary: "Move the chosen business's WhatsApp session to another shard",
  description:
    "The old shard logs out first (never two live sessions on one set of credentials); a failed old shard leaves the move recorded: call again to retry, or abort it. The new shard starts with a new QR.",
  auth: { permission: "platform.manage" },
  request: { body: jsonBody(moveBody) },
  responses: {
    200: jsonContent(
      z.strictObject({ assignment: assignmentModel, session: sessionModel.nullable() }),
      "Moved; the session on the new shard (null if it did not start yet)",
    ),
  },
  errors: ["business_not_selected", "conflict", "upstream_failed"],
});

whatsappAdminRoutes.openapi(move, async (c) => {
  const businessId = businessIdOf(c);
  const config = c.get("config");
  const { shard: to } = c.req.valid("json");
  if (to > config.BAILEYS_NUM_SHARDS) {
    throw new ApiError("validation_failed", `Invalid body: shard`, {
      fields: [{ field: "shard", message: `must be between 1 and ${config.BAILEYS_NUM_SHARDS}` }],
    });
  }
  const db = c.get("db")();
  const current = await businessShard(db, c.env, config, businessId);
  const stub = businessStub(c.env, businessId);
  const plan = await stub.beginShardMove(businessId, current.shard, to);
  if (!plan.ok) throw new ApiError("conflict", plan.reason);
  const move = plan.assignment.move!;

  // 2. The old shard lets go first.
  const oldClient = ShardClient.forConfig(config, move.from);
  try {
    // With the move's new token: the old shard then refuses any start still carrying the old one.
    await oldClient.logout(businessId, move.fencingToken);
  } catch (err) {
    if (!(err instanceof ShardError && err.code === "session_not_found")) {
      log.warn("shard move: old shard did not confirm", { businessId, from: move.from, to, error: String(err) });
      throw new ApiError(
        "upstream_failed",
        `shard ${move.from} did not confirm the session is closed; nothing was started on shard ${to}. Retry the move or abort it.`,
        { move },
      );
    }
  }

  // 3. Switch the record, then the assignment.
  await db.transaction(async (tx) => {
    await tx.update(businesses).set({ whatsappShard: to, updatedAt: new Date() }).where(eq(businesses.id, businessId));
    await audit(c, tx, {
      businessId,
      action: "whatsapp.shard_moved",
      targetType: "business",
      targetId: businessId,
      details: { from: move.from, to },
    });
  });
  const done = await stub.completeShardMove(businessId, move.fencingToken);
  if (!done.ok) throw new ApiError("conflict", done.reason);

  // 4. Start on the new shard with the new token.
  const newClient = ShardClient.forConfig(config, to);
  const session = await newClient
    .startSession(businessId, { fencingToken: done.assignment.fencingToken })
    .catch((err: unknown) => {
      log.warn("shard move: new shard did not start the session", { businessId, to, error: String(err) });
      return null;
    });
  log.info("whatsapp session moved", { businessId, from: move.from, to });
  return c.json({ assignment: done.assignment, session }, 200);
});

const abortMove = apiRoute({
  method: "post",
  path: "/api/admin/whatsapp/move/abort",
  tag: "Platform",
  summary: "Abort a shard move that did not complete",
  auth: { permission: "platform.manage" },
  responses: {
    200: jsonContent(
      z.strictObject({ assignment: assignmentModel.nullable() }),
      "The assignment, without the move (null: the business has none yet)",
    ),
  },
  errors: ["business_not_selected"],
});

whatsappAdminRoutes.openapi(abortMove, async (c) => {
  const businessId = businessIdOf(c);
  const assignment = await businessStub(c.env, businessId).abortShardMove(businessId);
  await audit(c, c.get("db")(), {
    businessId,
    action: "whatsapp.shard_move_aborted",
    targetType: "business",
    targetId: businessId,
  });
  return c.json({ assignment }, 200);
});

const getAssignment = apiRoute({
  method: "get",
  path: "/api/admin/whatsapp/assignment",
  tag: "Platform",
  summary: "The chosen business's shard assignment, with a move still in progress",
  auth: { permission: "platform.manage" },
  responses: {
    200: jsonContent(
      z.strictObject({
        assignment: assignmentModel,
        shards: z.number().int().openapi({ description: "BAILEYS_NUM_SHARDS" }),
      }),
      "The assignment",
    ),
  },
  errors: ["business_not_selected"],
});

whatsappAdminRoutes.openapi(getAssignment, async (c) => {
  const config = c.get("config");
  const assignment = await businessAssignment(c.get("db")(), c.env, config, businessIdOf(c));
  return c.json({ assignment, shards: config.BAILEYS_NUM_SHARDS }, 200);
});

const shardHealthModel = z
  .strictObject({
    shard: z.number().int(),
    status: z.enum(["ok", "shutting_down", "unreachable"]),
    error: z.string().nullable(),
    sessions: z
      .strictObject({
        total: z.number().int(),
        max: z.number().int(),
        byState: z.record(z.string(), z.number().int()),
      })
      .nullable(),
    outbox: z
      .strictObject({ pending: z.number().int(), oldestAgeSeconds: z.number().nullable(), dead: z.number().int() })
      .nullable(),
    uptimeSeconds: z.number().nullable(),
  })
  .openapi("ShardHealth");

const listShards = apiRoute({
  method: "get",
  path: "/api/admin/shards",
  tag: "Platform",
  summary: "Every WhatsApp shard's health and session counts, and which shard each business is routed to",
  auth: { permission: "platform.manage" },
  responses: {
    200: jsonContent(
      z.strictObject({
        shards: z.array(shardHealthModel),
        businesses: z
          .array(z.strictObject({ businessId: z.number().int(), shard: z.number().int(), pinned: z.boolean() }))
          .openapi({
            description:
              "Routing from Postgres (pinned: businesses.whatsapp_shard set, else the hash); a move in progress shows on the assignment",
          }),
      }),
      "The shards",
    ),
  },
});

whatsappAdminRoutes.openapi(listShards, async (c) => {
  const config = c.get("config");
  const numbers = Array.from({ length: config.BAILEYS_NUM_SHARDS }, (_, i) => i + 1);
  const [shards, rows] = await Promise.all([
    Promise.all(
      numbers.map(async (shard) => {
        try {
          const h = await ShardClient.forConfig(config, shard).health();
          return {
            shard,
            status: h.status,
            error: null,
            sessions: { total: h.sessions.total, max: h.sessions.max, byState: h.sessions.byState },
            outbox: h.outbox,
            uptimeSeconds: h.uptimeSeconds,
          };
        } catch (err) {
          // A shard shutting down answers 503 with its health; anything else is unreachable.
          const shuttingDown = err instanceof ShardError && err.status === 503;
          return {
            shard,
            status: shuttingDown ? ("shutting_down" as const) : ("unreachable" as const),
            error: err instanceof Error ? err.message : String(err),
            sessions: null,
            outbox: null,
            uptimeSeconds: null,
          };
        }
      }),
    ),
    c
      .get("db")()
      .select({ id: businesses.id, whatsappShard: businesses.whatsappShard })
      .from(businesses)
      .orderBy(desc(businesses.id))
      .limit(500),
  ]);
  return c.json(
    {
      shards,
      businesses: rows.map((b) => ({
        businessId: b.id,
        shard: shardForBusiness(config, b.id, b.whatsappShard),
        pinned: b.whatsappShard !== null && b.whatsappShard > 0,
      })),
    },
    200,
  );
});

// ---- Quarantined shard events (worker/whatsapp/event-quarantine.ts): what the edge could not apply ----

const quarantinedEventModel = z
  .strictObject({
    id: z.number().int(),
    shardId: z.number().int(),
    businessId: z.number().int().nullable(),
    eventId: z.string().nullable(),
    eventType: z.string().nullable(),
    reason: z.enum(quarantineReasons),
    detail: z.string(),
    /** The event as the shard sent it (JSON text, cut at 200,000 characters). */
    payload: z.string(),
    occurrences: z.number().int(),
    firstSeenAt: timestamp,
    lastSeenAt: timestamp,
  })
  .openapi("QuarantinedShardEvent");

const quarantineQuery = z.strictObject({
  reason: z.enum(quarantineReasons).optional(),
  businessId: z.coerce.number().int().positive().max(MAX_ID).optional(),
  /** Keyset paging: the `nextBefore` of the previous page. */
  before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const listQuarantine = apiRoute({
  method: "get",
  path: "/api/admin/whatsapp/quarantine",
  tag: "Platform",
  summary: "Shard events the edge could not apply, newest first",
  description:
    "An authentic delivery is always acknowledged so the shard's lane moves on; an event that cannot be applied is kept here with its reason (also counted in `prosaas_shard_events_quarantined_total`).",
  auth: { permission: "platform.manage" },
  request: { query: quarantineQuery },
  responses: {
    200: jsonContent(
      z.strictObject({ events: z.array(quarantinedEventModel), nextBefore: z.number().int().nullable() }),
      "A page of quarantined events; `nextBefore` is null on the last page",
    ),
  },
});

whatsappAdminRoutes.openapi(listQuarantine, async (c) => {
  const { reason, businessId, before, limit } = c.req.valid("query");
  const q = shardEventQuarantine;
  const rows = await c
    .get("db")()
    .select()
    .from(q)
    .where(
      and(
        reason ? eq(q.reason, reason) : undefined,
        businessId ? eq(q.businessId, businessId) : undefined,
        before ? lt(q.id, before) : undefined,
      ),
    )
    .orderBy(desc(q.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return c.json(
    {
      events: page.map(({ payloadSha256: _hash, ...r }) => ({
        ...r,
        reason: r.reason as QuarantineReason,
        firstSeenAt: r.firstSeenAt.toISOString(),
        lastSeenAt: r.lastSeenAt.toISOString(),
      })),
      nextBefore: rows.length > limit ? page[page.length - 1]!.id : null,
    },
    200,
  );
});
