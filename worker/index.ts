/**
 * The Worker entry: HTTP (dashboard API, Twilio webhooks, shard events), Queue consumers and Cron
 * triggers, plus the Durable Object classes it binds.
 */
import { app } from "./app";
import type { Env } from "./env";
import { handleQueueBatch } from "./queues/consumer";
import { handleScheduled } from "./scheduled";

export { BusinessDO, CallCapacityDO, LiveHubDO, RateLimiterDO } from "./durable-objects";

export default {
  fetch: app.fetch,
  queue: handleQueueBatch,
  scheduled: (controller, env, ctx) => ctx.waitUntil(handleScheduled(controller, env)),
} satisfies ExportedHandler<Env>;
