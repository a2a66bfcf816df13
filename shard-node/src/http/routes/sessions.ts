import { Hono } from "hono";
import QRCode from "qrcode";
import {
  logoutSessionRequest,
  type SessionInfo,
  startSessionRequest,
  stopSessionRequest,
} from "../../../../contracts/shard-api.js";
import { ShardError } from "../../errors.js";
import type { SessionManager, SessionView } from "../../sessions/manager.js";
import { businessIdOf, readJson } from "../validate.js";

/** The API shape of a session: the QR also as a PNG data URL, ready for an <img>. */
export async function toSessionInfo(shardId: number, view: SessionView): Promise<SessionInfo> {
  const info: SessionInfo = { ...view, shardId };
  if (view.qr) info.qrDataUrl = await QRCode.toDataURL(view.qr, { errorCorrectionLevel: "L", margin: 2 });
  return info;
}

export function sessionRoutes(shardId: number, manager: SessionManager): Hono {
  const app = new Hono();

  app.get("/", async (c) => {
    // The list leaves out QR images (large); GET one session to get its QR.
    const sessions = manager.list().map((v) => {
      const { qr: _qr, ...rest } = v;
      return { ...rest, shardId };
    });
    return c.json({ sessions });
  });

  app.post("/:businessId/start", async (c) => {
    const businessId = businessIdOf(c);
    const body = await readJson(c, startSessionRequest);
    const view = await manager.start(businessId, body);
    return c.json(await toSessionInfo(shardId, view));
  });

  app.get("/:businessId", async (c) => {
    const businessId = businessIdOf(c);
    const view = manager.view(businessId);
    if (!view) throw new ShardError("session_not_found", `no session for business ${businessId} on this shard`);
    return c.json(await toSessionInfo(shardId, view));
  });

  app.post("/:businessId/stop", async (c) => {
    const businessId = businessIdOf(c);
    const body = await readJson(c, stopSessionRequest);
    return c.json(await toSessionInfo(shardId, await manager.stop(businessId, body.fencingToken)));
  });

  app.post("/:businessId/logout", async (c) => {
    const businessId = businessIdOf(c);
    const body = await readJson(c, logoutSessionRequest);
    return c.json(await toSessionInfo(shardId, await manager.logout(businessId, body.fencingToken)));
  });

  return app;
}
