import { Hono } from "hono";
import { type SendMessageResponse, sendMessageRequest } from "../../../../contracts/shard-api.js";
import type { SessionManager } from "../../sessions/manager.js";
import { businessIdOf, readJson } from "../validate.js";

export function messageRoutes(manager: SessionManager): Hono {
  const app = new Hono();
  app.post("/:businessId/messages", async (c) => {
    const businessId = businessIdOf(c);
    const body = await readJson(c, sendMessageRequest);
    const result: SendMessageResponse = await manager.send(businessId, body);
    return c.json(result, result.replayed ? 200 : 201);
  });
  return app;
}
