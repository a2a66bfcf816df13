/**
 * Authentication and tenancy for the dashboard API. `requireAuth` resolves the caller — the
 * session cookie, or an API key (`Authorization: Bearer psk_…`) on routes that take keys — to the
 * user and the business the request acts on; `requirePermission` gates by role, or for a key by
 * its scopes, through ./permissions.ts. Every tenant-scoped handler takes the business from
 * `businessIdOf(c)` — never from the body or the path.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import type { UserRole } from "../db/schema";
import { ApiError } from "../errors";
import { findApiKey, noteApiKeyUse } from "./api-keys";
import { can, type Permission, scopeGrants } from "./permissions";
import { enforceRateLimit } from "./rate-limits";
import { findSession, readSessionToken } from "./session";

export interface AuthContext {
  /** The session's id; null for an API key. */
  sessionId: number | null;
  /**
   * The acting user. For an API key: the user who created it (so `createdBy` columns name a
   * person), but its permissions come from the key's scopes alone (`allowed`), never this role.
   */
  user: { id: number; email: string; name: string; role: UserRole; businessId: number | null };
  /** Own business; for a system admin, the business chosen with act-as (null until chosen). */
  businessId: number | null;
  /** Set when the caller is an API key. */
  apiKey: { id: number; prefix: string; scopes: string[] } | null;
}

function bearerToken(c: Context<AppEnv>): string | undefined {
  const header = c.req.header("authorization");
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError("unauthorized", "Authorization must be `Bearer <API key>`");
  return match[1];
}

const keyRefusals = {
  unknown: "Unknown API key",
  revoked: "This API key was revoked",
  expired: "This API key has expired",
} as const;

async function authenticateApiKey(c: Context<AppEnv>, token: string): Promise<AuthContext> {
  const db = c.get("db")();
  const found = await findApiKey(db, token);
  if (!found.ok) throw new ApiError("unauthorized", keyRefusals[found.reason]);
  const { key } = found;
  // Each key has its own budget: a runaway integration slows itself, not the business's dashboard.
  await enforceRateLimit(c.env, "apiKey", String(key.id));
  await noteApiKeyUse(db, key, c.req.header("cf-connecting-ip") ?? null);
  return {
    sessionId: null,
    user: {
      id: key.createdByUserId ?? 0,
      email: key.createdBy?.email ?? "",
      name: key.createdBy?.name ?? `API key ${key.prefix}`,
      // Not used for permission checks (see `allowed`); the least role, so a stray role check fails closed.
      role: "agent",
      businessId: key.businessId,
    },
    businessId: key.businessId,
    apiKey: { id: key.id, prefix: key.prefix, scopes: key.scopes },
  };
}

/** Who may call: a session, or also an API key (routes gated by a permission). */
export function authenticate(opts: { apiKeys: boolean }) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const bearer = bearerToken(c);
    if (bearer !== undefined) {
      if (!opts.apiKeys) throw new ApiError("unauthorized", "This route takes a signed-in session, not an API key");
      c.set("auth", await authenticateApiKey(c, bearer));
      return next();
    }
    const token = readSessionToken(c);
    const session = token ? await findSession(c.get("db")(), token) : null;
    if (!session) throw new ApiError("unauthorized", "Sign in to continue");
    const { user } = session;
    c.set("auth", {
      sessionId: session.sessionId,
      user: { id: user.id, email: user.email, name: user.name, role: user.role, businessId: user.businessId },
      businessId: user.role === "system_admin" ? session.actingBusinessId : user.businessId,
      apiKey: null,
    });
    await next();
  });
}

/** Session only. */
export const requireAuth = authenticate({ apiKeys: false });

/** Whether the caller may do `permission`: a key by its scopes, a user by their role. */
export function allowed(auth: AuthContext, permission: Permission): boolean {
  if (auth.apiKey) return scopeGrants(auth.apiKey.scopes, permission);
  return can(auth.user.role, permission);
}

export function requirePermission(permission: Permission) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const auth = c.get("auth");
    if (!allowed(auth, permission)) {
      throw new ApiError(
        "forbidden",
        auth.apiKey
          ? `This API key has no scope that allows this (${permission})`
          : `Your role (${auth.user.role}) may not do this (${permission})`,
      );
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

/** The session of a session-only route (act-as, password change): API keys never reach those. */
export function sessionIdOf(c: Context<AppEnv>): number {
  const { sessionId } = c.get("auth");
  if (sessionId === null) throw new ApiError("unauthorized", "This route takes a signed-in session, not an API key");
  return sessionId;
}
