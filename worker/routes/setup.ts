/**
 * First-run setup (worker/services/setup.ts): `GET /api/setup` says whether a fresh install still
 * needs its first admin (and whether a setup token is needed); `POST /api/setup` creates the first
 * system admin and business and signs the caller in, as `POST /api/auth/login` does.
 */
import { z } from "@hono/zod-openapi";
import { hashPassword } from "../auth/password";
import { enforceRateLimit } from "../auth/rate-limits";
import { createSession, setSessionCookie } from "../auth/session";
import { jsonBody, jsonContent } from "../contract/content";
import { businessModel } from "../contract/models/business";
import { userModel } from "../contract/models/user";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import type { Database } from "../db/client";
import { ApiError } from "../errors";
import { log } from "../lib/log";
import { emailSchema, localeSchema, passwordSchema, timezoneSchema } from "../lib/schemas";
import { hasAnyUser, issueSetupTokenIfNone, runFirstSetup } from "../services/setup";
import { publicUser } from "./auth";

export const setupRoutes = createRouter();

/**
 * Prints a new setup token when none is valid. The token is a secret, and printing it is the point:
 * the Worker's logs are where only the operator can read it (`wrangler tail`, Workers Logs).
 */
async function printSetupTokenIfNone(db: Database): Promise<void> {
  const issued = await issueSetupTokenIfNone(db);
  if (issued) {
    log.warn("first-run setup token (use it once in the setup screen or POST /api/setup)", {
      setupToken: issued.token,
      expiresAt: issued.expiresAt.toISOString(),
    });
  }
}

const status = apiRoute({
  method: "get",
  path: "/api/setup",
  tag: "Auth",
  summary: "Does this installation still need its first admin (and a setup token)?",
  description:
    "In production, while no user exists, the Worker prints a one-time setup token in its logs (only its hash is stored).",
  auth: "public",
  responses: {
    200: jsonContent(z.strictObject({ setupRequired: z.boolean(), tokenRequired: z.boolean() }), "Setup state"),
  },
});

setupRoutes.openapi(status, async (c) => {
  const db = c.get("db")();
  const setupRequired = !(await hasAnyUser(db));
  const tokenRequired = setupRequired && c.get("config").ENVIRONMENT === "production";
  if (tokenRequired) await printSetupTokenIfNone(db);
  return c.json({ setupRequired, tokenRequired }, 200);
});

const setupBody = z.strictObject({
  token: z.string().trim().min(1).max(200).optional(),
  email: emailSchema,
  password: passwordSchema,
  name: z.string().trim().min(1).max(200).optional(),
  businessName: z.string().trim().min(1).max(200),
  timezone: timezoneSchema.optional(),
  locale: localeSchema.optional(),
});

const setup = apiRoute({
  method: "post",
  path: "/api/setup",
  tag: "Auth",
  summary: "First-run setup: create the first system admin and business, signed in",
  description:
    "Only while no user exists (then 409 `already_set_up`). In production `token` must be the setup token from the Worker's logs.",
  auth: "public",
  request: { body: jsonBody(setupBody) },
  responses: {
    201: jsonContent(z.strictObject({ user: userModel, business: businessModel }), "Set up; the session cookie is set"),
  },
  errors: ["already_set_up", "invalid_setup_token", "rate_limited"],
});

setupRoutes.openapi(setup, async (c) => {
  const body = c.req.valid("json");
  const config = c.get("config");
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  // Setup tokens are long random strings; the limit still keeps anyone from hammering the route.
  await enforceRateLimit(c.env, "loginIp", ip);
  const db = c.get("db")();
  const requireToken = config.ENVIRONMENT === "production";
  const result = await runFirstSetup(
    db,
    {
      email: body.email,
      passwordHash: await hashPassword(body.password, config.PASSWORD_PBKDF2_ITERATIONS),
      name: body.name ?? "System admin",
      businessName: body.businessName,
      timezone: body.timezone,
      locale: body.locale,
    },
    requireToken ? { requireToken, token: body.token } : { requireToken },
  );
  if (!result.ok && result.reason === "already_set_up") {
    throw new ApiError("already_set_up", "This installation is already set up; sign in instead", undefined, 409);
  }
  if (!result.ok) {
    await printSetupTokenIfNone(db);
    throw new ApiError(
      "invalid_setup_token",
      "token is missing, wrong or expired; the Worker's logs show the current setup token",
      { field: "token" },
      403,
    );
  }
  const { user, business } = result;
  log.info("first-run setup done", { userId: user.id, businessId: business.id, requestId: c.get("requestId") });
  // Signed in as the new system admin, acting on the new business (what the dashboard opens next).
  const session = await createSession(db, {
    userId: user.id,
    actingBusinessId: business.id,
    ttlHours: config.SESSION_TTL_HOURS,
    ip,
    userAgent: c.req.header("user-agent"),
  });
  setSessionCookie(c, session.token, session.expiresAt);
  return c.json({ user: publicUser(user), business }, 201);
});
