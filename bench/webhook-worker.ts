/**
 * The Worker the webhook benchmark runs in Miniflare: the real app (worker/index.ts) plus bench-only
 * routes. Production bundles worker/index.ts, which never imports this file.
 *
 * - `POST /__bench/bare` reads the form and answers an empty TwiML document: the floor any webhook
 *   pays in this runtime (routing, body read, response), with no signature check, no Durable Object
 *   and no database.
 * - `POST /__bench/step/<step>`: one step of a webhook's work alone, to see where its time goes:
 *   `signature` (X-Twilio-Signature checked over the form), `postgres` (open a pool as a request
 *   does, one `SELECT 1`, close it), `object` (one BusinessDO call), `reserve` (an inbound call's
 *   admission and its release: BusinessDO + CallCapacityDO).
 */
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { callAdmission } from "../worker/calls/admission";
import { verifyTwilioSignature } from "../worker/calls/twilio-signature";
import { getConfig } from "../worker/config";
import { openDb } from "../worker/db/client";
import type { Env } from "../worker/env";
import worker from "../worker/index";

export { BusinessDO, CallCapacityDO, LiveHubDO, RateLimiterDO } from "../worker/index";

const bench = new Hono<{ Bindings: Env }>();
bench.post("/__bench/bare", async (c) => {
  new URLSearchParams(await c.req.text());
  return c.body('<?xml version="1.0" encoding="UTF-8"?><Response/>', 200, { "Content-Type": "text/xml" });
});
bench.post("/__bench/step/signature", async (c) => {
  const config = getConfig(c.env);
  const params = Object.fromEntries(new URLSearchParams(await c.req.text()));
  const ok = await verifyTwilioSignature({
    authToken: config.TWILIO_AUTH_TOKEN!,
    url: `https://${config.PUBLIC_HOST}/__bench/step/signature`,
    params,
    signature: c.req.header("x-twilio-signature"),
  });
  return c.text(ok ? "ok" : "bad signature", ok ? 200 : 403);
});
bench.post("/__bench/step/postgres", async (c) => {
  const { db, close } = openDb(getConfig(c.env));
  try {
    await db.execute(sql`SELECT 1`);
  } finally {
    c.executionCtx.waitUntil(close());
  }
  return c.text("ok");
});
bench.post("/__bench/step/object", async (c) => {
  await callAdmission(c.env, Number(c.req.query("businessId"))).snapshot();
  return c.text("ok");
});
bench.post("/__bench/step/reserve", async (c) => {
  const admission = callAdmission(c.env, Number(c.req.query("businessId")));
  const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
  const reserved = await admission.reserve({ kind: "inbound", source: "inbound", callSid });
  if (reserved.ok) await admission.release(callSid);
  return c.text(reserved.ok ? "ok" : "refused", reserved.ok ? 200 : 409);
});

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname.startsWith("/__bench/")) return bench.fetch(request, env, ctx);
    return worker.fetch(request, env, ctx);
  },
  queue: worker.queue,
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;
