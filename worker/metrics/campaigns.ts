/**
 * Bulk call campaign series. Dials and slot waits are counted in the isolate where they happen
 * (label `isolate`, like the request counters). Jobs by status, runs by status and dead-lettered
 * dial jobs must be global, so they are read from Postgres at scrape time.
 */
import { sql } from "drizzle-orm";
import { UNFINISHED_CAMPAIGN_STATUSES } from "../campaigns/policy";
import { getConfig } from "../config";
import { withDb } from "../db/client";
import { outboundJobStatuses } from "../db/schema";
import { Counter, Gauge } from "./prom";
import { registry, type ScrapeCollector } from "./registry";

export const campaignMetrics = {
  dials: new Counter({
    name: "prosaas_campaign_dials_total",
    help: "Campaign jobs dialed (Twilio accepted the call).",
    registers: [registry],
  }),
  slotWaits: new Counter({
    name: "prosaas_campaign_slot_waits_total",
    help: "Campaign jobs put back to wait because every call slot of the business was taken.",
    registers: [registry],
  }),
};

const jobsByStatus = new Gauge({
  name: "prosaas_campaign_jobs",
  help: "Jobs of unfinished campaigns (queued, running, paused), by job status (read from Postgres at scrape).",
  labelNames: ["status"] as const,
  registers: [registry],
});

const runsByStatus = new Gauge({
  name: "prosaas_campaign_runs",
  help: "Campaigns by status (read from Postgres at scrape).",
  labelNames: ["status"] as const,
  registers: [registry],
});

const deadLettered = new Gauge({
  name: "prosaas_campaign_dead_letters",
  help: "Dial jobs recorded in the dead-letter table (malformed or out of retries).",
  registers: [registry],
});

export const collectCampaignMetrics: ScrapeCollector = async ({ env }) => {
  await withDb(getConfig(env), async (db) => {
    const [jobs, runs, dlq] = await Promise.all([
      db.execute<{ status: string; n: number }>(sql`
        SELECT j.status, count(*)::int AS n FROM outbound_call_jobs j
        JOIN outbound_call_runs r ON r.id = j.run_id
        WHERE r.status IN (${sql.join(
          UNFINISHED_CAMPAIGN_STATUSES.map((s) => sql`${s}`),
          sql`, `,
        )}) GROUP BY j.status`),
      db.execute<{ status: string; n: number }>(
        sql`SELECT status, count(*)::int AS n FROM outbound_call_runs GROUP BY status`,
      ),
      db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM dead_letters WHERE job_type = 'outbound_call.dial'`),
    ]);
    jobsByStatus.reset();
    for (const status of outboundJobStatuses) jobsByStatus.set({ status }, 0);
    for (const row of jobs.rows) jobsByStatus.set({ status: row.status }, Number(row.n));
    runsByStatus.reset();
    for (const row of runs.rows) runsByStatus.set({ status: row.status }, Number(row.n));
    deadLettered.set(Number(dlq.rows[0]?.n ?? 0));
  });
};
