import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
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
    const batch = createMessageBatch("prosaas-low", [
      { id: "good-1", timestamp: new Date(), attempts: 1, body: { type: "maintenance.purge_expired_sessions" } },
      { id: "bad-type", timestamp: new Date(), attempts: 1, body: { type: "no.such.job" } },
      {
        id: "wrong-queue",
        timestamp: new Date(),
        attempts: 1,
        body: { type: "maintenance.purge_expired_sessions", graceHours: -1 },
      },
    ]);
    const ctx = createExecutionContext();
    await handleQueueBatch(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["bad-type", "good-1", "wrong-queue"]);
    expect(result.retryMessages).toEqual([]);
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
