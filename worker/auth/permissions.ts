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
  "broadcasts.read": AGENT,
  /** Create, pause, resume, cancel broadcasts (one template to many leads). */
  "broadcasts.manage": ADMIN,
  "scheduled_messages.read": AGENT,
  "scheduled_messages.write": AGENT,
  "appointments.read": AGENT,
  "appointments.write": AGENT,
  /** Aggregates across the business (messages, calls, campaigns, response times). */
  "reports.read": ADMIN,
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
