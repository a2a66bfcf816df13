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
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import { businesses } from "../db/schema";
import { ApiError } from "../errors";
import { log } from "../lib/log";
import { validate } from "../lib/validate";
import { businessStub } from "../services/settings";
import { businessShard } from "../whatsapp/business-shard";
import { ShardClient, ShardError } from "../whatsapp/shard-client";

export const whatsappAdminRoutes = new Hono<AppEnv>();
whatsappAdminRoutes.use("/api/admin/whatsapp/*", requireAuth, requirePermission("platform.manage"));

const moveBody = z.object({ shard: z.number().int().positive() }).strict();

whatsappAdminRoutes.post("/api/admin/whatsapp/move", validate("json", moveBody), async (c) => {
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
  await db.update(businesses).set({ whatsappShard: to, updatedAt: new Date() }).where(eq(businesses.id, businessId));
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
  return c.json({ assignment: done.assignment, session });
});

whatsappAdminRoutes.post("/api/admin/whatsapp/move/abort", async (c) => {
  const businessId = businessIdOf(c);
  const assignment = await businessStub(c.env, businessId).abortShardMove(businessId);
  return c.json({ assignment });
});
