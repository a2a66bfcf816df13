/**
 * Sign-in, sign-out, password change, and `GET /api/me`.
 */
import { z } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import { getCookie, setCookie } from "hono/cookie";
import { admitSignIn, DEVICE_COOKIE, DEVICE_TRUST_DAYS, signInSucceeded } from "../auth/login-guard";
import { sessionIdOf } from "../auth/middleware";
import { hashPassword, verifyPassword } from "../auth/password";
import { can, type Permission, permissions } from "../auth/permissions";
import { enforceRateLimit } from "../auth/rate-limits";
import {
  clearSessionCookie,
  createSession,
  findSession,
  readSessionToken,
  revokeOtherSessions,
  revokeSession,
  setSessionCookie,
} from "../auth/session";
import { jsonBody, jsonContent, noContent } from "../contract/content";
import { businessSummaryModel } from "../contract/models/business";
import { timestamp } from "../contract/models/common";
import { permissionName, sessionUserModel, userModel } from "../contract/models/user";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import { businesses, users } from "../db/schema";
import { ApiError } from "../errors";
import { emailSchema, passwordSchema } from "../lib/schemas";
import { recordAudit } from "../services/audit";

export const authRoutes = createRouter();

function clientIp(c: { req: { header(name: string): string | undefined } }): string {
  // Cloudflare sets CF-Connecting-IP at its edge; a client cannot forge it there. IPv6 clients are
  // keyed by their /64: one host usually holds a whole /64, so rotating addresses in it changes nothing.
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  return ip.includes(":") ? ipv6Prefix64(ip) : ip;
}

