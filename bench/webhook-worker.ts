/**
 * The Worker the webhook benchmark runs in Miniflare: the real app (worker/index.ts) plus one bare
 * Hono route, `POST /__bench/bare`, that reads the form and answers an empty TwiML document — the
 * floor any webhook pays in this runtime (routing, body read, response), with no signature check,
 * no Durable Object and no database. Bench-only: production bundles worker/index.ts, which never
 * imports this file.
 */
import { Hono } from "hono";
import type { Env } from "../worker/env";
import worker from "../worker/index";

export { BusinessDO, CallCapacityDO, LiveHubDO, RateLimiterDO } from "../worker/index";

const bare = new Hono<{ Bindings: Env }>();
bare.post("/__bench/bare", async (c) => {
  new URLSearchParams(await c.req.text());
  return c.body('<?xml version="1.0" encoding="UTF-8"?><Response/>', 200, { "Content-Type": "text/xml" });
});

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__bench/bare") return bare.fetch(request, env, ctx);
    return worker.fetch(request, env, ctx);
  },
  queue: worker.queue,
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;
