/**
 * Feature flags: defaults in code, platform-wide overrides (business_id null) and per-business
 * overrides. The effective value for a business: its override, else the platform's, else code's.
 */
import { and, eq, isNull, or } from "drizzle-orm";
import type { Database } from "../db/client";
import { featureFlags } from "../db/schema";

export const FLAG_DEFAULTS = {
  whatsapp_broadcasts: true,
  bulk_calls: true,
  call_recording: false,
  appointment_reminders: true,
} as const satisfies Record<string, boolean>;

export type FlagSource = "business" | "platform" | "default";

export async function effectiveFlags(
  db: Database,
  businessId: number,
): Promise<Record<string, { enabled: boolean; source: FlagSource }>> {
  const rows = await db
    .select()
    .from(featureFlags)
    .where(or(isNull(featureFlags.businessId), eq(featureFlags.businessId, businessId)));
  const result: Record<string, { enabled: boolean; source: FlagSource }> = {};
  for (const [key, enabled] of Object.entries(FLAG_DEFAULTS)) result[key] = { enabled, source: "default" };
  for (const row of rows.filter((r) => r.businessId === null))
    result[row.key] = { enabled: row.enabled, source: "platform" };
  for (const row of rows.filter((r) => r.businessId !== null))
    result[row.key] = { enabled: row.enabled, source: "business" };
  return result;
}

/** Sets (or with `enabled: null`, removes) an override; `businessId` null is the platform default. */
export async function setFlag(
  db: Database,
  key: string,
  businessId: number | null,
  enabled: boolean | null,
): Promise<void> {
  const scope = businessId === null ? isNull(featureFlags.businessId) : eq(featureFlags.businessId, businessId);
  await db.transaction(async (tx) => {
    await tx.delete(featureFlags).where(and(eq(featureFlags.key, key), scope));
    if (enabled !== null) await tx.insert(featureFlags).values({ key, businessId, enabled });
  });
}
