/**
 * Authentication and tenancy for the dashboard API. `requireAuth` resolves the session cookie to
 * the user and the business the request acts on; `requirePermission` gates by role through
 * ./permissions.ts. Every tenant-scoped handler takes the business from `businessIdOf(c)` —
 * never from the body or the path.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import type { UserRole } from "../db/schema";
import { ApiError } from "../errors";
import { can, type Permission } from "./permissions";
import { findSession, readSessionToken } from "./session";

export interface AuthContext {
  sessionId: number;
  user: { id: number; email: string; name: string; role: UserRole; businessId: number | null };
  /** Own business; for a system admin, the business chosen with act-as (null until chosen). */
  businessId: number | null;
}

export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = readSessionToken(c);
  const session = token ? await findSession(c.get("db")(), token) : null;
  if (!session) throw new ApiError("unauthorized", "Sign in to continue");
  const { user } = session;
  c.set("auth", {
    sessionId: session.sessionId,
    user: { id: user.id, email: user.email, name: user.name, role: user.role, businessId: user.businessId },
    businessId: user.role === "system_admin" ? session.actingBusinessId : user.businessId,
  });
  await next();
});

export function requirePermission(permission: Permission) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const auth = c.get("auth");
    if (!can(auth.user.role, permission)) {
      throw new ApiError("forbidden", `Your role (${auth.user.role}) may not do this (${permission})`);
    }
    await next();
  });
}

/** The business this request acts on. A system admin must have chosen one first. */
export function businessIdOf(c: Context<AppEnv>): number {
  const { businessId, user } = c.get("auth");
  if (businessId === null) {
    throw new ApiError(
      "business_not_selected",
      user.role === "system_admin"
        ? "Choose a business first: POST /api/admin/act-as { businessId }"
        : "Your account belongs to no business",
      undefined,
      409,
    );
  }
  return businessId;
}
