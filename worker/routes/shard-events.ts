/**
 * `POST /internal/shards/events`: where shard nodes deliver what happened on WhatsApp.
 *
 * The delivery is authenticated with the sending shard's own key (HMAC over timestamp, shard id
 * and body; timestamp within SHARD_EVENT_MAX_SKEW_SECONDS): anything else is 401 and nothing is
 * read. An authentic delivery is then always acknowledged (2xx) once each event in it is either
 * stored (once, by its id) or quarantined with its reason (worker/whatsapp/ingest.ts), so one bad
 * event never holds back the events behind it. Only a body that is not a delivery at all (not JSON,
 * no `events` array) is refused with 400; a database outage is a 5xx, and the shard retries both.
 */
import { z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { shardEventDelivery } from "../../contracts/shard-events";
import {
  parseShardIdHeader,
  SHARD_ID_HEADER,
  SHARD_SIGNATURE_HEADER,
  SHARD_TIMESTAMP_HEADER,
  verifyShardPayload,
} from "../../contracts/shard-signing";
import { enforceRateLimit } from "../auth/rate-limits";
import { jsonContent } from "../contract/content";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { signedBody } from "../contract/signed-body";
import { ApiError, validationError } from "../errors";
import { log } from "../lib/log";
import { publishLive, publishShardEvents } from "../live/publish";
import { shardEventMetrics } from "../metrics/whatsapp";
import { enqueueBatch } from "../queues/producer";
import { businessStub } from "../services/settings";
import { kickDeliveries } from "../webhooks/outbox";
import { connectionBanReason } from "../whatsapp/ban-signals";
import { businessAssignment } from "../whatsapp/business-shard";
import { ingestShardEvents } from "../whatsapp/ingest";
import { shardSecret } from "../whatsapp/shard-router";

export const shardEventRoutes = createRouter();

const count = z.number().int().min(0);

const deliverEvents = apiRoute({
  method: "post",
  path: "/internal/shards/events",
  tag: "Shard events",
  summary: "A shard node delivers what happened on WhatsApp",
  description:
    "Signed with HMAC-SHA256 over timestamp + body (headers X-Shard-Id, X-Shard-Timestamp, X-Shard-Signature; the timestamp within SHARD_EVENT_MAX_SKEW_SECONDS). Each event is stored once, by its id, before the 2xx that lets the shard drop it from its outbox; any other answer makes the shard retry.",
  auth: "shard",
  request: {
    body: signedBody(
      shardEventDelivery,
      "application/json",
      "The events, read only once the signature checks out (contracts/shard-events.ts).",
    ),
  },
  responses: {
    200: jsonContent(
      z.strictObject({
        stored: count,
        duplicates: count.openapi({ description: "Events stored before (a redelivery), acknowledged again" }),
        ignored: count.openapi({
          description: "Events for a business that does not exist (any more): acknowledged, not stored",
        }),
        quarantined: count.openapi({
          description:
            "Events that could not be applied (invalid, from a shard without the assignment, refused by Postgres): kept aside with their reason, acknowledged",
        }),
      }),
      "Every event is stored, was already, or was quarantined: the shard drops them all from its outbox",
    ),
  },
  errors: ["rate_limited"],
  // Enforced while reading, so a chunked body without Content-Length cannot make us buffer more.
  middleware: [
    bodyLimit({
      maxSize: 5 * 1024 * 1024,
      onError: () => {
        throw new ApiError("payload_too_large", "delivery larger than 5 MB");
      },
    }),
  ],
});

shardEventRoutes.openapi(deliverEvents, async (c) => {
  const config = c.get("config");
  if (!config.SHARD_SECRET && config.shardSecretOverrides.size === 0)
    throw new ApiError("service_unavailable", "no shard keys are configured (SHARD_SECRET or SHARD_{N}_SECRET)");
  const shardId = parseShardIdHeader(c.req.header(SHARD_ID_HEADER));
  const secret = shardId === null ? undefined : await shardSecret(config, shardId);
  if (shardId === null || !secret) {
    shardEventMetrics.rejected.inc({ reason: "unknown_shard" });
    throw new ApiError("unauthorized", "shard event refused: unknown or missing shard id");
  }
  const body = await c.req.text();
  const check = await verifyShardPayload({
    secret,
    shardId,
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
    shardEventMetrics.rejected.inc({ reason: "invalid" });
    throw new ApiError("bad_request", "body is not JSON");
  }
  const parsed = shardEventDelivery.safeParse(json);
  if (!parsed.success) {
    shardEventMetrics.rejected.inc({ reason: "invalid" });
    throw validationError(parsed.error);
  }

  // The webhook preset, per business: a shard flooding events for one business gets a 429 and
  // retries later (its outbox keeps everything), without starving the others.
  const perBusiness = new Map<number, number>();
  for (const e of parsed.data.events) {
    const businessId = (e as { businessId?: unknown } | null)?.businessId;
    if (typeof businessId === "number" && Number.isSafeInteger(businessId))
      perBusiness.set(businessId, (perBusiness.get(businessId) ?? 0) + 1);
  }
  for (const [businessId, count] of perBusiness)
    await enforceRateLimit(c.env, "webhook", `business:${businessId}`, count);

  const db = c.get("db")();
  const result = await ingestShardEvents(db, {
    shardId,
    events: parsed.data.events,
    assignment: (businessId) => businessAssignment(db, c.env, config, businessId),
  });
  for (const signal of result.banSignals) {
    const reason = connectionBanReason(signal.state, signal.statusCode);
    if (reason) {
      await businessStub(c.env, signal.businessId).pauseSends(signal.businessId, reason);
      log.warn("whatsapp sends paused by a connection event", { businessId: signal.businessId, reason });
    }
  }
  // Stored first, then queued: a lost enqueue leaves the row pending for the media sweep.
  if (result.mediaDownloads.length > 0)
    await enqueueBatch(
      c.env,
      "whatsapp.media_download",
      result.mediaDownloads.map((messageId) => ({ type: "whatsapp.media_download" as const, messageId })),
    );
  await publishShardEvents(c.env, result.applied);
  for (const { businessId, conversationId } of result.reopened)
    await publishLive(c.env, businessId, { type: "conversation", conversationId, change: "status" });
  await kickDeliveries(c.env, result.webhookSubscriptions);
  shardEventMetrics.stored.inc(result.stored);
  shardEventMetrics.duplicates.inc(result.duplicates);
  return c.json(
    { stored: result.stored, duplicates: result.duplicates, ignored: result.ignored, quarantined: result.quarantined },
    200,
  );
});
