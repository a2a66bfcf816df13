/**
 * A 10,000-lead campaign is created in one request, in a few seconds: its jobs are inserted in
 * chunks (INSERT … SELECT, not one row per round trip) and its job ids queued in sendBatch calls
 * of at most 100. The queue binding is wrapped only to count and measure those calls; every
 * message still goes to the real queue (delayed to the run's start, so nothing dials here).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { campaignOf, campaignTenant, jobsOf } from "./campaigns-fixtures";
import { BASE, testDb } from "./helpers";

const { db, close } = testDb();
afterAll(close);

describe("a 10,000-lead run", () => {
  it("is created in one request: 10,000 jobs, leads without a phone skipped, ids queued in batches of ≤ 100", async () => {
    const t = await campaignTenant(db);
    await db.execute(sql`
      INSERT INTO leads (business_id, first_name, phone_e164, status)
      SELECT ${t.businessId}, 'Lead ' || n, '+1555' || lpad(n::text, 7, '0'), 'new' FROM generate_series(1, 10000) n`);
    await db.execute(sql`
      INSERT INTO leads (business_id, first_name, status)
      SELECT ${t.businessId}, 'No phone ' || n, 'new' FROM generate_series(1, 50) n`);

    const batches: { size: number; delaySeconds: number | undefined }[] = [];
    const queue = env.QUEUE_HIGH;
    const countingQueue = {
      send: (body: unknown, options?: QueueSendOptions) => queue.send(body, options),
      sendBatch: (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
        const list = [...messages];
        batches.push({ size: list.length, delaySeconds: options?.delaySeconds });
        return queue.sendBatch(list, options);
      },
    };
    const start = new Date(Date.now() + 6 * 3600_000).toISOString();
    const ctx = createExecutionContext();
    const started = Date.now();
    const res = await app.fetch(
      new Request(`${BASE}/api/campaigns`, {
        method: "POST",
        headers: { Cookie: t.admin.cookie, "Content-Type": "application/json" },
        body: JSON.stringify({ name: "Ten thousand", audience: { status: "new" }, schedule: { start } }),
      }),
      { ...env, QUEUE_HIGH: countingQueue },
      ctx,
    );
    const elapsedMs = Date.now() - started;
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      campaign: { id: number; totalJobs: number };
      queued: number;
      skippedLeads: number;
    };
    expect(body).toMatchObject({ queued: 10_000, skippedLeads: 50, campaign: { totalJobs: 10_000 } });
    console.log(`10,000-lead run created and queued in ${elapsedMs} ms (${batches.length} sendBatch calls)`);
    expect(elapsedMs).toBeLessThan(15_000);

    expect(batches.length).toBe(100);
    expect(batches.every((b) => b.size <= 100)).toBe(true);
    expect(batches.reduce((n, b) => n + b.size, 0)).toBe(10_000);
    // Delayed to the run's start (6 h away), within the 12 h a message may wait.
    expect(batches.every((b) => b.delaySeconds! > 6 * 3600 - 60 && b.delaySeconds! <= 6 * 3600)).toBe(true);

    const jobs = await jobsOf(db, body.campaign.id);
    expect(jobs).toHaveLength(10_000);
    expect(new Set(jobs.map((j) => j.leadId)).size).toBe(10_000);
    expect(jobs.every((j) => j.status === "queued" && j.phoneE164.startsWith("+1555"))).toBe(true);

    const cancelled = await t.admin.request("POST", `/api/campaigns/${body.campaign.id}/cancel`);
    expect(await cancelled.json()).toMatchObject({ cancelledJobs: 10_000 });
    expect((await campaignOf(db, body.campaign.id)).status).toBe("cancelled");
  });
});
