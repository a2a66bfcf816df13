/**
 * System administration: businesses across the platform, and choosing which business a system
 * admin acts on (explicitly — a system admin never sees tenant data by accident).
 */
import { z } from "@hono/zod-openapi";
import { desc, eq, isNull } from "drizzle-orm";
import { sessionIdOf } from "../auth/middleware";
import { hashPassword } from "../auth/password";
import { platformCallSnapshot } from "../calls/admission";
import { forgetNumberOwners } from "../calls/call-business";
import { jsonBody, jsonContent, noContent } from "../contract/content";
import { businessModel } from "../contract/models/business";
import { id } from "../contract/models/common";
import { flagKey } from "../contract/models/feature-flag";
import { userRole } from "../contract/models/user";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { isUniqueViolation } from "../db/errors";
import { businesses, featureFlags, sessions } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { emailSchema, localeSchema, MAX_ID, passwordSchema, regionSchema, timezoneSchema } from "../lib/schemas";
import { createBusiness } from "../services/businesses";
import { FLAG_DEFAULTS, setFlag } from "../services/feature-flags";
import { e164Schema } from "../services/phones";

export const adminRoutes = createRouter();

const platform = { permission: "platform.manage" } as const;

const createBusinessBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  timezone: timezoneSchema.optional(),
  locale: localeSchema.optional(),
  phoneRegion: regionSchema.optional(),
  twilioNumber: e164Schema.optional(),
  owner: z.strictObject({ email: emailSchema, name: z.string().trim().min(1).max(200), password: passwordSchema }),
});

const createBusinessRoute = apiRoute({
  method: "post",
  path: "/api/admin/businesses",
  tag: "Platform",
  summary: "Create a business with its owner, settings and default lead statuses",
  auth: platform,
  request: { body: jsonBody(createBusinessBody) },
  responses: {
    201: jsonContent(
      z.strictObject({
        business: businessModel,
        owner: z.strictObject({ id, email: z.string(), role: userRole }).nullable(),
      }),
      "The new business and its owner",
    ),
  },
  errors: ["conflict"],
});

adminRoutes.openapi(createBusinessRoute, async (c) => {
  const body = c.req.valid("json");
  const passwordHash = await hashPassword(body.owner.password, c.get("config").PASSWORD_PBKDF2_ITERATIONS);
  try {
    const { business, owner } = await createBusiness(c.get("db")(), {
      ...body,
      owner: { email: body.owner.email, name: body.owner.name, passwordHash },
    });
    // Inbound calls find their business by number through a short cache (it may hold "no owner").
    forgetNumberOwners();
    return c.json({ business, owner: owner && { id: owner.id, email: owner.email, role: owner.role } }, 201);
  } catch (err) {
    if (isUniqueViolation(err, "users_email_key"))
      throw new ApiError("conflict", "owner.email is already in use", { field: "owner.email" });
    if (isUniqueViolation(err, "businesses_twilio_number_key")) {
      throw new ApiError("conflict", "twilioNumber belongs to another business", { field: "twilioNumber" });
    }
    throw err;
  }
});

const listBusinesses = apiRoute({
  method: "get",
  path: "/api/admin/businesses",
  tag: "Platform",
  summary: "List the platform's businesses, newest first (at most 500)",
  auth: platform,
  responses: { 200: jsonContent(z.strictObject({ businesses: z.array(businessModel) }), "The businesses") },
});

adminRoutes.openapi(listBusinesses, async (c) => {
  const rows = await c.get("db")().select().from(businesses).orderBy(desc(businesses.id)).limit(500);
  return c.json({ businesses: rows }, 200);
});

const actAsBody = z.strictObject({ businessId: z.number().int().positive().max(MAX_ID) });

const actAs = apiRoute({
  method: "post",
  path: "/api/admin/act-as",
  tag: "Platform",
  summary: "Choose the business this session acts on",
  description: "A system admin sees no tenant data until it chooses a business here.",
  auth: platform,
  request: { body: jsonBody(actAsBody) },
  responses: {
    200: jsonContent(
      z.strictObject({ actingAs: z.strictObject({ id, name: z.string() }) }),
      "The business this session now acts on",
    ),
  },
  errors: ["not_found"],
});

