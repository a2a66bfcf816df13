/**
 * Fixtures for tests that follow messages all the way to WhatsApp: a tenant whose session is
 * connected on a real shard node (fake driver), an inbox conversation, the shard's record of what
 * it sent, and a way to set the send pace beyond what the settings API allows (so a test with a
 * few hundred messages does not take minutes).
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Database } from "../../worker/db/client";
import { businessSettings, waConversations, waMessages } from "../../worker/db/schema";
import { createTenant, type Tenant } from "./fixtures";
import { uniquePhone } from "./phones";
import { shardNode } from "./whatsapp-helpers";

export interface Connected {
  tenant: Tenant;
  shard: ReturnType<typeof shardNode>;
}

/** A business whose WhatsApp is connected (QR scanned on the fake phone). */
export async function connectedTenant(db: Database, name: string, tenant?: Tenant): Promise<Connected> {
  const t = tenant ?? (await createTenant(db, name));
  const res = await t.owner.request("POST", "/api/whatsapp/connect");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { shard: 1 | 2 };
  const shard = shardNode(body.shard);
  const paired = await shard("POST", `/_fake/sessions/${t.businessId}/pair`, { phoneNumber: "972500000001" });
  expect(paired.body.state).toBe("open");
  return { tenant: t, shard };
}

/** What the fake phone has sent for this business, in order. */
export async function sentAtShard(c: Connected): Promise<{ chatJid: string; text: string }[]> {
  const res = await c.shard("GET", `/_fake/sessions/${c.tenant.businessId}/sent`);
  return res.body.sent as { chatJid: string; text: string }[];
}

/**
 * An inbox conversation whose customer last wrote `wroteAgoMs` ago, stored as ingest stores it.
 * (Inserted directly so the time of the customer's message is under the test's control.)
 */
export async function conversationWith(
  db: Database,
  businessId: number,
  wroteAgoMs: number,
): Promise<{ id: number; chatJid: string }> {
  const chatJid = `${uniquePhone().slice(1)}@s.whatsapp.net`;
  const at = new Date(Date.now() - wroteAgoMs);
  const [conversation] = await db
    .insert(waConversations)
    .values({ businessId, chatJid, lastMessageAt: at, lastMessagePreview: "hello?", unreadCount: 1 })
    .returning();
  await db.insert(waMessages).values({
    businessId,
    conversationId: conversation!.id,
    chatJid,
    waMessageId: `IN${crypto.randomUUID().replaceAll("-", "").toUpperCase()}`,
    fromMe: false,
    text: "hello?",
    status: "sent",
    sentAt: at,
  });
  return { id: conversation!.id, chatJid };
}

/** Sets the send pace in Postgres (the API caps it at 60/min) and re-plans the schedule. */
export async function setPace(db: Database, businessId: number, perMinute: number, dailyCap = 10_000): Promise<void> {
  await db
    .insert(businessSettings)
    .values({ businessId, waMessagesPerMinute: perMinute, waDailyCap: dailyCap })
    .onConflictDoUpdate({
      target: businessSettings.businessId,
      set: { waMessagesPerMinute: perMinute, waDailyCap: dailyCap },
    });
  await env.BUSINESS_DO.getByName(`business:${businessId}`).invalidateSettings(businessId);
}