/** The first four groups of an IPv6 address (its /64), with `::` expanded. */
function ipv6Prefix64(ip: string): string {
  const [head = "", tail = ""] = ip.includes("::") ? ip.split("::") : [ip, ""];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

const loginBody = z.strictObject({ email: emailSchema, password: z.string().min(1).max(200) });

const login = apiRoute({
  method: "post",
  path: "/api/auth/login",
  tag: "Auth",
  summary: "Sign in with email and password",
  description:
    "Sets the session cookie. Rate limited per IP, per email and per email+IP; a wrong email and a wrong password get the same answer.",
  auth: "public",
  request: { body: jsonBody(loginBody) },
  responses: {
    200: jsonContent(z.strictObject({ user: userModel, expiresAt: timestamp }), "Signed in; the session cookie is set"),
  },
  errors: ["invalid_credentials", "rate_limited"],
});

authRoutes.openapi(login, async (c) => {
  const { email, password } = c.req.valid("json");
  const config = c.get("config");
  const attempt = { email, ip: clientIp(c), deviceToken: getCookie(c, DEVICE_COOKIE) };
  const { ip } = attempt;
  await admitSignIn(c.env, attempt);

  const db = c.get("db")();
  const [user] = await db.select().from(users).where(sql`lower(${users.email}) = ${email}`).limit(1);
  // Unknown email or inactive user: still spend the hashing time, then the same answer.
  const check = await verifyPassword(password, user?.passwordHash ?? null, config.PASSWORD_PBKDF2_ITERATIONS);
  if (!user?.isActive || !check.valid) {
    throw new ApiError("invalid_credentials", "Email or password is incorrect", undefined, 401);
  }
  if (check.needsRehash) {
    const rehashed = await hashPassword(password, config.PASSWORD_PBKDF2_ITERATIONS);
    await db.update(users).set({ passwordHash: rehashed, updatedAt: new Date() }).where(eq(users.id, user.id));
  }

  const session = await createSession(db, {
    userId: user.id,
    actingBusinessId: user.role === "system_admin" ? null : user.businessId,
    ttlHours: config.SESSION_TTL_HOURS,
    ip,
    userAgent: c.req.header("user-agent"),
  });
  await recordAudit(db, {
    businessId: user.businessId,
    action: "auth.sign_in",
    actorUserId: user.id,
    targetType: "user",
    targetId: user.id,
    ip: c.req.header("cf-connecting-ip") ?? null,
    details: { email: user.email },
  });
  setSessionCookie(c, session.token, session.expiresAt);
  // After the session cookie: clients that read the first Set-Cookie read the session.
  const deviceToken = await signInSucceeded(c.env, attempt);
  setCookie(c, DEVICE_COOKIE, deviceToken, {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/api/auth/login",
    maxAge: DEVICE_TRUST_DAYS * 86_400,
  });
  return c.json({ user: publicUser(user), expiresAt: session.expiresAt.toISOString() }, 200);
});

const logout = apiRoute({
  method: "post",
  path: "/api/auth/logout",
  tag: "Auth",
  summary: "Sign out: revoke this session and clear its cookie",
  description: "Answers 204 with or without a valid session, so signing out twice is harmless.",
  auth: "public",
  responses: { 204: { description: "Signed out" } },
});

authRoutes.openapi(logout, async (c) => {
  const token = readSessionToken(c);
  if (token) {
    const db = c.get("db")();
    const session = await findSession(db, token);
    if (session) await revokeSession(db, session.sessionId);
  }
  clearSessionCookie(c);
  return noContent(c);
});

const passwordBody = z
  .strictObject({ currentPassword: z.string().min(1).max(200), newPassword: passwordSchema })
  .refine((b) => b.currentPassword !== b.newPassword, {
    path: ["newPassword"],
    message: "must differ from the current password",
  });

const changePassword = apiRoute({
  method: "post",
  path: "/api/auth/password",
  tag: "Auth",
  summary: "Change the signed-in user's password",
  description: "Signs the user out of every other session (this one stays).",
  auth: "signed_in",
  request: { body: jsonBody(passwordBody) },
  responses: {
    200: jsonContent(
      z.strictObject({ ok: z.boolean(), revokedSessions: z.number().int().min(0) }),
      "Changed; how many other sessions were signed out",
    ),
  },
  errors: ["invalid_credentials", "rate_limited"],
});

authRoutes.openapi(changePassword, async (c) => {
  const auth = c.get("auth");
  const { currentPassword, newPassword } = c.req.valid("json");
  const config = c.get("config");
  await enforceRateLimit(c.env, "password", String(auth.user.id));
  const db = c.get("db")();
  const [user] = await db.select().from(users).where(eq(users.id, auth.user.id));
  const check = await verifyPassword(currentPassword, user!.passwordHash, config.PASSWORD_PBKDF2_ITERATIONS);
  if (!check.valid)
    throw new ApiError("invalid_credentials", "currentPassword is incorrect", { field: "currentPassword" }, 401);
  const passwordHash = await hashPassword(newPassword, config.PASSWORD_PBKDF2_ITERATIONS);
  await db.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, auth.user.id));
  const revokedSessions = await revokeOtherSessions(db, auth.user.id, sessionIdOf(c));
  return c.json({ ok: true, revokedSessions }, 200);
});

const me = apiRoute({
  method: "get",
  path: "/api/me",
  tag: "Auth",
  summary: "The signed-in user, the business it acts on, and its permissions",
  auth: "signed_in",
  responses: {
    200: jsonContent(
      z.strictObject({
        user: sessionUserModel,
        business: businessSummaryModel
          .nullable()
          .openapi({ description: "Null for a system admin until it chooses a business (act-as)" }),
        permissions: z.array(permissionName),
      }),
      "Who is signed in",
    ),
  },
});

authRoutes.openapi(me, async (c) => {
  const auth = c.get("auth");
  const db = c.get("db")();
  const business = auth.businessId
    ? ((await db.select().from(businesses).where(eq(businesses.id, auth.businessId)))[0] ?? null)
    : null;
  const granted = (Object.keys(permissions) as Permission[]).filter((p) => can(auth.user.role, p));
  return c.json(
    {
      user: auth.user,
      business: business && {
        id: business.id,
        name: business.name,
        timezone: business.timezone,
        locale: business.locale,
        phoneRegion: business.phoneRegion,
        whatsappShard: business.whatsappShard,
      },
      permissions: granted,
    },
    200,
  );
});

export function publicUser(user: typeof users.$inferSelect) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    businessId: user.businessId,
    isActive: user.isActive,
    createdAt: user.createdAt,
  };
}
