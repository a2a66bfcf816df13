/**
 * Dashboard sessions: an opaque random token in an HttpOnly, Secure, SameSite=Lax cookie; only its
 * SHA-256 is stored, so a database leak does not leak live sessions.
 */
import { and, eq, gt, isNull, ne } from "drizzle-orm";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Database } from "../db/client";
import { businesses, sessions, users } from "../db/schema";

export const SESSION_COOKIE = "prosaas_session";

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return base64url(new Uint8Array(digest));
}

export async function createSession(
  db: Database,
  opts: { userId: number; actingBusinessId: number | null; ttlHours: number; ip?: string; userAgent?: string },
): Promise<{ token: string; expiresAt: Date; sessionId: number }> {
  const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const expiresAt = new Date(Date.now() + opts.ttlHours * 3600_000);
  const [row] = await db
    .insert(sessions)
    .values({
      tokenHash: await hashToken(token),
      userId: opts.userId,
      actingBusinessId: opts.actingBusinessId,
      expiresAt,
      ip: opts.ip?.slice(0, 100),
      userAgent: opts.userAgent?.slice(0, 300),
    })
    .returning({ id: sessions.id });
  return { token, expiresAt, sessionId: row!.id };
}

export function setSessionCookie(c: Context, token: string, expiresAt: Date): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    secure: true,
    sameSite: "Lax",
    path: "/",
    expires: expiresAt,
  });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true });
}

export function readSessionToken(c: Context): string | undefined {
  return getCookie(c, SESSION_COOKIE);
}

export interface SessionRecord {
  sessionId: number;
  actingBusinessId: number | null;
  user: typeof users.$inferSelect;
  business: typeof businesses.$inferSelect | null;
}

/** The live session for a token: not expired, not revoked, its user active. */
export async function findSession(db: Database, token: string): Promise<SessionRecord | null> {
  const rows = await db
    .select({ session: sessions, user: users, business: businesses })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(businesses, eq(businesses.id, sessions.actingBusinessId))
    .where(
      and(
        eq(sessions.tokenHash, await hashToken(token)),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, new Date()),
      ),
    )
    .limit(1);
  const row = rows[0];
  if (!row?.user.isActive) return null;
  return {
    sessionId: row.session.id,
    actingBusinessId: row.session.actingBusinessId,
    user: row.user,
    business: row.business,
  };
}

export async function revokeSession(db: Database, sessionId: number): Promise<void> {
  await db
    .update(sessions)
    .set({ revokedAt: new Date() })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

/** Revokes every live session of a user except `keepSessionId` (after a password change). */
export async function revokeOtherSessions(db: Database, userId: number, keepSessionId: number | null): Promise<number> {
  const where = keepSessionId
    ? and(eq(sessions.userId, userId), isNull(sessions.revokedAt), ne(sessions.id, keepSessionId))
    : and(eq(sessions.userId, userId), isNull(sessions.revokedAt));
  const revoked = await db.update(sessions).set({ revokedAt: new Date() }).where(where).returning({ id: sessions.id });
  return revoked.length;
}
