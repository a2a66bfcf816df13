/**
 * Fixtures for the broadcast / scheduled message / reminder tests. These tests check what the
 * edge creates (wa_outbound rows: one per message, right text, right key), not WhatsApp delivery,
 * so each tenant is put in WhatsApp quiet hours covering the test run: the real send job then
 * leaves every row `queued` (deferring it) instead of moving it through the shard, and statuses
 * asserted here are the ones this part of the code set.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq, like } from "drizzle-orm";
import { expect } from "vitest";
import type { Database } from "../../worker/db/client";
import { waOutbound } from "../../worker/db/schema";
import { handleQueueBatch } from "../../worker/queues/consumer";
import { wallClockOf } from "../../worker/services/dates";
import { type Client, createTenant, type Tenant } from "./fixtures";
import { uniquePhone } from "./phones";

const pad = (n: number) => String(n).padStart(2, "0");

export async function quietTenant(db: Database, name: string): Promise<Tenant> {
  const t = await createTenant(db, name);
  const hour = wallClockOf(new Date(), "Asia/Jerusalem").hour;
  const res = await t.owner.request("PATCH", "/api/settings", {
    waQuietHoursStart: `${pad((hour + 23) % 24)}:00`,
    waQuietHoursEnd: `${pad((hour + 3) % 24)}:00`,
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return t;
}

export interface LeadRow {
  id: number;
  firstName: string | null;
  phoneE164: string | null;
}

export async function newLead(client: Client, fields: Record<string, unknown> = {}): Promise<LeadRow> {
  const res = await client.request("POST", "/api/leads", { firstName: "Dana", phone: uniquePhone(), ...fields });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { lead: LeadRow }).lead;
}

export async function outboundWithKeyPrefix(db: Database, businessId: number, prefix: string) {
  return db
    .select()
    .from(waOutbound)
    .where(and(eq(waOutbound.businessId, businessId), like(waOutbound.idempotencyKey, `${prefix}%`)));
}

/**
 * Runs queue batches through the real consumer, all at once: each batch is one delivery, so the
 * same body in two batches is a redelivered job, and different batches are overlapping workers.
 */
export async function deliverConcurrently(queue: string, batches: unknown[][]) {
  let seq = 0;
  const runs = batches.map(async (bodies) => {
    const batch = createMessageBatch(
      queue,
      bodies.map((body) => ({ id: `m-${++seq}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })),
    );
    const ctx = createExecutionContext();
    await handleQueueBatch(batch, env);
    return getQueueResult(batch, ctx);
  });
  const results = await Promise.all(runs);
  for (const r of results) expect(r.retryMessages).toEqual([]);
  return results;
}
