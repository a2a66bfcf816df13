/**
 * Permission gating in one place: which role may do what. Routes name an action; nothing else
 * compares roles. system_admin may do everything, on the business it chose to act on.
 */
import type { UserRole } from "../db/schema";

const AGENT = ["agent", "admin", "owner", "system_admin"] as const;
const ADMIN = ["admin", "owner", "system_admin"] as const;
const OWNER = ["owner", "system_admin"] as const;
const SYSTEM = ["system_admin"] as const;

export const permissions = {
  "business.read": AGENT,
  "business.update": OWNER,
  "settings.read": ADMIN,
  "settings.update": OWNER,
  "feature_flags.read": AGENT,
  "feature_flags.update": SYSTEM,
  "users.read": ADMIN,
  /** Create/update/deactivate users; admins cannot touch owners (checked in the route by target role). */
  "users.manage": ADMIN,
  "lead_statuses.read": AGENT,
  "lead_statuses.manage": ADMIN,
  "leads.read": AGENT,
  "leads.write": AGENT,
  "leads.delete": ADMIN,
  "leads.bulk": ADMIN,
  "leads.import": ADMIN,
  "leads.export": ADMIN,
  "calls.read": AGENT,
  "calls.place": AGENT,
  "campaigns.read": AGENT,
  "campaigns.manage": ADMIN,
  "whatsapp.read": AGENT,
  "whatsapp.send": AGENT,
  "whatsapp.manage": ADMIN,
  /**
   * Move conversations between people: assign someone else, or take one someone else holds.
   * Taking an unassigned conversation for oneself, or giving one's own up, needs only whatsapp.send.
   */
  "whatsapp.assign": ADMIN,
  "broadcasts.read": AGENT,
  /** Create, pause, resume, cancel broadcasts (one template to many leads). */
  "broadcasts.manage": ADMIN,
  "scheduled_messages.read": AGENT,
  "scheduled_messages.write": AGENT,
  "appointments.read": AGENT,
  "appointments.write": AGENT,
  /** Aggregates across the business (messages, calls, campaigns, response times). */
  "reports.read": ADMIN,
  /** Create and revoke the business's API keys. */
  "api_keys.manage": ADMIN,
  /** Read the security audit log. */
  "audit.read": OWNER,
  "webhooks.read": ADMIN,
  /** Create, change, rotate, test, redeliver webhook subscriptions. */
  "webhooks.manage": ADMIN,
  "platform.manage": SYSTEM,
} as const satisfies Record<string, readonly UserRole[]>;

export type Permission = keyof typeof permissions;

export function can(role: UserRole, permission: Permission): boolean {
  return (permissions[permission] as readonly UserRole[]).includes(role);
}

/** Roles a user of `actor` role may create or manage. Owners manage everyone; admins not owners. */
export function canManageRole(actor: UserRole, target: UserRole): boolean {
  if (actor === "system_admin") return true;
  if (actor === "owner") return target !== "system_admin";
  if (actor === "admin") return target === "admin" || target === "agent";
  return false;
}

/**
 * API key scopes, and the permissions each grants: the one place a key's reach is decided. A key
 * passes `requirePermission(p)` when one of its scopes grants `p`. Nothing here grants
 * `platform.*`, user management, API key management or the audit log: a key never reaches
 * system-admin routes, never mints keys, and acts only on the business it belongs to.
 */
export const apiKeyScopes = {
  "leads:read": ["leads.read", "lead_statuses.read"],
  "leads:write": ["leads.read", "leads.write", "lead_statuses.read"],
  "messages:read": ["whatsapp.read"],
  "messages:send": ["whatsapp.read", "whatsapp.send"],
  /** Route conversations between the team (an integration's round-robin or CRM sync). */
  "conversations:assign": ["whatsapp.read", "whatsapp.send", "whatsapp.assign"],
  "calls:read": ["calls.read"],
  "calls:write": ["calls.read", "calls.place"],
  "campaigns:read": ["campaigns.read", "broadcasts.read"],
  "campaigns:write": ["campaigns.read", "campaigns.manage", "broadcasts.read", "broadcasts.manage"],
  "webhooks:manage": ["webhooks.read", "webhooks.manage"],
} as const satisfies Record<string, readonly Permission[]>;

export type ApiKeyScope = keyof typeof apiKeyScopes;
export const apiKeyScopeNames = Object.keys(apiKeyScopes) as [ApiKeyScope, ...ApiKeyScope[]];

export function scopeGrants(scopes: readonly string[], permission: Permission): boolean {
  return scopes.some(
    (scope) =>
      Object.hasOwn(apiKeyScopes, scope) &&
      (apiKeyScopes[scope as ApiKeyScope] as readonly Permission[]).includes(permission),
  );
}

/** The scopes that grant `permission` (for the OpenAPI document's security requirements). */
export function scopesGranting(permission: Permission): ApiKeyScope[] {
  return apiKeyScopeNames.filter((scope) => scopeGrants([scope], permission));
}

/** Whether a user of `role` may give a key `scope`: never more than the role itself may do. */
export function roleMayGrantScope(role: UserRole, scope: ApiKeyScope): boolean {
  return apiKeyScopes[scope].every((permission) => can(role, permission));
}
