/**
 * `GET /api/live`: the dashboard tab's WebSocket for live updates. The session cookie authorises
 * it and names the business; the upgrade is handed to that business's LiveHubDO, which holds the
 * socket (hibernation) and replays what the tab missed since `?since=<cursor>`.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import { ApiError } from "../errors";
import { liveHub } from "../live/publish";

export const liveRoutes = new Hono<AppEnv>();

liveRoutes.get("/api/live", requireAuth, requirePermission("whatsapp.read"), async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("bad_request", "Open this with a WebSocket (Upgrade: websocket)", undefined, 426);
  }
  // Browsers send cookies with cross-site WebSocket handshakes: only our own pages may open one.
  const origin = c.req.header("origin");
  const allowed = [new URL(c.req.url).origin, c.get("config").DASHBOARD_ORIGIN];
  if (!origin || !allowed.includes(origin)) {
    throw new ApiError("forbidden", "WebSocket connections are accepted from the dashboard's own origin only");
  }
  const businessId = businessIdOf(c);
  const url = new URL("https://live-hub/connect");
  const since = c.req.query("since");
  if (since) url.searchParams.set("since", since);
  return liveHub(c.env, businessId).fetch(new Request(url, { headers: c.req.raw.headers }));
});
