/**
 * The signed-in user's own business: its profile, settings and feature flags.
 */
import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { allowed, businessIdOf } from "../auth/middleware";
import { forgetNumberOwners } from "../calls/call-business";
import { configSchema } from "../config";
import { jsonBody, jsonContent } from "../contract/content";
import { businessModel } from "../contract/models/business";
import { featureFlagsResponseModel, flagKey } from "../contract/models/feature-flag";
import { settingsResponseModel } from "../contract/models/settings";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { isUniqueViolation } from "../db/errors";
import { businesses, businessSettings } from "../db/schema";
import { ApiError, notFound, validationError } from "../errors";
import { localeSchema, regionSchema, timezoneSchema } from "../lib/schemas";
import { effectiveFlags, setFlag } from "../services/feature-flags";
import { e164Schema } from "../services/phones";
import {
  businessStub,
  getBusinessSettings as cachedSettings,
  effectiveCallCap,
  settingsUpdateSchema,
} from "../services/settings";

export const businessRoutes = createRouter();

const businessBody = z.strictObject({ business: businessModel });

const getBusiness = apiRoute({
  method: "get",
  path: "/api/business",
  tag: "Business",
  summary: "The business the signed-in user acts on",
  auth: { permission: "business.read" },
  responses: { 200: jsonContent(businessBody, "The business") },
  errors: ["not_found"],
});

businessRoutes.openapi(getBusiness, async (c) => {
  const [business] = await c
    .get("db")()
    .select()
    .from(businesses)
    .where(eq(businesses.id, businessIdOf(c)));
  if (!business) throw notFound("Business");
  return c.json({ business }, 200);
});

const updateBusinessBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    timezone: timezoneSchema,
    locale: localeSchema,
    phoneRegion: regionSchema,
    twilioNumber: e164Schema.nullable(),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: "give at least one field" });

const updateBusiness = apiRoute({
  method: "patch",
  path: "/api/business",
  tag: "Business",
  summary: "Change the business's name, timezone, locale or phone region",
  description: "Only a system admin assigns `twilioNumber` (inbound calls are routed by it).",
  auth: { permission: "business.update" },
  request: { body: jsonBody(updateBusinessBody) },
  responses: { 200: jsonContent(businessBody, "The updated business") },
  errors: ["conflict", "not_found"],
});

businessRoutes.openapi(updateBusiness, async (c) => {
  // Inbound calls are routed by this number, and every business shares the platform's Twilio
  // account: only the platform assigns numbers, or an owner could take over another's callers.
  if (c.req.valid("json").twilioNumber !== undefined && !allowed(c.get("auth"), "platform.manage")) {
    throw new ApiError("forbidden", "Only a system admin assigns the Twilio number", { field: "twilioNumber" });
  }
  try {
    const [business] = await c
      .get("db")()
      .update(businesses)
      .set({ ...c.req.valid("json"), updatedAt: new Date() })
      .where(eq(businesses.id, businessIdOf(c)))
      .returning();
    if (!business) throw notFound("Business");
    // Inbound calls find their business by number through a short cache: this isolate's goes now.
    forgetNumberOwners();
    return c.json({ business }, 200);
  } catch (err) {
    if (isUniqueViolation(err, "businesses_twilio_number_key")) {
      throw new ApiError("conflict", "twilioNumber belongs to another business", { field: "twilioNumber" });
    }
    throw err;
  }
});

const getSettings = apiRoute({
  method: "get",
  path: "/api/settings",
  tag: "Business",
  summary: "The business's settings and the values that apply",
  auth: { permission: "settings.read" },
  responses: { 200: jsonContent(settingsResponseModel, "The settings") },
});

businessRoutes.openapi(getSettings, async (c) => {
  const businessId = businessIdOf(c);
  const settings = await cachedSettings(c.env, businessId);
  return c.json({ settings, effective: { outboundCallCap: effectiveCallCap(settings, c.get("config")) } }, 200);
});

/** The widest platform cap config accepts: the declared bound of `outboundCallCap`. */
const MAX_CONCURRENT_CALLS_LIMIT = configSchema.shape.MAX_CONCURRENT_CALLS.unwrap().maxValue ?? Number.MAX_SAFE_INTEGER;

const updateSettings = apiRoute({
  method: "patch",
  path: "/api/settings",
  tag: "Business",
  summary: "Change some settings",
  description:
    "`outboundCallCap` may not exceed the platform maximum (MAX_CONCURRENT_CALLS), checked per request; the document shows the widest bound.",
  auth: { permission: "settings.update" },
  // Declared with the widest cap config allows; the handler checks this deployment's (it reads the
  // body again, which Hono caches).
  request: { body: jsonBody(settingsUpdateSchema(MAX_CONCURRENT_CALLS_LIMIT)) },
  responses: { 200: jsonContent(settingsResponseModel, "The updated settings") },
});

businessRoutes.openapi(updateSettings, async (c) => {
  const businessId = businessIdOf(c);
  // The schema depends on the platform cap from config, so it is built per request.
  const body = await c.req.json().catch(() => {
    throw new ApiError("bad_request", "Malformed JSON in request body");
  });
  const parsed = settingsUpdateSchema(c.get("config").MAX_CONCURRENT_CALLS).safeParse(body);
  if (!parsed.success) throw validationError(parsed.error);
  const db = c.get("db")();
  await db.insert(businessSettings).values({ businessId }).onConflictDoNothing();
  await db
    .update(businessSettings)
    .set({ ...parsed.data, updatedAt: new Date() })
    .where(eq(businessSettings.businessId, businessId));
  // Written first, then the cache dropped: a reader never keeps a value older than this write.
  await businessStub(c.env, businessId).invalidateSettings(businessId);
  const settings = await cachedSettings(c.env, businessId);
  return c.json({ settings, effective: { outboundCallCap: effectiveCallCap(settings, c.get("config")) } }, 200);
});

const listFlags = apiRoute({
  method: "get",
  path: "/api/feature-flags",
  tag: "Business",
  summary: "Every feature flag's effective value for the business, and where it comes from",
  auth: { permission: "feature_flags.read" },
  responses: { 200: jsonContent(featureFlagsResponseModel, "The flags by key") },
});

businessRoutes.openapi(listFlags, async (c) => {
  return c.json({ flags: await effectiveFlags(c.get("db")(), businessIdOf(c)) }, 200);
});

const flagBody = z.strictObject({ enabled: z.boolean().nullable() });
const flagParam = z.object({ key: flagKey });

/** A system admin overrides a flag for the business it acts on (`enabled: null` removes the override). */
const setBusinessFlag = apiRoute({
  method: "put",
  path: "/api/feature-flags/{key}",
  tag: "Business",
  summary: "Override a feature flag for this business",
  description: "`enabled: null` removes the override (the platform default or the code's applies again).",
  auth: { permission: "feature_flags.update" },
  request: { params: flagParam, body: jsonBody(flagBody) },
  responses: { 200: jsonContent(featureFlagsResponseModel, "The flags after the change") },
});

businessRoutes.openapi(setBusinessFlag, async (c) => {
  const db = c.get("db")();
  await setFlag(db, c.req.valid("param").key, businessIdOf(c), c.req.valid("json").enabled);
  return c.json({ flags: await effectiveFlags(db, businessIdOf(c)) }, 200);
});
