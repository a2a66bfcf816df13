/**
 * Bulk call campaigns ("outbound runs"), scoped to the business of the session:
 *
 *   POST /api/outbound-runs              create a run for a set of leads and queue its jobs (admin+)
 *   GET  /api/outbound-runs              list runs with their progress (agent+)
 *   GET  /api/outbound-runs/:id          live progress: jobs by status, active calls, slots, ETA (agent+)
 *   POST /api/outbound-runs/:id/pause    no new dials; calls in progress finish (admin+)
 *   POST /api/outbound-runs/:id/resume   dial again (a paused run, or a failed one once its cause is fixed) (admin+)
 *   POST /api/outbound-runs/:id/cancel   waiting jobs cancelled; calls in progress finish (admin+)
 *
 * The rules live in worker/campaigns/; the dialing in worker/queues/handlers/outbound-call-dial.ts.
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import { callAdmission } from "../calls/admission";
import { outboundCallErrorToApiError } from "../calls/place-outbound-call";
import { twilioClient } from "../calls/twilio-client";
import { registerCampaignCallHook } from "../campaigns/call-ended";
import {
  cancelRun,
  createRun,
  createRunSchema,
  enqueueRun,
  getRun,
  jobCounts,
  listRuns,
  listRunsQuery,
  pauseRun,
  resumeRun,
  runView,
} from "../campaigns/runs";
import { type Config, requirePublicHost } from "../config";
import { businesses } from "../db/schema";
import { idParam } from "../lib/schemas";
import { validate } from "../lib/validate";
import "../metrics/campaigns";
import { effectiveCallCap, getBusinessSettings, loadSettings } from "../services/settings";

registerCampaignCallHook();

export const outboundRunRoutes = new Hono<AppEnv>();
outboundRunRoutes.use("/api/outbound-runs", requireAuth);
outboundRunRoutes.use("/api/outbound-runs/*", requireAuth);

/** A run that cannot dial is refused up front (503 naming the variable) rather than failing later. */
function requireDialingConfig(config: Config): void {
  try {
    requirePublicHost(config);
    twilioClient(config);
  } catch (err) {
    throw outboundCallErrorToApiError(err) ?? err;
  }
}

outboundRunRoutes.post(
  "/api/outbound-runs",
  requirePermission("campaigns.manage"),
  validate("json", createRunSchema),
  async (c) => {
    requireDialingConfig(c.get("config"));
    const businessId = businessIdOf(c);
    const db = c.get("db")();
    const body = c.req.valid("json");
    let hours: Parameters<typeof createRun>[1]["hours"];
    if (body.schedule?.businessHours) {
      const [settings, [business]] = await Promise.all([
        loadSettings(db, businessId),
        db.select({ timezone: businesses.timezone }).from(businesses).where(eq(businesses.id, businessId)),
      ]);
      hours = { workingHours: settings.workingHours, timezone: business?.timezone ?? "UTC" };
    }
    const created = await createRun(db, { businessId, userId: c.get("auth").user.id, body, hours });
    await enqueueRun(db, c.env, created);
    const counts = await jobCounts(db, [created.run.id]);
    return c.json(
      {
        run: runView(created.run, counts.get(created.run.id)!),
        queued: created.jobs.length,
        skippedLeads: created.run.skippedLeads,
        notFoundLeadIds: created.notFound,
        firstDialAt: created.notBefore?.toISOString() ?? null,
      },
      201,
    );
  },
);

outboundRunRoutes.get(
  "/api/outbound-runs",
  requirePermission("campaigns.read"),
  validate("query", listRunsQuery),
  async (c) => c.json(await listRuns(c.get("db")(), businessIdOf(c), c.req.valid("query"))),
);

outboundRunRoutes.get(
  "/api/outbound-runs/:id",
  requirePermission("campaigns.read"),
  validate("param", idParam),
  async (c) => {
    const businessId = businessIdOf(c);
    const db = c.get("db")();
    const run = await getRun(db, businessId, c.req.valid("param").id);
    const [counts, slots, settings] = await Promise.all([
      jobCounts(db, [run.id]),
      callAdmission(c.env, businessId).snapshot(),
      getBusinessSettings(c.env, businessId),
    ]);
    return c.json({
      run: runView(run, counts.get(run.id)!),
      // The business's outbound slots right now (direct and bulk calls share them).
      slots: {
        active: slots.outboundActive,
        bulk: slots.bySource.bulk,
        direct: slots.bySource.direct,
        cap: effectiveCallCap(settings, c.get("config")),
      },
    });
  },
);

outboundRunRoutes.post(
  "/api/outbound-runs/:id/pause",
  requirePermission("campaigns.manage"),
  validate("param", idParam),
  async (c) => {
    const db = c.get("db")();
    const run = await pauseRun(db, businessIdOf(c), c.req.valid("param").id);
    return c.json({ run: runView(run, (await jobCounts(db, [run.id])).get(run.id)!) });
  },
);

outboundRunRoutes.post(
  "/api/outbound-runs/:id/resume",
  requirePermission("campaigns.manage"),
  validate("param", idParam),
  async (c) => {
    requireDialingConfig(c.get("config"));
    const db = c.get("db")();
    const run = await resumeRun(db, c.env, businessIdOf(c), c.req.valid("param").id);
    return c.json({ run: runView(run, (await jobCounts(db, [run.id])).get(run.id)!) });
  },
);

outboundRunRoutes.post(
  "/api/outbound-runs/:id/cancel",
  requirePermission("campaigns.manage"),
  validate("param", idParam),
  async (c) => {
    const db = c.get("db")();
    const { run, cancelledJobs } = await cancelRun(db, businessIdOf(c), c.req.valid("param").id);
    return c.json({ run: runView(run, (await jobCounts(db, [run.id])).get(run.id)!), cancelledJobs });
  },
);
