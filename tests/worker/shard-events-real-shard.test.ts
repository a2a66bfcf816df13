/**
 * Poisoned WhatsApp events through a REAL shard process (the fake session driver plays WhatsApp):
 * the shard builds, stores and signs each event, and its delivery reaches the Worker unchanged via
 * the edge relay (tests/setup/edge-relay.ts), which also hands the Worker's answer back to the shard.
 *
 * Guards against issue 10 finding 1: a 2^60 `fileLength`, a NUL in a text, or one malformed event
 * used to make the edge refuse the delivery (400/500) forever, so every later message of that
 * business stayed stuck in the shard's outbox.
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shardEventQuarantine, waConversations, waMessages, waSessions } from "../../worker/db/schema";
import { createTenant, type Tenant } from "./fixtures";
import { call, testDb } from "./helpers";
import { uniquePhone } from "./phones";
import { shardNode } from "./whatsapp-helpers";

const { db, close } = testDb();

async function relay(path: string, body: unknown) {
  const res = await fetch(`${env.TEST_EDGE_RELAY_URL}${path}`, { method: "POST", body: JSON.stringify(body) });
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON from the relay
  return (await res.json()) as any;
}

/** Every answer the Worker gave the shard in this file. */
const answers: { status: number; body: string }[] = [];

/**
 * Passes the business's deliveries from its shard to the Worker (and the answers back) until
 * `check` holds.
 */
async function pumpUntil<T>(businessId: number, check: () => Promise<T | undefined | false>, timeoutMs = 25_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`pumpUntil timed out; answers so far: ${JSON.stringify(answers)}`);
    const { delivery } = await relay("/_relay/next", { businessId, waitMs: 500 });
    if (!delivery) continue;
    const res = await call("/internal/shards/events", {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
    });
    const text = await res.text();
    answers.push({ status: res.status, body: text });
    await relay("/_relay/reply", { id: delivery.id, status: res.status, body: text });
  }
}

let tenant: Tenant;
let shard: ReturnType<typeof shardNode>;
let chatJid: string;

async function messages() {
  return db
    .select()
    .from(waMessages)
    .where(and(eq(waMessages.businessId, tenant.businessId), eq(waMessages.chatJid, chatJid)));
}

beforeAll(async () => {
  tenant = await createTenant(db, "Poisoned inbox business");
  chatJid = `${uniquePhone().slice(1)}@s.whatsapp.net`;
  await relay("/_relay/attach", { businessId: tenant.businessId });
  // Connected the way a user does it: the edge starts the session (with its fencing token) on the
  // business's shard, the phone scans the QR.
  const res = await tenant.owner.request("POST", "/api/whatsapp/connect");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { shard: 1 | 2 };
  shard = shardNode(body.shard);
  const paired = await shard("POST", `/_fake/sessions/${tenant.businessId}/pair`, { phoneNumber: "972500000002" });
  expect(paired.body.state).toBe("open");
  await pumpUntil(tenant.businessId, async () => {
    const [session] = await db.select().from(waSessions).where(eq(waSessions.businessId, tenant.businessId));
    return session?.state === "open";
  });
});

afterAll(async () => {
  await relay("/_relay/detach", { businessId: tenant.businessId });
  await close();
});

describe("one bad WhatsApp event never silences an inbox (real shard process)", () => {
  it("a 2^60 fileLength, a NUL in a text and a malformed event between good ones: the good events arrive and the inbox keeps flowing", async () => {
    const inbound = (messages: unknown[]) =>
      shard("POST", `/_fake/sessions/${tenant.businessId}/inbound`, { upsertType: "notify", messages });
    expect(
      (
        await inbound([
          { chatJid, messageId: "GOOD-1", text: "first good message" },
          // 2^60 as WhatsApp sends it (a 64-bit Long), past what a JSON number holds exactly.
          { chatJid, messageId: "HUGE-FILE", text: "a photo", imageFileLength: "1152921504606846976" },
          { chatJid, messageId: "NUL-TEXT", text: "before\u0000after", pushName: "Nu\u0000ll" },
        ])
      ).status,
    ).toBe(200);
    // A malformed event in the outbox, as a buggy or older shard build could have written it.
    const malformed = {
      id: `raw-malformed-${tenant.businessId}`,
      type: "message.upsert",
      businessId: tenant.businessId,
      shardId: 0,
      key: { chatJid },
    };
    const raw = await shard("POST", `/_fake/sessions/${tenant.businessId}/raw-events`, {
      events: [{ eventId: malformed.id, payload: JSON.stringify(malformed) }],
    });
    expect(raw.body).toEqual({ appended: 1 });
    expect((await inbound([{ chatJid, messageId: "GOOD-2", text: "second good message" }])).status).toBe(200);

    const stored = await pumpUntil(tenant.businessId, async () => {
      const rows = await messages();
      return rows.length >= 4 && rows;
    });
    const byId = new Map(stored.map((m) => [m.waMessageId, m]));
    expect([...byId.keys()].sort()).toEqual(["GOOD-1", "GOOD-2", "HUGE-FILE", "NUL-TEXT"]);
    expect(byId.get("HUGE-FILE")).toMatchObject({ kind: "image", text: "a photo", media: { mimetype: "image/jpeg" } });
    expect((byId.get("HUGE-FILE")!.media as Record<string, unknown>).sizeBytes).toBeUndefined();
    expect(byId.get("NUL-TEXT")!.text).toBe("beforeafter");

    const [quarantined] = await db
      .select()
      .from(shardEventQuarantine)
      .where(eq(shardEventQuarantine.eventId, malformed.id));
    expect(quarantined).toMatchObject({ reason: "invalid", businessId: tenant.businessId });
    expect(JSON.parse(quarantined!.payload)).toEqual(malformed);

    // Every delivery of this business was acknowledged: nothing is left for the shard to retry.
    for (const a of answers) expect(a.status).toBe(200);
    expect((await shard("GET", `/_fake/sessions/${tenant.businessId}/dead`)).body).toEqual({ dead: [] });

    // The inbox keeps flowing: a later message arrives and becomes the conversation's preview.
    expect((await inbound([{ chatJid, messageId: "GOOD-3", text: "still flowing" }])).status).toBe(200);
    await pumpUntil(tenant.businessId, async () => (await messages()).some((m) => m.waMessageId === "GOOD-3"));
    const [conversation] = await db
      .select()
      .from(waConversations)
      .where(and(eq(waConversations.businessId, tenant.businessId), eq(waConversations.chatJid, chatJid)));
    expect(conversation).toMatchObject({ lastMessagePreview: "still flowing", displayName: "Null" });
  });
});
