/**
 * Permission gating in the dashboard: the API's own role table (worker/auth/permissions.ts),
 * imported, not copied. Hiding an action is a courtesy; the API refuses it anyway.
 */
import { can, type Permission } from "../../../worker/auth/permissions";
import { useMe } from "../auth/hooks/useMe";

export type { Permission };

export function useCan(): (permission: Permission) => boolean {
  const me = useMe();
  return (permission) => (me ? can(me.user.role, permission) : false);
}