adminRoutes.openapi(actAs, async (c) => {
  const { businessId } = c.req.valid("json");
  const db = c.get("db")();
  const [business] = await db
    .select({ id: businesses.id, name: businesses.name })
    .from(businesses)
    .where(eq(businesses.id, businessId));
  if (!business) throw notFound("Business");
  await db
    .update(sessions)
    .set({ actingBusinessId: businessId })
    .where(eq(sessions.id, sessionIdOf(c)));
  return c.json({ actingAs: business }, 200);
});

const stopActing = apiRoute({
  method: "delete",
  path: "/api/admin/act-as",
  tag: "Platform",
  summary: "Stop acting on a business",
  auth: platform,
  responses: { 204: { description: "This session acts on no business" } },
});

adminRoutes.openapi(stopActing, async (c) => {
  await c
    .get("db")()
    .update(sessions)
    .set({ actingBusinessId: null })
    .where(eq(sessions.id, sessionIdOf(c)));
  return noContent(c);
});

const platformFlagParam = z.object({ key: flagKey });
const platformFlagBody = z.strictObject({ enabled: z.boolean().nullable() });

/** The platform default of a flag for every business without its own override. */
const setPlatformFlag = apiRoute({
  method: "put",
  path: "/api/admin/feature-flags/{key}",
  tag: "Platform",
  summary: "Set the platform default of a feature flag",
  description: "Applies to every business without its own override; `enabled: null` removes the platform default.",
  auth: platform,
  request: { params: platformFlagParam, body: jsonBody(platformFlagBody) },
  responses: { 204: { description: "Set" } },
});

adminRoutes.openapi(setPlatformFlag, async (c) => {
  await setFlag(c.get("db")(), c.req.valid("param").key, null, c.req.valid("json").enabled);
  return noContent(c);
});

const listPlatformFlags = apiRoute({
  method: "get",
  path: "/api/admin/feature-flags",
  tag: "Platform",
  summary: "Every feature flag: the code's default and the platform default, if set",
  auth: platform,
  responses: {
    200: jsonContent(
      z.strictObject({
        flags: z.record(
          z.string(),
          z.strictObject({
            default: z
              .boolean()
              .nullable()
              .openapi({ description: "The code's default (null: a flag the code does not know)" }),
            platform: z.boolean().nullable().openapi({ description: "The platform default; null: not set" }),
          }),
        ),
      }),
      "The flags by key",
    ),
  },
});

adminRoutes.openapi(listPlatformFlags, async (c) => {
  const rows = await c.get("db")().select().from(featureFlags).where(isNull(featureFlags.businessId));
  const flags: Record<string, { default: boolean | null; platform: boolean | null }> = {};
  for (const [key, enabled] of Object.entries(FLAG_DEFAULTS)) flags[key] = { default: enabled, platform: null };
  for (const row of rows) flags[row.key] = { default: flags[row.key]?.default ?? null, platform: row.enabled };
  return c.json({ flags }, 200);
});

const platformCalls = apiRoute({
  method: "get",
  path: "/api/admin/calls",
  tag: "Platform",
  summary: "Platform call capacity now: calls in progress against the platform cap, by business",
  auth: platform,
  responses: {
    200: jsonContent(
      z.strictObject({
        active: z.number().int(),
        cap: z.number().int(),
        byBusiness: z.array(z.strictObject({ businessId: id, outbound: z.number().int(), inbound: z.number().int() })),
      }),
      "The platform's call slots",
    ),
  },
});

adminRoutes.openapi(platformCalls, async (c) => {
  const snap = await platformCallSnapshot(c.env);
  const byBusiness = new Map<number, { businessId: number; outbound: number; inbound: number }>();
  for (const row of snap.byBusinessKind) {
    const entry = byBusiness.get(row.businessId) ?? { businessId: row.businessId, outbound: 0, inbound: 0 };
    entry[row.kind] += row.active;
    byBusiness.set(row.businessId, entry);
  }
  return c.json({ active: snap.active, cap: snap.limit, byBusiness: [...byBusiness.values()] }, 200);
});
