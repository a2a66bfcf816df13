/**
 * Broadcasts: one template to an audience of leads (worker/services/broadcasts.ts has the rules).
 * Reading is for every role; creating, pausing, resuming and cancelling for admins and up.
 */
import { z } from "@hono/zod-openapi";
import { businessIdOf } from "../auth/middleware";
import { jsonBody, jsonContent } from "../contract/content";
import { broadcastListItemModel, broadcastWithProgressModel } from "../contract/models/broadcast";
import { id } from "../contract/models/common";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import type { Database } from "../db/client";
import type { Env } from "../env";
import { idParam } from "../lib/schemas";
import { publishLive } from "../live/publish";
import {
  cancelBroadcast,
  createBroadcast,
  createBroadcastSchema,
  getBroadcast,
  listBroadcasts,
  listBroadcastsQuery,
  pauseBroadcast,
  previewBroadcast,
  previewBroadcastSchema,
  resumeBroadcast,
} from "../services/broadcasts";

export const broadcastRoutes = createRouter();

const listBroadcastsRoute = apiRoute({
  method: "get",
  path: "/api/broadcasts",
  tag: "Broadcasts",
  summary: "List broadcasts with their progress, newest first",
  auth: { permission: "broadcasts.read" },
  request: { query: listBroadcastsQuery },
  responses: {
    200: jsonContent(
      z.strictObject({
        broadcasts: z.array(broadcastListItemModel),
        nextCursor: id.nullable().openapi({ description: "Pass as `cursor` for the next page" }),
      }),
      "A page of broadcasts",
    ),
  },
});

broadcastRoutes.openapi(listBroadcastsRoute, async (c) =>
  c.json(await listBroadcasts(c.get("db")(), c.env, businessIdOf(c), c.req.valid("query")), 200),
);

const createBroadcastRoute = apiRoute({
  method: "post",
  path: "/api/broadcasts",
  tag: "Broadcasts",
  summary: "Send one template to an audience of leads",
  auth: { permission: "broadcasts.manage" },
  request: { body: jsonBody(createBroadcastSchema) },
  responses: { 201: jsonContent(broadcastWithProgressModel, "The new broadcast") },
});

broadcastRoutes.openapi(createBroadcastRoute, async (c) => {
  const db = c.get("db")();
  const businessId = businessIdOf(c);
  const broadcast = await createBroadcast(db, c.env, businessId, c.get("auth").user.id, c.req.valid("json"));
  await publishLive(c.env, businessId, { type: "broadcast", broadcastId: broadcast.id });
  return c.json(await getBroadcast(db, c.env, businessId, broadcast.id), 201);
});

const previewBroadcastRoute = apiRoute({
  method: "post",
  path: "/api/broadcasts/preview",
  tag: "Broadcasts",
  summary: "Before sending: the audience count and the template rendered for a real lead (writes nothing)",
  auth: { permission: "broadcasts.manage" },
  request: { body: jsonBody(previewBroadcastSchema) },
  responses: {
    200: jsonContent(
      z.strictObject({
        recipients: z
          .number()
          .int()
          .openapi({ description: "Leads of the audience with a phone: each gets one message" }),
        skipped: z.number().int().openapi({ description: "Leads of the audience without a phone" }),
        sample: z
          .strictObject({
            leadId: id,
            firstName: z.string().nullable(),
            lastName: z.string().nullable(),
            text: z.string(),
          })
          .nullable()
          .openapi({ description: "The message as this lead would get it; null when no lead has a phone" }),
      }),
      "What the broadcast would send",
    ),
  },
});

broadcastRoutes.openapi(previewBroadcastRoute, async (c) =>
  c.json(await previewBroadcast(c.get("db")(), businessIdOf(c), c.req.valid("json")), 200),
);

const getBroadcastRoute = apiRoute({
  method: "get",
  path: "/api/broadcasts/{id}",
  tag: "Broadcasts",
  summary: "A broadcast and its progress",
  auth: { permission: "broadcasts.read" },
  request: { params: idParam },
  responses: { 200: jsonContent(broadcastWithProgressModel, "The broadcast") },
  errors: ["not_found"],
});

broadcastRoutes.openapi(getBroadcastRoute, async (c) =>
  c.json(await getBroadcast(c.get("db")(), c.env, businessIdOf(c), c.req.valid("param").id), 200),
);

/** pause / resume / cancel: each changes the broadcast, then answers with its fresh progress. */
const transitions = {
  pause: {
    summary: "Pause a broadcast: its messages not yet sent are held",
    apply: (db, env, businessId, id) => pauseBroadcast(db, env, businessId, id),
  },
  resume: {
    summary: "Resume a paused broadcast: held messages are sent",
    apply: (db, env, businessId, id) => resumeBroadcast(db, env, businessId, id),
  },
  cancel: {
    summary: "Cancel a broadcast: its messages not yet sent are cancelled",
    apply: (db, env, businessId, id) => cancelBroadcast(db, env, businessId, id),
  },
} satisfies Record<
  string,
  { summary: string; apply: (db: Database, env: Env, businessId: number, id: number) => Promise<unknown> }
>;

for (const [action, { summary, apply }] of Object.entries(transitions)) {
  const route = apiRoute({
    method: "post",
    path: `/api/broadcasts/{id}/${action}`,
    tag: "Broadcasts",
    summary,
    auth: { permission: "broadcasts.manage" },
    request: { params: idParam },
    responses: { 200: jsonContent(broadcastWithProgressModel, "The broadcast with its fresh progress") },
    errors: ["not_found", "conflict"],
  });
  broadcastRoutes.openapi(route, async (c) => {
    const db = c.get("db")();
    const businessId = businessIdOf(c);
    const { id } = c.req.valid("param");
    await apply(db, c.env, businessId, id);
    await publishLive(c.env, businessId, { type: "broadcast", broadcastId: id });
    return c.json(await getBroadcast(db, c.env, businessId, id), 200);
  });
}
