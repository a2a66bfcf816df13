import { env } from "cloudflare:workers";
import type { ShardEvent } from "../../contracts/shard-events";
import { messageEventId, statusEventId } from "../../contracts/shard-events";
import {
  deriveShardSecret,
  SHARD_ID_HEADER,
  SHARD_SIGNATURE_HEADER,
  SHARD_TIMESTAMP_HEADER,
  signShardPayload,
} from "../../contracts/shard-signing";
import { getConfig } from "../../worker/config";
import { businessStub } from "../../worker/services/settings";
import { shardForBusiness } from "../../worker/whatsapp/shard-router";
import { call } from "./helpers";

/** Shard N's own key, derived from the master SHARD_SECRET the way the edge does. */
export function shardKey(shardId: number): Promise<string> {
  return deriveShardSecret(env.SHARD_SECRET, shardId);
}

/** The shard that holds a business's assignment (seeded like the edge does on first use). */
export async function assignedShardOf(businessId: number): Promise<number> {
  const routed = shardForBusiness(getConfig(env), businessId, null);
  const assignment = await businessStub(env, businessId).shardAssignment(businessId, routed);
  return assignment!.shard;
}

/**
 * Delivers events to the edge exactly as a shard does: signed with the shard's own key over
 * timestamp, shard id and body. By default the sender is the shard holding the first event's
 * business, and each event names it (as a real shard's events do); `keepEventShard` sends the
 * events as given.
 */
export async function deliver(
  events: ShardEvent[] | unknown[],
  opts: {
    shardId?: number;
    timestamp?: number;
    secret?: string;
    tamper?: (body: string) => string;
    keepEventShard?: boolean;
  } = {},
): Promise<Response> {
  const first = events[0] as { businessId?: unknown } | undefined;
  const shardId = opts.shardId ?? (typeof first?.businessId === "number" ? await assignedShardOf(first.businessId) : 1);
  const sent = opts.keepEventShard
    ? events
    : events.map((e) => (e && typeof e === "object" ? { ...(e as object), shardId } : e));
  const body = JSON.stringify({ events: sent });
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = await signShardPayload(opts.secret ?? (await shardKey(shardId)), { shardId, timestamp, body });
  return call("/internal/shards/events", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      [SHARD_ID_HEADER]: String(shardId),
      [SHARD_TIMESTAMP_HEADER]: String(timestamp),
      [SHARD_SIGNATURE_HEADER]: signature,
    },
    body: opts.tamper ? opts.tamper(body) : body,
  });
}

export function inboundMessage(
  businessId: number,
  fields: {
    chatJid: string;
    messageId?: string;
    text?: string;
    fromMe?: boolean;
    pushName?: string;
    at?: number;
    upsertType?: "notify" | "append";
  },
): ShardEvent {
  const key = {
    chatJid: fields.chatJid,
    messageId: fields.messageId ?? crypto.randomUUID().replaceAll("-", "").toUpperCase(),
    fromMe: fields.fromMe ?? false,
  };
  return {
    id: messageEventId(businessId, key),
    businessId,
    shardId: 1,
    occurredAt: new Date().toISOString(),
    type: "message.upsert",
    upsertType: fields.upsertType ?? "notify",
    key,
    pushName: fields.pushName,
    messageTimestamp: fields.at ?? Math.floor(Date.now() / 1000),
    kind: "text",
    text: fields.text ?? "hello",
  };
}

export function statusUpdate(
  businessId: number,
  key: { chatJid: string; messageId: string; fromMe: boolean },
  status: "sent" | "delivered" | "read" | "failed",
): ShardEvent {
  return {
    id: statusEventId(businessId, key, status),
    businessId,
    shardId: 1,
    occurredAt: new Date().toISOString(),
    type: "message.status",
    key,
    status,
  };
}

/** The shard node serving shard `n` in the tests, spoken to over its HTTP API (with the fake driver's seam). */
export function shardNode(n: 1 | 2) {
  const base = n === 1 ? env.BAILEYS_SHARD_1_URL : env.BAILEYS_SHARD_2_URL;
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${await shardKey(n)}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, read by assertions
    return { status: res.status, body: (await res.json().catch(() => null)) as any };
  };
}
