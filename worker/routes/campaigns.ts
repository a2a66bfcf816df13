/**
 * Bulk call campaigns, scoped to the business of the session: create one for a set of leads,
 * list them, read one's live progress (jobs by status, active calls, slots, ETA), pause, resume
 * and cancel. The rules live in worker/campaigns/; the dialing in
 * worker/queues/handlers/outbound-call-dial.ts.
 */
import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { businessIdOf } from "../auth/middleware";
import { callAdmission } from "../calls/admission";
import { outboundCallErrorToApiError } from "../calls/place-outbound-call";
import { twilioClient } from "../calls/twilio-client";
import {
  campaignView,
  cancelCampaign,
  createCampaign,
  createCampaignSchema,
  enqueueCampaign,
  getCampaign,
  jobCounts,
  listCampaigns,
  listCampaignsQuery,
  pauseCampaign,
  previewCampaign,
  previewCampaignSchema,
  resumeCampaign,
} from "../campaigns/runs";
import { type Config, requirePublicHost } from "../config";
import { jsonBody, jsonContent } from "../contract/content";
import { campaignModel } from "../contract/models/campaign";
import { id, timestamp } from "../contract/models/common";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { businesses } from "../db/schema";
import { idParam } from "../lib/schemas";
import { publishLive } from "../live/publish";
import { effectiveCallCap, getBusinessSettings, loadSettings } from "../services/settings";

export const campaignRoutes = createRouter();

/** A campaign that cannot dial is refused up front (503 naming the variable) rather than failing later. */
function requireDialingConfig(config: Config): void {
  try {
    requirePublicHost(config);
    twilioClient(config);
  } catch (err) {
    throw outboundCallErrorToApiError(err) ?? err;
  }
}

const campaignBody = z.strictObject({ campaign: campaignModel });

const createCampaignRoute = apiRoute({
  method: "post",
  path: "/api/campaigns",
  tag: "Campaigns",
  summary: "Create a campaign for a set of leads and queue its calls",
  description:
    "Leads without a valid phone are skipped (counted, never dialed). Refused with 503 naming the variable when calls cannot be placed (PUBLIC_HOST, Twilio settings).",
  auth: { permission: "campaigns.manage" },
  request: { body: jsonBody(createCampaignSchema) },
  responses: {
    201: jsonContent(
      z.strictObject({
        campaign: campaignModel,
        queued: z.number().int().openapi({ description: "Jobs created (one per lead with a phone)" }),
        skippedLeads: z.number().int(),
        notFoundLeadIds: z.array(id).openapi({ description: "Explicit lead ids that are not leads of this business" }),
        firstDialAt: timestamp.nullable().openapi({ description: "When the first call may be placed; null: now" }),
      }),
      "The new campaign",
    ),
  },
  errors: ["service_unavailable"],
});

campaignRoutes.openapi(createCampaignRoute, async (c) => {
  requireDialingConfig(c.get("config"));
  const businessId = businessIdOf(c);
  const db = c.get("db")();
  const body = c.req.valid("json");
  let hours: Parameters<typeof createCampaign>[1]["hours"];
  if (body.schedule?.businessHours) {
    const [settings, [business]] = await Promise.all([
      loadSettings(db, businessId),
      db.select({ timezone: businesses.timezone }).from(businesses).where(eq(businesses.id, businessId)),
    ]);
    hours = { workingHours: settings.workingHours, timezone: business?.timezone ?? "UTC" };
  }
  const created = await createCampaign(db, { businessId, userId: c.get("auth").user.id, body, hours });
  await enqueueCampaign(db, c.env, created);
  const counts = await jobCounts(db, [created.campaign.id]);
  await publishLive(c.env, businessId, { type: "campaign", campaignId: created.campaign.id });
  return c.json(
    {
      campaign: campaignView(created.campaign, counts.get(created.campaign.id)!),
      queued: created.jobs.length,
      skippedLeads: created.campaign.skippedLeads,
      notFoundLeadIds: created.notFound,
      firstDialAt: created.notBefore?.toISOString() ?? null,
    },
    201,
  );
});

const previewCampaignRoute = apiRoute({
  method: "post",
  path: "/api/campaigns/preview",
  tag: "Campaigns",
  summary: "Before creating: how many leads the audience would dial and skip (writes nothing)",
  auth: { permission: "campaigns.manage" },
  request: { body: jsonBody(previewCampaignSchema) },
  responses: {
    200: jsonContent(
      z.strictObject({
        dial: z.number().int().openapi({ description: "Leads with a valid phone: one job each" }),
        skipped: z.number().int().openapi({ description: "Leads without a valid phone: never dialed" }),
        maxJobs: z.number().int().openapi({ description: "The most jobs one campaign may have" }),
      }),
      "The counts",
    ),
  },
});

campaignRoutes.openapi(previewCampaignRoute, async (c) =>
  c.json(await previewCampaign(c.get("db")(), businessIdOf(c), c.req.valid("json")), 200),
);

