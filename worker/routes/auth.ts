/**
 * Sign-in, sign-out, password change, and `GET /api/me`.
 */
import { eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { admitSignIn, DEVICE_COOKIE, DEVICE_TRUST_DAYS, signInSucceeded } from "../auth/login-guard";
import { requireAuth } from "../auth/middleware";
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
import { businesses, users } from "../db/schema";
import { ApiError } from "../errors";
import { emailSchema, passwordSchema } from "../lib/schemas";
import { validate } from "../lib/validate";

export const authRoutes = new Hono<AppEnv>();

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

const loginBody = z.object({ email: emailSchema, password: z.string().min(1).max(200) }).strict();

authRoutes.post("/api/auth/login", validate("json", loginBody), async (c) => {
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
  return c.json({ user: publicUser(user), expiresAt: session.expiresAt.toISOString() });
});

authRoutes.post("/api/auth/logout", async (c) => {
  const token = readSessionToken(c);
  if (token) {
    const db = c.get("db")();
    const session = await findSession(db, token);
    if (session) await revokeSession(db, session.sessionId);
  }
  clearSessionCookie(c);
  return c.body(null, 204);
});

const passwordBody = z
  .object({ currentPassword: z.string().min(1).max(200), newPassword: passwordSchema })
  .strict()
  .refine((b) => b.currentPassword !== b.newPassword, {
    path: ["newPassword"],
    message: "must differ from the current password",
  });

authRoutes.post("/api/auth/password", requireAuth, validate("json", passwordBody), async (c) => {
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
  const revokedSessions = await revokeOtherSessions(db, auth.user.id, auth.sessionId);
  return c.json({ ok: true, revokedSessions });
});

authRoutes.get("/api/me", requireAuth, async (c) => {
  const auth = c.get("auth");
  const db = c.get("db")();
  const business = auth.businessId
    ? ((await db.select().from(businesses).where(eq(businesses.id, auth.businessId)))[0] ?? null)
    : null;
  const granted = (Object.keys(permissions) as Permission[]).filter((p) => can(auth.user.role, p));
  return c.json({
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
  });
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
