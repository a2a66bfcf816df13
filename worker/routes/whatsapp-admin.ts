/**
 * Moving a business's WhatsApp session to another shard (system admin, on the business it acts
 * on). Order matters — never two live sockets on one set of credentials:
 *   1. the BusinessDO records the move and a new fencing token (sends and connects now wait);
 *   2. the old shard logs the session out and confirms (its credentials are wiped there, so it
 *      cannot restore the session on a reboot);
 *   3. Postgres and the BusinessDO switch to the new shard;
 *   4. the new shard starts the session with the new token (a QR to scan: credentials do not travel).
 * If step 2 fails, the move stays recorded: call it again to retry, or abort it.
 */
import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent } from "../contract/content";
import { sessionModel, shardMoveModel } from "../contract/models/whatsapp";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { businesses } from "../db/schema";
import { ApiError } from "../errors";
import { log } from "../lib/log";
import { audit } from "../services/audit";
import { businessStub } from "../services/settings";
import { businessShard } from "../whatsapp/business-shard";
import { ShardClient, ShardError } from "../whatsapp/shard-client";

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
