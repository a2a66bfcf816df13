/**
 * System administration: businesses across the platform, and choosing which business a system
 * admin acts on (explicitly — a system admin never sees tenant data by accident).
 */
import { desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { requireAuth, requirePermission } from "../auth/middleware";
import { hashPassword } from "../auth/password";
import { isUniqueViolation } from "../db/errors";
import { businesses, sessions } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { emailSchema, localeSchema, MAX_ID, passwordSchema, regionSchema, timezoneSchema } from "../lib/schemas";
import { validate } from "../lib/validate";
import { createBusiness } from "../services/businesses";
import { setFlag } from "../services/feature-flags";
import { e164Schema } from "../services/phones";

export const adminRoutes = new Hono<AppEnv>();
adminRoutes.use("/api/admin/*", requireAuth, requirePermission("platform.manage"));

const createBusinessBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    timezone: timezoneSchema.optional(),
    locale: localeSchema.optional(),
    phoneRegion: regionSchema.optional(),
    twilioNumber: e164Schema.optional(),
    owner: z.object({ email: emailSchema, name: z.string().trim().min(1).max(200), password: passwordSchema }).strict(),
  })
  .strict();

adminRoutes.post("/api/admin/businesses", validate("json", createBusinessBody), async (c) => {
  const body = c.req.valid("json");
  const passwordHash = await hashPassword(body.owner.password, c.get("config").PASSWORD_PBKDF2_ITERATIONS);
  try {
    const { business, owner } = await createBusiness(c.get("db")(), {
      ...body,
      owner: { email: body.owner.email, name: body.owner.name, passwordHash },
    });
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

adminRoutes.get("/api/admin/businesses", async (c) => {
  const rows = await c.get("db")().select().from(businesses).orderBy(desc(businesses.id)).limit(500);
  return c.json({ businesses: rows });
});

const actAsBody = z.object({ businessId: z.number().int().positive().max(MAX_ID) }).strict();

adminRoutes.post("/api/admin/act-as", validate("json", actAsBody), async (c) => {
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
    .where(eq(sessions.id, c.get("auth").sessionId));
  return c.json({ actingAs: business });
});

adminRoutes.delete("/api/admin/act-as", async (c) => {
  await c
    .get("db")()
    .update(sessions)
    .set({ actingBusinessId: null })
    .where(eq(sessions.id, c.get("auth").sessionId));
  return c.body(null, 204);
});

const platformFlagParam = z.object({
  key: z.string().regex(/^[a-z][a-z0-9_]{1,63}$/, "must be a snake_case flag name"),
});
const platformFlagBody = z.object({ enabled: z.boolean().nullable() }).strict();

/** The platform default of a flag for every business without its own override. */
adminRoutes.put(
  "/api/admin/feature-flags/:key",
  validate("param", platformFlagParam),
  validate("json", platformFlagBody),
  async (c) => {
    await setFlag(c.get("db")(), c.req.valid("param").key, null, c.req.valid("json").enabled);
    return c.body(null, 204);
  },
);