const listCampaignsRoute = apiRoute({
  method: "get",
  path: "/api/campaigns",
  tag: "Campaigns",
  summary: "List campaigns with their progress, newest first",
  auth: { permission: "campaigns.read" },
  request: { query: listCampaignsQuery },
  responses: {
    200: jsonContent(
      z.strictObject({
        campaigns: z.array(campaignModel),
        nextCursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page" }),
      }),
      "A page of campaigns",
    ),
  },
});

campaignRoutes.openapi(listCampaignsRoute, async (c) =>
  c.json(await listCampaigns(c.get("db")(), businessIdOf(c), c.req.valid("query")), 200),
);

const getCampaignRoute = apiRoute({
  method: "get",
  path: "/api/campaigns/{id}",
  tag: "Campaigns",
  summary: "A campaign's live progress, and the business's call slots now",
  auth: { permission: "campaigns.read" },
  request: { params: idParam },
  responses: {
    200: jsonContent(
      z.strictObject({
        campaign: campaignModel,
        slots: z
          .strictObject({
            active: z.number().int(),
            bulk: z.number().int(),
            direct: z.number().int(),
            cap: z.number().int(),
          })
          .openapi({ description: "The business's outbound call slots (direct and bulk calls share them)" }),
      }),
      "The campaign",
    ),
  },
  errors: ["not_found"],
});

campaignRoutes.openapi(getCampaignRoute, async (c) => {
  const businessId = businessIdOf(c);
  const db = c.get("db")();
  const campaign = await getCampaign(db, businessId, c.req.valid("param").id);
  const [counts, slots, settings] = await Promise.all([
    jobCounts(db, [campaign.id]),
    callAdmission(c.env, businessId).snapshot(),
    getBusinessSettings(c.env, businessId),
  ]);
  return c.json(
    {
      campaign: campaignView(campaign, counts.get(campaign.id)!),
      // The business's outbound slots right now (direct and bulk calls share them).
      slots: {
        active: slots.outboundActive,
        bulk: slots.bySource.bulk,
        direct: slots.bySource.direct,
        cap: effectiveCallCap(settings, c.get("config")),
      },
    },
    200,
  );
});

const pauseCampaignRoute = apiRoute({
  method: "post",
  path: "/api/campaigns/{id}/pause",
  tag: "Campaigns",
  summary: "Pause a campaign: no new calls; calls in progress finish",
  auth: { permission: "campaigns.manage" },
  request: { params: idParam },
  responses: { 200: jsonContent(campaignBody, "The paused campaign") },
  errors: ["not_found", "conflict"],
});

campaignRoutes.openapi(pauseCampaignRoute, async (c) => {
  const db = c.get("db")();
  const campaign = await pauseCampaign(db, businessIdOf(c), c.req.valid("param").id);
  await publishLive(c.env, campaign.businessId, { type: "campaign", campaignId: campaign.id });
  return c.json({ campaign: campaignView(campaign, (await jobCounts(db, [campaign.id])).get(campaign.id)!) }, 200);
});

const resumeCampaignRoute = apiRoute({
  method: "post",
  path: "/api/campaigns/{id}/resume",
  tag: "Campaigns",
  summary: "Resume a paused campaign, or a failed one once its cause is fixed",
  auth: { permission: "campaigns.manage" },
  request: { params: idParam },
  responses: { 200: jsonContent(campaignBody, "The campaign, dialing again") },
  errors: ["not_found", "conflict", "service_unavailable"],
});

campaignRoutes.openapi(resumeCampaignRoute, async (c) => {
  requireDialingConfig(c.get("config"));
  const db = c.get("db")();
  const campaign = await resumeCampaign(db, c.env, businessIdOf(c), c.req.valid("param").id);
  await publishLive(c.env, campaign.businessId, { type: "campaign", campaignId: campaign.id });
  return c.json({ campaign: campaignView(campaign, (await jobCounts(db, [campaign.id])).get(campaign.id)!) }, 200);
});

const cancelCampaignRoute = apiRoute({
  method: "post",
  path: "/api/campaigns/{id}/cancel",
  tag: "Campaigns",
  summary: "Cancel a campaign: waiting calls are cancelled; calls in progress finish",
  auth: { permission: "campaigns.manage" },
  request: { params: idParam },
  responses: {
    200: jsonContent(
      z.strictObject({ campaign: campaignModel, cancelledJobs: z.number().int() }),
      "The cancelled campaign and how many waiting jobs were cancelled",
    ),
  },
  errors: ["not_found", "conflict"],
});

campaignRoutes.openapi(cancelCampaignRoute, async (c) => {
  const db = c.get("db")();
  const { campaign, cancelledJobs } = await cancelCampaign(db, businessIdOf(c), c.req.valid("param").id);
  await publishLive(c.env, campaign.businessId, { type: "campaign", campaignId: campaign.id });
  return c.json(
    { campaign: campaignView(campaign, (await jobCounts(db, [campaign.id])).get(campaign.id)!), cancelledJobs },
    200,
  );
});
