/**
 * `POST /internal/shards/events`: where shard nodes deliver what happened on WhatsApp. The body is
 * verified (HMAC over timestamp + body, timestamp within SHARD_EVENT_MAX_SKEW_SECONDS), validated,
 * and stored — each event once, by its id — before the 2xx that lets the shard drop it from its
 * outbox. Anything else (401, 400, 5xx) makes the shard retry, so nothing is lost.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { shardEventDelivery } from "../../contracts/shard-events";
import {
  SHARD_ID_HEADER,
  SHARD_SIGNATURE_HEADER,
  SHARD_TIMESTAMP_HEADER,
  verifyShardPayload,
} from "../../contracts/shard-signing";
import type { AppEnv } from "../app-env";
import { enforceRateLimit } from "../auth/rate-limits";
import { ApiError, validationError } from "../errors";
import { log } from "../lib/log";
import { publishShardEvents } from "../live/publish";
import { shardEventMetrics } from "../metrics/whatsapp";
import { businessStub } from "../services/settings";
import { connectionBanReason } from "../whatsapp/ban-signals";
import { ingestShardEvents } from "../whatsapp/ingest";

export const shardEventRoutes = new Hono<AppEnv>();
// Enforced while reading, so a chunked body without Content-Length cannot make us buffer more.
shardEventRoutes.use(
  "/internal/shards/events",
  bodyLimit({
    maxSize: 5 * 1024 * 1024,
    onError: () => {
      throw new ApiError("payload_too_large", "delivery larger than 5 MB");
    },
  }),
);

shardEventRoutes.post("/internal/shards/events", async (c) => {
  const config = c.get("config");
  if (!config.SHARD_SECRET) throw new ApiError("service_unavailable", "SHARD_SECRET is not configured");
  const body = await c.req.text();
  const check = await verifyShardPayload({
    secret: config.SHARD_SECRET,
    timestampHeader: c.req.header(SHARD_TIMESTAMP_HEADER),
    signatureHeader: c.req.header(SHARD_SIGNATURE_HEADER),
    body,
    nowSeconds: Math.floor(Date.now() / 1000),
    maxSkewSeconds: config.SHARD_EVENT_MAX_SKEW_SECONDS,
  });
  if (!check.ok) {
    shardEventMetrics.rejected.inc({ reason: check.reason });
    throw new ApiError("unauthorized", `shard event signature refused: ${check.reason}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ApiError("bad_request", "body is not JSON");
  }
  const parsed = shardEventDelivery.safeParse(json);
  if (!parsed.success) {
    shardEventMetrics.rejected.inc({ reason: "invalid" });
    throw validationError(parsed.error);
  }
  const shardId = Number(c.req.header(SHARD_ID_HEADER));
  const foreign = parsed.data.events.find((e) => e.shardId !== shardId);
  if (foreign)
    throw new ApiError(
      "validation_failed",
      `event ${foreign.id} names shard ${foreign.shardId}, but shard ${shardId} sent it`,
    );

  // The webhook preset, per business: a shard flooding events for one business gets a 429 and
  // retries later (its outbox keeps everything), without starving the others.
  const perBusiness = new Map<number, number>();
  for (const e of parsed.data.events) perBusiness.set(e.businessId, (perBusiness.get(e.businessId) ?? 0) + 1);
  for (const [businessId, count] of perBusiness)
    await enforceRateLimit(c.env, "webhook", `business:${businessId}`, count);

  const result = await ingestShardEvents(c.get("db")(), parsed.data.events);
  for (const signal of result.banSignals) {
    const reason = connectionBanReason(signal.state, signal.statusCode);
    if (reason) {
      await businessStub(c.env, signal.businessId).pauseSends(signal.businessId, reason);
      log.warn("whatsapp sends paused by a connection event", { businessId: signal.businessId, reason });
    }
  }
  await publishShardEvents(c.env, parsed.data.events);
  shardEventMetrics.stored.inc(result.stored);
  shardEventMetrics.duplicates.inc(result.duplicates);
  return c.json({ stored: result.stored, duplicates: result.duplicates, ignored: result.ignored });
});
