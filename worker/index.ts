/**
 * The Worker entry: HTTP (dashboard API, Twilio webhooks, shard events), Queue consumers and Cron
 * triggers, plus the Durable Object classes it binds.
 */
import { app } from "./app";
import type { Env } from "./env";
import { handleQueueBatch } from "./queues/consumer";
import { handleScheduled } from "./scheduled";

export { BusinessDO } from "../durable-objects/business-do";
export { CallCapacityDO } from "../durable-objects/call-capacity-do";
export { LiveHubDO } from "../durable-objects/live-hub-do";
export { RateLimiterDO } from "../durable-objects/rate-limiter-do";

export default {
  fetch: app.fetch,
  queue: handleQueueBatch,
  scheduled: (controller, env, ctx) => ctx.waitUntil(handleScheduled(controller, env)),
} satisfies ExportedHandler<Env>;
