/**
 * Broadcasts: one template to an audience of leads (worker/services/broadcasts.ts has the rules).
 * Reading is for every role; creating, pausing, resuming and cancelling for admins and up.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import type { Database } from "../db/client";
import type { Env } from "../env";
import { idParam } from "../lib/schemas";
import { validate } from "../lib/validate";
import {
  cancelBroadcast,
  createBroadcast,
  createBroadcastSchema,
  getBroadcast,
  listBroadcasts,
  listBroadcastsQuery,
  pauseBroadcast,
  resumeBroadcast,
} from "../services/broadcasts";

export const broadcastRoutes = new Hono<AppEnv>();
broadcastRoutes.use("/api/broadcasts", requireAuth);
broadcastRoutes.use("/api/broadcasts/*", requireAuth);

broadcastRoutes.get(
  "/api/broadcasts",
  requirePermission("broadcasts.read"),
  validate("query", listBroadcastsQuery),
  async (c) => c.json(await listBroadcasts(c.get("db")(), c.env, businessIdOf(c), c.req.valid("query"))),
);

broadcastRoutes.post(
  "/api/broadcasts",
  requirePermission("broadcasts.manage"),
  validate("json", createBroadcastSchema),
  async (c) => {
    const db = c.get("db")();
    const businessId = businessIdOf(c);
    const broadcast = await createBroadcast(db, c.env, businessId, c.get("auth").user.id, c.req.valid("json"));
    return c.json(await getBroadcast(db, c.env, businessId, broadcast.id), 201);
  },
);

broadcastRoutes.get(
  "/api/broadcasts/:id",
  requirePermission("broadcasts.read"),
  validate("param", idParam),
  async (c) => c.json(await getBroadcast(c.get("db")(), c.env, businessIdOf(c), c.req.valid("param").id)),
);

/** pause / resume / cancel: each changes the broadcast, then answers with its fresh progress. */
const transitions = {
  pause: (db, env, businessId, id) => pauseBroadcast(db, env, businessId, id),
  resume: (db, env, businessId, id) => resumeBroadcast(db, env, businessId, id),
  cancel: (db, env, businessId, id) => cancelBroadcast(db, env, businessId, id),
} satisfies Record<string, (db: Database, env: Env, businessId: number, id: number) => Promise<unknown>>;

for (const [action, apply] of Object.entries(transitions)) {
  broadcastRoutes.post(
    `/api/broadcasts/:id/${action}`,
    requirePermission("broadcasts.manage"),
    validate("param", idParam),
    async (c) => {
      const db = c.get("db")();
      const businessId = businessIdOf(c);
      const { id } = c.req.valid("param");
      await apply(db, c.env, businessId, id);
      return c.json(await getBroadcast(db, c.env, businessId, id));
    },
  );
}
