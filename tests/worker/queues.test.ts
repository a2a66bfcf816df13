import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, describe, expect, it, vi } from "vitest";
import { businesses, deadLetters, sessions, users } from "../../worker/db/schema";
import { handleQueueBatch } from "../../worker/queues/consumer";
import { enqueue } from "../../worker/queues/producer";
import { testDb } from "./helpers";

const { db, close } = testDb();
afterAll(close);

async function userWithSessions(): Promise<{ expired: number; live: number }> {
  const [business] = await db.insert(businesses).values({ name: "Queue test biz" }).returning();
  const [user] = await db
    .insert(users)
    .values({
      businessId: business!.id,
      email: `q-${crypto.randomUUID()}@example.com`,
      name: "Q",
      role: "owner",
      passwordHash: "x",
    })
    .returning();
  const [expired] = await db
    .insert(sessions)
    .values({ tokenHash: crypto.randomUUID(), userId: user!.id, expiresAt: new Date(Date.now() - 3 * 86400_000) })
    .returning();
  const [live] = await db
    .insert(sessions)
    .values({ tokenHash: crypto.randomUUID(), userId: user!.id, expiresAt: new Date(Date.now() + 86400_000) })
    .returning();
  return { expired: expired!.id, live: live!.id };
}

describe("queues", () => {
  it("a job sent to its queue reaches its consumer and does its work", async () => {
    const ids = await userWithSessions();
    await enqueue(env, { type: "maintenance.purge_expired_sessions", graceHours: 1 });
    await vi.waitFor(
      async () => {
        const left = await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, ids.expired));
        expect(left).toHaveLength(0);
      },
      { timeout: 10_000, interval: 100 },
    );
    const live = await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, ids.live));
    expect(live).toHaveLength(1);
  });

  it("a malformed job goes to the dead-letter path with the reason, and is recorded", async () => {
    const marker = crypto.randomUUID();
    await env.QUEUE_LOW.send({ type: "maintenance.purge_expired_sessions", graceHours: "soon", marker });
    await vi.waitFor(
      async () => {
        const rows = await db.select().from(deadLetters).where(sql`${deadLetters.body}->>'marker' = ${marker}`);
        expect(rows).toHaveLength(1);
        expect(rows[0]!.queue).toBe("prosaas-low");
        expect(rows[0]!.reason).toContain("graceHours");
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it("acks and dead-letters each message on its own within one batch", async () => {
    // The good job must do its work and NOT be dead-lettered; each bad one must be dead-lettered
    // with its own reason. Acks alone would pass if every message were dead-lettered.
    const ids = await userWithSessions();
    const run = crypto.randomUUID().slice(0, 8);
    const good = `good-${run}`;
    const badType = `bad-type-${run}`;
    const badField = `bad-field-${run}`;
    const batch = createMessageBatch("prosaas-low", [
      { id: good, timestamp: new Date(), attempts: 1, body: { type: "maintenance.purge_expired_sessions" } },
      { id: badType, timestamp: new Date(), attempts: 1, body: { type: "no.such.job" } },
      {
        id: badField,
        timestamp: new Date(),
        attempts: 1,
        body: { type: "maintenance.purge_expired_sessions", graceHours: -1 },
      },
    ]);
    const ctx = createExecutionContext();
    await handleQueueBatch(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual([badField, badType, good].sort());
    expect(result.retryMessages).toEqual([]);

    // The good message did its work: the expired session is gone, the live one stays.
    expect(await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, ids.expired))).toHaveLength(0);
    expect(await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, ids.live))).toHaveLength(1);

    // The bad ones went to the dead-letter queue, whose consumer records them (real delivery):
    // wait for both records, then the good one (sent at the same moment, had it been) is absent.
    const deadOf = () =>
      db
        .select()
        .from(deadLetters)
        .where(inArray(deadLetters.messageId, [good, badType, badField]));
    await vi.waitFor(async () => expect(await deadOf()).toHaveLength(2), { timeout: 10_000, interval: 100 });
    const reasons = Object.fromEntries((await deadOf()).map((d) => [d.messageId, d.reason]));
    expect(Object.keys(reasons).sort()).toEqual([badField, badType].sort());
    expect(reasons[badType]).toContain("no.such.job");
    expect(reasons[badField]).toContain("graceHours");
  });

  it("a message exhausted by retries and moved to the DLQ is recorded with that reason", async () => {
    const batch = createMessageBatch("prosaas-high-dlq", [
      { id: "exhausted-1", timestamp: new Date(), attempts: 1, body: { type: "outbound_call.dial", jobId: 1 } },
    ]);
    const ctx = createExecutionContext();
    await handleQueueBatch(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["exhausted-1"]);
    const rows = await db.select().from(deadLetters).where(eq(deadLetters.messageId, "exhausted-1"));
    expect(rows[0]).toMatchObject({
      queue: "prosaas-high",
      jobType: "outbound_call.dial",
      reason: "retries exhausted on prosaas-high",
    });
  });
});
