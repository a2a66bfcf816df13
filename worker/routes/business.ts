/**
 * The signed-in user's own business: its profile, settings and feature flags.
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import { can } from "../auth/permissions";
import { isUniqueViolation } from "../db/errors";
import { businesses, businessSettings } from "../db/schema";
import { ApiError, validationError } from "../errors";
import { localeSchema, regionSchema, timezoneSchema } from "../lib/schemas";
import { validate } from "../lib/validate";
import { effectiveFlags, setFlag } from "../services/feature-flags";
import { e164Schema } from "../services/phones";
import {
  businessStub,
  getBusinessSettings as cachedSettings,
  effectiveCallCap,
  settingsUpdateSchema,
} from "../services/settings";

export const businessRoutes = new Hono<AppEnv>();
for (const path of ["/api/business", "/api/settings", "/api/feature-flags", "/api/feature-flags/*"])
  businessRoutes.use(path, requireAuth);

businessRoutes.get("/api/business", requirePermission("business.read"), async (c) => {
  const [business] = await c
    .get("db")()
    .select()
    .from(businesses)
    .where(eq(businesses.id, businessIdOf(c)));
  return c.json({ business });
});

const updateBusinessBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    timezone: timezoneSchema,
    locale: localeSchema,
    phoneRegion: regionSchema,
    twilioNumber: e164Schema.nullable(),
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "give at least one field" });

businessRoutes.patch(
  "/api/business",
  requirePermission("business.update"),
  validate("json", updateBusinessBody),
  async (c) => {
    // Inbound calls are routed by this number, and every business shares the platform's Twilio
    // account: only the platform assigns numbers, or an owner could take over another's callers.
    if (c.req.valid("json").twilioNumber !== undefined && !can(c.get("auth").user.role, "platform.manage")) {
      throw new ApiError("forbidden", "Only a system admin assigns the Twilio number", { field: "twilioNumber" });
    }
    try {
      const [business] = await c
        .get("db")()
        .update(businesses)
        .set({ ...c.req.valid("json"), updatedAt: new Date() })
        .where(eq(businesses.id, businessIdOf(c)))
        .returning();
      return c.json({ business });
    } catch (err) {
      if (isUniqueViolation(err, "businesses_twilio_number_key")) {
        throw new ApiError("conflict", "twilioNumber belongs to another business", { field: "twilioNumber" });
      }
      throw err;
    }
  },
);

businessRoutes.get("/api/settings", requirePermission("settings.read"), async (c) => {
  const businessId = businessIdOf(c);
  const settings = await cachedSettings(c.env, businessId);
  return c.json({ settings, effective: { outboundCallCap: effectiveCallCap(settings, c.get("config")) } });
});

businessRoutes.patch("/api/settings", requirePermission("settings.update"), async (c) => {
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
  return c.json({ settings, effective: { outboundCallCap: effectiveCallCap(settings, c.get("config")) } });
});

businessRoutes.get("/api/feature-flags", requirePermission("feature_flags.read"), async (c) => {
  return c.json({ flags: await effectiveFlags(c.get("db")(), businessIdOf(c)) });
});

const flagBody = z.object({ enabled: z.boolean().nullable() }).strict();
const flagParam = z.object({ key: z.string().regex(/^[a-z][a-z0-9_]{1,63}$/, "must be a snake_case flag name") });

/** A system admin overrides a flag for the business it acts on (`enabled: null` removes the override). */
businessRoutes.put(
  "/api/feature-flags/:key",
  requirePermission("feature_flags.update"),
  validate("param", flagParam),
  validate("json", flagBody),
  async (c) => {
    const db = c.get("db")();
    await setFlag(db, c.req.valid("param").key, businessIdOf(c), c.req.valid("json").enabled);
    return c.json({ flags: await effectiveFlags(db, businessIdOf(c)) });
  },
);
