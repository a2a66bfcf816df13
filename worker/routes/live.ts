/**
 * `GET /api/live`: the dashboard tab's WebSocket for live updates. The session cookie authorises
 * it and names the business; the upgrade is handed to that business's LiveHubDO, which holds the
 * socket (hibernation) and replays what the tab missed since `?since=<cursor>`.
 */
import { z } from "@hono/zod-openapi";
import type { TypedResponse } from "hono";
import { businessIdOf } from "../auth/middleware";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { ApiError } from "../errors";
import { liveHub } from "../live/publish";

export const liveRoutes = createRouter();

const live = apiRoute({
  method: "get",
  path: "/api/live",
  tag: "WhatsApp",
  summary: "Live updates over a WebSocket (new messages, delivery statuses, QR and connection changes)",
  description:
    "Open with `Upgrade: websocket` from the dashboard's own origin. Each event carries a cursor; reconnect with `?since=<cursor>` to receive what was missed, in order.",
  auth: { permission: "whatsapp.read" },
  request: {
    query: z.strictObject({
      since: z.string().max(40).optional().openapi({ description: "The cursor of the last event this tab saw" }),
    }),
  },
  responses: { 101: { description: "Switching protocols: the socket is open" } },
  errors: ["upgrade_required", "forbidden"],
});

liveRoutes.openapi(live, async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("upgrade_required", "Open this with a WebSocket (Upgrade: websocket)");
  }
  // Browsers send cookies with cross-site WebSocket handshakes: only our own pages may open one.
  const origin = c.req.header("origin");
  const allowed = [new URL(c.req.url).origin, c.get("config").DASHBOARD_ORIGIN];
  if (!origin || !allowed.includes(origin)) {
    throw new ApiError("forbidden", "WebSocket connections are accepted from the dashboard's own origin only");
  }
  const businessId = businessIdOf(c);
  const url = new URL("https://live-hub/connect");
  const { since } = c.req.valid("query");
  if (since) url.searchParams.set("since", since);
  // The hub's answer is the 101 with the socket; the route typing has no type for an upgrade.
  const upgraded = await liveHub(c.env, businessId).fetch(new Request(url, { headers: c.req.raw.headers }));
  return upgraded as unknown as TypedResponse<Record<string, never>, 101, string>;
});
