/** Creating a business: the business row, its settings, its default lead statuses and its owner. */
import type { Database } from "../db/client";
import { businesses, businessSettings, leadStatuses, users } from "../db/schema";

/** The statuses a new business starts with (it can rename, recolour, reorder and add to them). */
export const DEFAULT_LEAD_STATUSES = [
  { key: "new", label: "חדש", color: "#3b82f6", isDefault: true },
  { key: "contacted", label: "נוצר קשר", color: "#f59e0b", isDefault: false },
  { key: "qualified", label: "מתעניין", color: "#8b5cf6", isDefault: false },
  { key: "won", label: "נסגר", color: "#10b981", isDefault: false },
  { key: "lost", label: "לא רלוונטי", color: "#6b7280", isDefault: false },
] as const;

export interface NewBusiness {
  name: string;
  timezone?: string;
  locale?: string;
  phoneRegion?: string;
  twilioNumber?: string | null;
  owner?: { email: string; name: string; passwordHash: string };
}

export async function createBusiness(db: Database, input: NewBusiness) {
  return db.transaction(async (tx) => {
    const [business] = await tx
      .insert(businesses)
      .values({
        name: input.name,
        timezone: input.timezone,
        locale: input.locale,
        phoneRegion: input.phoneRegion,
        twilioNumber: input.twilioNumber ?? null,
      })
      .returning();
    const businessId = business!.id;
    await tx.insert(businessSettings).values({ businessId });
    await tx
      .insert(leadStatuses)
      .values(DEFAULT_LEAD_STATUSES.map((s, i) => ({ ...s, businessId, sortOrder: (i + 1) * 10 })));
    const owner = input.owner
      ? (
          await tx
            .insert(users)
            .values({
              businessId,
              email: input.owner.email,
              name: input.owner.name,
              role: "owner",
              passwordHash: input.owner.passwordHash,
            })
            .returning()
        )[0]!
      : null;
    return { business: business!, owner };
  });
}
